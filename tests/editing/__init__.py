"""liveportrait_core.editing: expression sliders on stills and on source videos."""
