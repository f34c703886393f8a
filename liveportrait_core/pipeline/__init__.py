"""From inputs to rendered frames: the engine, sources, driving files, animation plans, still edits, compositing and streaming."""
