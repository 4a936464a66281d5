"""Per-hand state carried from frame to frame: identity, side, region, filters, hold and the last fit."""

from __future__ import annotations

from dataclasses import dataclass

from ..handmodel.camera_fit import CameraFit
from ..perception.types import Handedness, HandRegion
from ..tracking.filtering import HandTrackFilter, TrackFilterParams
from ..tracking.hold import TrackHold
from ..tracking.one_euro import OneEuroParams
from .config import ReconstructionConfig
from .types import ReconstructedHand

SIDE_MEMORY = 0.8  # weight of the past in the running handedness probability


def filter_params(cfg: ReconstructionConfig) -> TrackFilterParams:
    """The track filters' settings from the configuration."""
    def one_euro(beta: float) -> OneEuroParams:
        return OneEuroParams(min_cutoff=cfg.filter_min_cutoff_hz, beta=beta, d_cutoff=1.0)

    return TrackFilterParams(joints=one_euro(cfg.joint_filter_beta),
                             translation_xy=one_euro(cfg.translation_filter_beta_xy),
                             translation_z=one_euro(cfg.translation_filter_beta_z))


@dataclass
class Track:
    """One tracked hand. ``region`` is where to look in the next frame (None once the hand was lost and
    the track only holds its last result)."""

    track_id: int
    region: HandRegion | None
    p_right: float
    filter: HandTrackFilter
    hold: TrackHold[ReconstructedHand]
    palm_score: float | None = None
    fit: CameraFit | None = None  # the last confident camera-space fit (warm start of the next frame)
    last_hand: ReconstructedHand | None = None  # the last confident result

    @classmethod
    def start(cls, track_id: int, region: HandRegion, palm_score: float | None, p_right: float,
              cfg: ReconstructionConfig) -> Track:
        return cls(
            track_id=track_id,
            region=region,
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

    def observe_side(self, p_right: float) -> bool:
        """Blend this frame's handedness in; True when the track's side flipped (its fit must restart)."""
        before = self.side
        self.p_right = SIDE_MEMORY * self.p_right + (1.0 - SIDE_MEMORY) * p_right
        if self.side != before:
            self.fit = None
            return True
        return False

    def lose(self) -> None:
        """The hand was not seen: stop tracking its region, reset the filters (the hold keeps running)."""
        self.region = None
        self.fit = None
        self.filter.reset()
