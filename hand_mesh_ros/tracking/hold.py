"""Hold-on-doubt state machine: publish the last confident result for a bounded time instead of a jump.

States: ``IDLE`` (nothing yet / lost), ``TRACKING`` (this frame confident), ``HOLDING`` (this frame not
confident, the last confident result is younger than ``hold_s``). Time is the image stamp in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")


class TrackState(Enum):
    IDLE = "idle"
    TRACKING = "tracking"
    HOLDING = "holding"


@dataclass(frozen=True)
class HoldOutput(Generic[T]):
    """What to publish this frame: ``value`` is None when nothing should be published."""

    state: TrackState
    value: T | None
    age_s: float  # time since the published value was confident, seconds (0 when tracking)


class TrackHold(Generic[T]):
    """Keeps the last confident result of one track. ``hold_s``: how long to hold, seconds."""

    def __init__(self, hold_s: float = 0.3, threshold: float = 0.5) -> None:
        if not hold_s >= 0:
            raise ValueError(f"hold_s must be >= 0 seconds, got {hold_s}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        self.hold_s = float(hold_s)
        self.threshold = float(threshold)
        self._last: T | None = None
        self._last_stamp: float | None = None
        self.state = TrackState.IDLE

    def update(self, stamp_s: float, value: T | None, confidence: float) -> HoldOutput[T]:
        """Feed one frame (``value`` None = hand not seen). Returns what to publish."""
        if value is not None and confidence >= self.threshold:
            self._last, self._last_stamp = value, float(stamp_s)
            self.state = TrackState.TRACKING
            return HoldOutput(self.state, value, 0.0)
        if self._last is not None and self._last_stamp is not None:
            age = float(stamp_s) - self._last_stamp
            if 0.0 <= age <= self.hold_s:
                self.state = TrackState.HOLDING
                return HoldOutput(self.state, self._last, age)
        self.reset()
        return HoldOutput(self.state, None, 0.0)

    def reset(self) -> None:
        self._last = None
        self._last_stamp = None
        self.state = TrackState.IDLE
