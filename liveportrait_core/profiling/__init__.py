"""Measuring where the time of a run goes: wall seconds per named stage (:class:`StageTimer`)."""
from .stage_timer import ONE_TIME, StageTimer

__all__ = ["ONE_TIME", "StageTimer"]
