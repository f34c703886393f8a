"""liveportrait_core.acceleration: the faster drop-ins and the accelerate pass against the plain networks."""
