"""Frames to feed the nodes: a video file, a folder of images, or a list of arrays. No ROS here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def read_frames(source: str | Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """RGB uint8 frames of a video file or of the images in a folder (sorted by name)."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")
        for i, f in enumerate(files):
            if limit is not None and i >= limit:
                return
            bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"cannot read image {f}")
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return
    if not path.is_file():
        raise FileNotFoundError(f"no video or image folder at {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"OpenCV cannot open the video {path}")
    try:
        count = 0
        while limit is None or count < limit:
            ok, bgr = cap.read()
            if not ok:
                break
            count += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def video_fps(path: str | Path, default: float = 30.0) -> float:
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) if cap.isOpened() else 0.0
    cap.release()
    return fps if fps > 0 else default
