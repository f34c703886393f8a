"""The ComfyUI nodes: thin glue over :mod:`liveportrait_core`; ComfyUI loads them through the repository's ``__init__.py``."""
