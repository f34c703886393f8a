"""liveportrait_core.weights: checkpoint reading, strict loading, conversion, discovery and download."""
