"""Produce reference outputs of the official MediaPipe Hands runtime (mediapipe==0.10.21) for our tests.

The official runtime lives in a throwaway virtual environment (default /tmp/mp-ref-venv) that this script
creates on demand; it is never a dependency of hand_mesh_ros. Usage::

    python tools/make_official_reference.py   # writes test/fixtures/mediapipe_gesture_reference.json
    python tools/make_official_reference.py --venv DIR --out FILE

The same file, run by the venv's python, is the worker (``--worker reference|serve|scenes``); ``serve``
mode is used by benchmarks/bench_vs_mediapipe.py to time the official runtime frame by frame, taking turns
with ours, ``scenes`` mode by benchmarks/bench_range.py (each image of an .npz a static scene of up to
``--repeats`` frames).

Handedness in the JSON is MediaPipe's raw label, which assumes a mirrored (selfie) image.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import venv
from pathlib import Path

from hand_mesh_ros.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
DATA = data_dir()
DEFAULT_VENV = Path("/tmp/mp-ref-venv")
DEFAULT_OUT = REPO / "test" / "fixtures" / "mediapipe_gesture_reference.json"
PINS = ["mediapipe==0.10.21", "numpy<2"]


def venv_python(venv_dir: Path) -> Path:
    """Python executable of the throwaway venv."""
    return venv_dir / "bin" / "python"


def ensure_venv(venv_dir: Path) -> Path:
    """Create the throwaway venv with mediapipe==0.10.21 if it does not exist yet; return its python."""
    py = venv_python(venv_dir)
    ok = (
        py.exists()
        and subprocess.run([str(py), "-c", "import mediapipe"], capture_output=True).returncode == 0
    )
    if not ok:
        print(f"creating {venv_dir} with {' '.join(PINS)} (a few minutes)", file=sys.stderr, flush=True)
        venv.create(venv_dir, with_pip=True, clear=py.exists())
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PINS], check=True)
    return py


def _hands_to_json(result: object, width: int, height: int) -> list[dict]:
    hands = []
    for lms, world, handed in zip(
        result.multi_hand_landmarks or [],
        result.multi_hand_world_landmarks or [],
        result.multi_handedness or [],
        strict=False,
    ):
        cls = handed.classification[0]
        hands.append(
            {
                "label": cls.label,
                "score": round(cls.score, 6),
                "landmarks_px": [
                    [round(p.x * width, 4), round(p.y * height, 4), round(p.z * width, 4)]
                    for p in lms.landmark
                ],
                "world_landmarks_m": [[round(p.x, 7), round(p.y, 7), round(p.z, 7)] for p in world.landmark],
            }
        )
    return hands


def worker_reference(images: list[Path], out: Path) -> None:
    """(venv side) Static-image outputs for each image, keyed by basename."""
    import cv2
    import mediapipe as mp

    entries: dict[str, dict] = {}
    entries_lite: dict[str, dict] = {}
    for complexity, table in ((1, entries), (0, entries_lite)):
        with mp.solutions.hands.Hands(
            static_image_mode=True, model_complexity=complexity, max_num_hands=2, min_detection_confidence=0.5
        ) as hands:
            for k, path in enumerate(images, 1):
                rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
                h, w = rgb.shape[:2]
                table[path.name] = {
                    "width": w,
                    "height": h,
                    "hands": _hands_to_json(hands.process(rgb), w, h),
                }
                print(
                    f"[complexity {complexity}] [{k}/{len(images)}] {path.name}: "
                    f"{len(table[path.name]['hands'])} hand(s)",
                    file=sys.stderr,
                )
    video = DATA / "mediapipe_reference" / "asl_hand.25fps.mp4"
    labels: list[list[str]] = []
    if video.exists():
        cap = cv2.VideoCapture(str(video))
        with mp.solutions.hands.Hands(static_image_mode=False, model_complexity=1, max_num_hands=2) as hands:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                res = hands.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                labels.append([c.classification[0].label for c in res.multi_handedness or []])
        print(f"{video.name}: {len(labels)} frames in video mode", file=sys.stderr)
    doc = {
        "generator": "tools/make_official_reference.py",
        "runtime": f"mediapipe=={mp.__version__} solutions.hands, static_image_mode=True, "
        "model_complexity=1, max_num_hands=2, min_detection_confidence=0.5; images_lite: model_complexity=0",
        "handedness_convention": "raw MediaPipe label (the model assumes a mirrored, selfie-style image)",
        "units": "landmarks_px: x, y pixels and z = MediaPipe normalised z times image width; world: metres",
        "images": entries,
        "images_lite": entries_lite,
        "asl_video_mode_labels": labels,
    }
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")


def worker_serve(inputs_npz: Path) -> None:
    """(venv side) Serve the benchmark that times the official runtime frame by frame beside ours.

    Reads one JSON command per line on stdin and answers one JSON line on stdout:
    ``{"op": "open", "static": bool, "max_hands": int, "cores": [int]}`` pins this process to ``cores`` and
    starts a new runtime (``model_complexity=1``); ``{"op": "process", "key": name}`` runs it on the .npz's
    image ``name`` (HxWx3 uint8 RGB) and answers the milliseconds ``hands.process`` took and the hands found;
    ``{"op": "quit"}`` ends. "open" answers the runtime's version and this process's thread count.
    """
    import os

    import mediapipe as mp
    import numpy as np

    images = dict(np.load(inputs_npz))
    hands = None
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        if cmd["op"] == "open":
            if hands is not None:
                hands.close()
            os.sched_setaffinity(0, cmd["cores"])
            hands = mp.solutions.hands.Hands(static_image_mode=cmd["static"], max_num_hands=cmd["max_hands"],
                                             model_complexity=1)
            reply = {"version": mp.__version__, "threads": len(os.listdir("/proc/self/task"))}
        else:
            assert hands is not None, "open a runtime first"
            image = images[cmd["key"]]
            t0 = time.perf_counter()
            res = hands.process(image)
            ms = (time.perf_counter() - t0) * 1e3
            reply = {"ms": ms, "hands": len(res.multi_hand_landmarks or []),
                     "threads": len(os.listdir("/proc/self/task"))}
        print(json.dumps(reply), flush=True)
    if hands is not None:
        hands.close()


def worker_scenes(scenes_npz: Path, out: Path, frames_per_scene: int) -> None:
    """(venv side) Each image of an .npz (``scene_<i>``, HxWx3 uint8 RGB) as a static scene: a new video-mode
    runtime fed the image ``frames_per_scene`` times, stopping after the first frame with a hand. Writes per
    scene the hands of that frame (or of the last), the frame index and the latencies."""
    import mediapipe as mp
    import numpy as np

    scenes = np.load(scenes_npz)
    names = sorted(scenes.files, key=lambda n: int(n.split("_")[1]))
    results = []
    for k, name in enumerate(names):
        frame = scenes[name]
        h, w = frame.shape[:2]
        latencies: list[float] = []
        hands: list[dict] = []
        found_at = -1
        with mp.solutions.hands.Hands(static_image_mode=False, model_complexity=1, max_num_hands=2) as runtime:
            for i in range(frames_per_scene):
                t0 = time.perf_counter()
                res = runtime.process(frame)
                latencies.append(time.perf_counter() - t0)
                hands = _hands_to_json(res, w, h)
                if hands:
                    found_at = i
                    break
        results.append({"hands": hands, "found_at": found_at, "latencies_s": latencies})
        if (k + 1) % 25 == 0:
            print(f"official runtime: {k + 1} of {len(names)} scenes processed", file=sys.stderr, flush=True)
    out.write_text(json.dumps({"scenes": results}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--worker", choices=["reference", "serve", "scenes"], help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("images", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "reference":
        worker_reference(args.images, args.out)
        return 0
    if args.worker == "serve":
        worker_serve(args.frames)
        return 0
    if args.worker == "scenes":
        worker_scenes(args.frames, args.out, args.repeats)
        return 0
    images = [*sorted((DATA / "gesture_photos").glob("*.jpg")), DATA / "mediapipe_reference" / "hands.jpg"]
    missing = [p for p in images if not p.exists()]
    if not images or missing:
        print(f"reference images missing under {DATA}", file=sys.stderr)
        return 1
    py = ensure_venv(args.venv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(py),
        str(Path(__file__).resolve()),
        "--worker",
        "reference",
        "--out",
        str(args.out),
        *map(str, images),
    ]
    subprocess.run(cmd, check=True)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
