"""From inputs to rendered frames: the engine, sources, driving files, animation plans, compositing and streaming."""
