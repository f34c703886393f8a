"""Checkpoints of the five networks: reading and strict loading, and the folders and hub downloads they come from."""
