"""Stand-ins for the two networks, for tests of what happens after them (not fixtures of real behaviour)."""

from __future__ import annotations

import numpy as np

from hand_mesh_ros.perception.landmark_model import RegionLandmarks
from hand_mesh_ros.perception.types import HandRegion, PalmDetection


def palm_at(cx: float, cy: float, size: float = 60.0, score: float = 0.9) -> PalmDetection:
    """An upright palm centred at (cx, cy) px."""
    half = size / 2
    keypoints = np.array([(cx, cy + half), (cx - half / 2, cy - half / 2), (cx, cy - half),
                          (cx + half / 2, cy - half / 2), (cx + half, cy - half / 3), (cx - half, cy + half / 3),
                          (cx - half, cy)], dtype=np.float64)
    return PalmDetection(score, np.array([cx - half, cy - half, cx + half, cy + half]), keypoints)


class FixedPalms:
    """A palm detector that always finds ``palms``."""

    def __init__(self, *palms: PalmDetection) -> None:
        self.palms = list(palms)

    def detect(self, image: np.ndarray, min_score: float = 0.5, region: HandRegion | None = None
               ) -> list[PalmDetection]:
        return list(self.palms)


class CollapsedLandmarks:
    """A landmark network that sees a hand (presence 1) whose 21 keypoints all lie on the region's centre:
    a hand with no size and no shape, which cannot be placed in space."""

    def process_regions(self, image: np.ndarray, regions: list[HandRegion]) -> list[RegionLandmarks]:
        return [RegionLandmarks(np.tile([r.cx, r.cy, 0.0], (21, 1)), np.zeros((21, 3)), 1.0, 0.9) for r in regions]
