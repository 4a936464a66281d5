"""Reader for folders in the ``handgraph_dev`` layout: ``annotations.json`` + ``images/``.

Each sample gives the crop's own intrinsics (``K_crop``, pixels of the 256x256 crop, no distortion), 21 joints
in the camera optical frame (file: millimetres; here: metres) and their projections in the crop (pixels).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.geometry.camera import CameraModel


@dataclass(frozen=True, eq=False)
class HandgraphSample:
    index: int
    image_path: Path
    camera: CameraModel
    joints_cam_m: np.ndarray  # (21, 3) metres, camera optical frame
    joints_2d_px: np.ndarray  # (21, 2) pixels of the crop

    def load_rgb(self) -> np.ndarray:
        """The crop as an RGB uint8 array (H, W, 3)."""
        bgr = cv2.imread(str(self.image_path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"cannot read image {self.image_path}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_handgraph(root: Path | str, limit: int | None = None) -> list[HandgraphSample]:
    """Read ``root/annotations.json``; raises FileNotFoundError / ValueError on a missing or malformed set."""
    root = Path(root)
    ann_path = root / "annotations.json"
    if not ann_path.is_file():
        raise FileNotFoundError(f"no annotations.json in {root}")
    data = json.loads(ann_path.read_text())
    if "samples" not in data:
        raise ValueError(f"{ann_path} has no 'samples' list")
    out: list[HandgraphSample] = []
    for s in data["samples"][:limit]:
        try:
            joints = np.asarray(s["joints_cam_mm"], dtype=np.float64) / 1000.0
            kp = np.asarray(s["joints_2d_crop_px"], dtype=np.float64)
            cam = CameraModel(int(s["width"]), int(s["height"]), np.asarray(s["K_crop"], dtype=np.float64))
        except KeyError as exc:
            raise ValueError(f"sample {s.get('index', '?')} in {ann_path} lacks field {exc}") from exc
        if joints.shape != (21, 3) or kp.shape != (21, 2):
            raise ValueError(f"sample {s.get('index')} has joints {joints.shape} / 2D {kp.shape}, "
                             "expected 21x3 / 21x2")
        out.append(HandgraphSample(int(s["index"]), root / s["file_name"], cam, joints, kp))
    return out
