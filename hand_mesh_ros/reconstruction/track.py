"""Per-hand reconstruction state carried from frame to frame: side, filters, hold and the last fit.

The hand's region and track id come from :class:`hand_mesh_ros.perception.tracker.HandTracker`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..handmodel.camera_fit import CameraFit
from ..handmodel.fit import FitResult
from ..perception.types import Handedness
from ..tracking.filtering import HandTrackFilter, TrackFilterParams
from ..tracking.hold import HoldOutput, TrackHold, TrackState
from .config import ReconstructionConfig
from .types import ReconstructedHand

SIDE_MEMORY = 0.8  # weight of the past in the running handedness probability


def filter_params(cfg: ReconstructionConfig) -> TrackFilterParams:
    """The track filter's settings from the configuration."""
    return TrackFilterParams(position_noise_px=cfg.filter_position_noise_px,
                             depth_noise_ratio=cfg.filter_depth_noise_ratio,
                             joint_noise_m=cfg.filter_joint_noise_m)


@dataclass
class Track:
    """One reconstructed hand over time, keyed by the tracker's track id. ``seen``: the tracker still tracks
    its hand (False once it lost it and this track only holds its last result)."""

    track_id: int
    p_right: float
    filter: HandTrackFilter
    hold: TrackHold[ReconstructedHand]
    palm_score: float | None = None  # the score of the palm that started (or re-attached) the track
    seen: bool = True
    fit: CameraFit | None = None  # the last confident camera-space fit (warm start of the next frame)
    last_hand: ReconstructedHand | None = None  # the last confident result
    pose: FitResult | None = None  # the hand model's pose last published (starts the refit of a prediction)
    scale: float = 1.0  # the hand's size relative to the hand model, from the last confident fit

    @classmethod
    def start(cls, track_id: int, palm_score: float | None, p_right: float, cfg: ReconstructionConfig) -> Track:
        return cls(
            track_id=track_id,
            p_right=p_right,
            filter=HandTrackFilter(filter_params(cfg)),
            hold=TrackHold(cfg.hold_time_s, cfg.confidence_threshold),
            palm_score=palm_score,
        )

    @property
    def side(self) -> Handedness:
        return "right" if self.p_right >= 0.5 else "left"

    @property
    def side_score(self) -> float:
        return self.p_right if self.p_right >= 0.5 else 1.0 - self.p_right

    def observe_side(self, p_right: float) -> None:
        """Blend this frame's handedness in; when the track's side flips, its fit restarts."""
        before = self.side
        self.p_right = SIDE_MEMORY * self.p_right + (1.0 - SIDE_MEMORY) * p_right
        if self.side != before:
            self.fit = None
            self.pose = None

    def publish(self, stamp_s: float, hand: ReconstructedHand | None, confidence: float
                ) -> HoldOutput[ReconstructedHand]:
        """This frame's confident ``hand`` (or None) through the hold; once the hold gives up, the filters
        restart so that a re-acquired hand does not slide from a stale position."""
        out = self.hold.update(stamp_s, hand, confidence)
        if hand is not None and out.state is TrackState.TRACKING:
            self.last_hand = hand
        if out.state is TrackState.IDLE:
            self.filter.reset()
        return out

    def lose(self) -> None:
        """The hand was not seen: stop expecting it. The hold keeps running and the filter keeps its motion,
        so that the held hand is predicted through the gap and a hand found again continues smoothly."""
        self.seen = False
        self.fit = None
