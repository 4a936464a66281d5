"""Record our float32 landmarks on the real photos and video as the baseline speed work is held to.

Writes ``test/fixtures/landmark_baseline.json``: for each of the gesture photos (``../shared/data/gesture_photos``)
the hands ``HandReconstructor.process_image`` finds, and for every frame of the ASL video the hands
``process_frame`` tracks (default settings), each as 21 image keypoints (x, y px). ``test_speed_accuracy.py``
checks today's code against it: the 95th percentile of the keypoint distance must stay within 0.1 px. Run it
only to move the baseline on purpose (e.g. a new landmark model), never to make a speed change pass. Usage::

    python tools/record_landmark_baseline.py [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.paths import data_dir
from hand_mesh_ros.reconstruction.config import ReconstructionConfig
from hand_mesh_ros.reconstruction.reconstructor import HandReconstructor

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "test" / "fixtures" / "landmark_baseline.json"


def photo_camera(width: int, height: int) -> CameraModel:
    """The camera assumed for the photos and the video (unknown intrinsics): focal length = the long side."""
    return CameraModel.pinhole(width, height, float(max(width, height)))


def keypoints(result: object) -> list[list[list[float]]]:
    """The landmark keypoints of the hands found in this image (held hands repeat an earlier frame's)."""
    return [np.round(h.keypoints_px, 4).tolist() for h in result.hands if not h.held]  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    rec = HandReconstructor(ReconstructionConfig(backend="onnxruntime"), allow_convert=True)
    photos = {}
    paths = sorted(data_dir("gesture_photos").glob("*.jpg"))
    for k, path in enumerate(paths, 1):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        photos[path.name] = keypoints(rec.process_image(rgb, photo_camera(rgb.shape[1], rgb.shape[0])))
        print(f"\rphotos {k}/{len(paths)}", end="", file=sys.stderr, flush=True)
    video = []
    cap = cv2.VideoCapture(str(data_dir("mediapipe_reference/asl_hand.25fps.mp4")))
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        video.append(keypoints(rec.process_frame(rgb, photo_camera(rgb.shape[1], rgb.shape[0]), len(video) / 25)))
        print(f"\rvideo frames {len(video)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    out = {"generator": "tools/record_landmark_baseline.py", "commit": commit,
           "runtime": "ONNX Runtime (CPU, float32), full models, default settings",
           "units": "keypoints_px: x, y image pixels per hand (21 each)",
           "photos": photos, "asl_video_frames": video}
    args.out.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({len(photos)} photos, {len(video)} video frames)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
