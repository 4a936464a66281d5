"""PalmDetection / HandRegion <-> hand_mesh_ros/HandDetection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..perception.regions import region_from_palm
from ..perception.types import HandRegion, PalmDetection


def palms_to_msg(header: Any, palms: Sequence[PalmDetection] | None) -> Any:
    """A HandDetectionArray for one image: ``palms`` None means the detector did not run on it."""
    from hand_mesh_ros.msg import HandDetection, HandDetectionArray

    out = HandDetectionArray(header=header, detector_ran=palms is not None)
    for i, palm in enumerate(palms or []):
        det = HandDetection(id=i, source=HandDetection.SOURCE_PALM_DETECTOR, score=float(palm.score))
        x0, y0, x1, y1 = (float(v) for v in palm.box)
        det.box_x, det.box_y, det.box_width, det.box_height = x0, y0, x1 - x0, y1 - y0
        _set_region(det, region_from_palm(palm.box, palm.keypoints))
        det.palm_keypoints = np.asarray(palm.keypoints, dtype=np.float32).reshape(14)
        out.detections.append(det)
    return out


def regions_to_msg(header: Any, regions: Sequence[HandRegion]) -> Any:
    """The regions the reconstruction node tracks into the next frame (source = TRACKING)."""
    from hand_mesh_ros.msg import HandDetection, HandDetectionArray

    out = HandDetectionArray(header=header, detector_ran=False)
    for i, region in enumerate(regions):
        det = HandDetection(id=i, source=HandDetection.SOURCE_TRACKING, score=1.0)
        _set_region(det, region)
        out.detections.append(det)
    return out


def msg_to_palms(msg: Any) -> list[PalmDetection] | None:
    """Palms of a HandDetectionArray; None when the detector skipped that image."""
    if not msg.detector_ran:
        return None
    palms = []
    for det in msg.detections:
        box = np.array([det.box_x, det.box_y, det.box_x + det.box_width, det.box_y + det.box_height])
        kps = np.asarray(det.palm_keypoints, dtype=np.float64).reshape(7, 2)
        if np.all(np.isfinite(box)) and np.all(np.isfinite(kps)):
            palms.append(PalmDetection(float(det.score), box, kps))
    return palms


def _set_region(det: Any, region: HandRegion) -> None:
    det.region_center_x, det.region_center_y = float(region.cx), float(region.cy)
    det.region_width, det.region_height = float(region.w), float(region.h)
    det.region_angle = float(region.angle)
