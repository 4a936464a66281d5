"""Compare what the reconstruction found in a synthetic frame with the frame's ground truth.

Found hands are matched to true hands by the pixel distance of their wrists (greedy, nearest first, within
``max_wrist_px``); held hands (a track repeating its last confident result) do not count as found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .types import HandTruth

if TYPE_CHECKING:
    from ..reconstruction.types import ReconstructedHand


@dataclass(frozen=True)
class HandMatch:
    """One true hand and what was found for it (None fields when it was missed).

    px_error: mean landmark distance (px) of ``joints_px`` to the truth projections, 21 keypoints;
    mm_error: mean 3D distance (mm) of ``joints`` to the truth, camera frame (MPJPE);
    mm_error_aligned: the same after removing the wrist offset (root-relative, mm);
    handedness_ok: whether the reported handedness equals the true side.
    """

    side: str
    found: bool
    px_error: float | None = None
    mm_error: float | None = None
    mm_error_aligned: float | None = None
    handedness_ok: bool | None = None


def match_hands(
    truth: Sequence[HandTruth], found: Sequence[ReconstructedHand], max_wrist_px: float = 60.0
) -> list[HandMatch]:
    """One :class:`HandMatch` per true hand, in the order of ``truth``."""
    if max_wrist_px <= 0:
        raise ValueError(f"max_wrist_px must be positive, got {max_wrist_px}")
    live = [h for h in found if not h.held]
    pairs = sorted(
        (float(np.linalg.norm(h.joints_px[0] - t.joints_px[0])), ti, hi)
        for ti, t in enumerate(truth)
        for hi, h in enumerate(live)
    )
    used_t: set[int] = set()
    used_h: set[int] = set()
    assigned: dict[int, ReconstructedHand] = {}
    for dist, ti, hi in pairs:
        if dist > max_wrist_px or ti in used_t or hi in used_h:
            continue
        used_t.add(ti)
        used_h.add(hi)
        assigned[ti] = live[hi]
    out = []
    for ti, t in enumerate(truth):
        h = assigned.get(ti)
        if h is None:
            out.append(HandMatch(t.side, False))
            continue
        px = float(np.linalg.norm(h.joints_px - t.joints_px, axis=1).mean())
        mm = float(np.linalg.norm(h.joints - t.joints, axis=1).mean() * 1e3)
        rel = (h.joints - h.joints[0]) - (t.joints - t.joints[0])
        out.append(HandMatch(t.side, True, px, mm, float(np.linalg.norm(rel, axis=1).mean() * 1e3),
                             h.handedness == t.side))
    return out
