"""One hand track: hold-on-doubt + temporal filtering wired together.

Confident frames are filtered and published; unconfident or missing frames republish the last filtered
state for up to ``hold_s`` seconds (no jump to a false positive); after that the filter is reset, so a
re-acquired hand starts fresh instead of sliding from a stale position.
"""

from __future__ import annotations

from hand_mesh_ros.tracking.filtering import HandState, HandTrackFilter, TrackFilterParams
from hand_mesh_ros.tracking.hold import HoldOutput, TrackHold, TrackState


class HandTrack:
    """Per-track state. ``update(stamp_s, state or None, confidence)`` -> what to publish this frame."""

    def __init__(self, hold_s: float = 0.3, threshold: float = 0.5,
                 filter_params: TrackFilterParams | None = None) -> None:
        self.hold: TrackHold[HandState] = TrackHold(hold_s, threshold)
        self.filter = HandTrackFilter(filter_params)

    @property
    def state(self) -> TrackState:
        return self.hold.state

    def update(self, stamp_s: float, state: HandState | None, confidence: float) -> HoldOutput[HandState]:
        confident = state is not None and confidence >= self.hold.threshold
        filtered = self.filter(stamp_s, state) if confident and state is not None else None
        out = self.hold.update(stamp_s, filtered, confidence if filtered is not None else 0.0)
        if out.state is TrackState.IDLE:
            self.filter.reset()
        return out

    def reset(self) -> None:
        self.hold.reset()
        self.filter.reset()
