"""Typed values passed between the perception stages.

Pixel coordinates are in the input image (x right, y down, origin at the centre of the top-left pixel, as in
OpenCV). World landmarks are metres in MediaPipe's hand-centred frame, axes aligned with the image axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Handedness = Literal["left", "right"]


@dataclass(frozen=True)
class PalmDetection:
    """A palm found by the detector.

    score: probability in [0, 1]; box: (xmin, ymin, xmax, ymax) px; keypoints: (7, 2) px, in MediaPipe order
    (0 wrist centre, 1 index MCP, 2 middle MCP, 3 ring MCP, 4 pinky MCP, 5 thumb CMC, 6 thumb MCP).
    """

    score: float
    box: np.ndarray
    keypoints: np.ndarray


@dataclass(frozen=True)
class HandRegion:
    """A rotated square region around a hand: centre (cx, cy) px, size (w, h) px, rotation ``angle`` rad.

    ``angle`` follows MediaPipe's NormalizedRect.rotation: 0 when the hand points up (wrist below fingers),
    positive when the region is turned clockwise on screen (image axes, y down).
    """

    cx: float
    cy: float
    w: float
    h: float
    angle: float


@dataclass(frozen=True)
class HandObservation:
    """One hand in one image.

    landmarks_px: (21, 3) float64, [x px, y px, z] with z MediaPipe's relative depth scaled to pixels (same
    scale as x; smaller = closer to the camera, origin at the wrist depth).
    world_landmarks_m: (21, 3) float64 metres, origin near the hand centre, axes as the image
    (x right, y down, z away from the camera).
    presence: landmark model hand-presence probability; handedness: the true side for a normal (non-mirrored)
    camera image, with ``handedness_score`` its probability; palm: the fresh palm detection this region came
    from, or None when the region was tracked from the previous frame's landmarks; region: where the landmark
    network looked for the hand; track_id: the hand's id while it is tracked (None for a single image).
    """

    region: HandRegion
    landmarks_px: np.ndarray
    world_landmarks_m: np.ndarray
    presence: float
    handedness: Handedness
    handedness_score: float
    palm: PalmDetection | None
    track_id: int | None = None

    @property
    def p_right(self) -> float:
        """Probability that this is a right hand."""
        return self.handedness_score if self.handedness == "right" else 1.0 - self.handedness_score
