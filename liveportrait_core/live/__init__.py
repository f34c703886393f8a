"""Live use: a portrait prepared once and driven by a webcam or a stream, one frame in, one frame out.

``session.py`` animates one driving frame at a time (:class:`LiveSession`), ``tracking.py`` follows the driving face,
``player.py`` feeds a session from a camera or a clip in real time, dropping frames rather than falling behind.
"""
from .session import LiveFrame, LiveOptions, LiveSession, PreparedSource, prepare_source

__all__ = ["LiveFrame", "LiveOptions", "LiveSession", "PreparedSource", "prepare_source"]
