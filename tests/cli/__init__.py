"""liveportrait_core.cli: the animate, crop and edit commands run as a user runs them."""
