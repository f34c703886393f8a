"""liveportrait_core.networks: the five official architectures against the recorded module outputs."""
