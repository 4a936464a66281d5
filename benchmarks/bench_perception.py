"""Latency of our palm + landmark pipeline against the official MediaPipe runtime on the same frames.

Frames: the ASL video of ../shared/data/mediapipe_reference, letterboxed to 640x480. For each mode
(tracking = video, static = palm detector every frame) it prints the median and p95 per-frame latency of
``HandPerception.process`` and, if the throwaway venv from tools/make_official_reference.py exists, of
``mediapipe.solutions.hands`` (0.10.21, model_complexity=1, max_num_hands=2) run in a subprocess on the same
frames. Usage::

    python benchmarks/bench_perception.py [--frames N] [--variants full,lite] [--backends onnxruntime,torch]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
VIDEO = data_dir("mediapipe_reference/asl_hand.25fps.mp4")
TOOL = REPO / "tools" / "make_official_reference.py"
WARMUP = 5


def letterbox(frame: np.ndarray, width: int = 640, height: int = 480) -> np.ndarray:
    """Resize to fit inside width x height (keeping the aspect ratio) and pad with black."""
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = round(w * scale), round(h * scale)
    out = np.zeros((height, width, 3), np.uint8)
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA)
    return out


def load_frames(limit: int) -> np.ndarray:
    """Decode up to ``limit`` RGB frames of the ASL video, letterboxed to 640x480."""
    cap = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < limit:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(letterbox(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    return np.stack(frames)


def stats(latencies_s: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds, without the warm-up frames."""
    ms = np.asarray(latencies_s[WARMUP:]) * 1000
    return float(np.median(ms)), float(np.percentile(ms, 95))


def time_ours(
    frames: np.ndarray, static: bool, variant: str, backend: str, threads: int | None
) -> tuple[list[float], int]:
    """Per-frame latencies and the number of frames with a hand."""
    from hand_mesh_ros.perception.pipeline import HandPerception

    perception = HandPerception(variant=variant, backend=backend, threads=threads)
    latencies, found = [], 0
    for frame in frames:
        t0 = time.perf_counter()
        hands = perception.process(frame, static=static)
        latencies.append(time.perf_counter() - t0)
        found += bool(hands)
    return latencies, found


def time_official(frames: np.ndarray, static: bool, venv: Path) -> tuple[list[float], int] | None:
    """Latencies of the official runtime, run by the throwaway venv's python; None if it is missing."""
    py = venv / "bin" / "python"
    if not py.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        npy, out = Path(tmp) / "frames.npy", Path(tmp) / "out.json"
        np.save(npy, frames)
        cmd = [str(py), str(TOOL), "--worker", "frames", "--frames", str(npy), "--out", str(out)]
        if static:
            cmd.append("--static")
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        doc = json.loads(out.read_text())
    return doc["latencies_s"], sum(1 for f in doc["frames"] if f)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=325)
    parser.add_argument("--passes", type=int, default=2, help="interleaved passes; the best one is reported")
    parser.add_argument("--variants", default="full,lite")
    parser.add_argument("--backends", default="onnxruntime")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    parser.add_argument("--mp-venv", type=Path, default=Path("/tmp/mp-ref-venv"))
    args = parser.parse_args()
    if not VIDEO.exists():
        print(f"{VIDEO} missing", file=sys.stderr)
        return 1
    frames = load_frames(args.frames)
    have_official = (args.mp_venv / "bin" / "python").exists()
    print(
        f"{len(frames)} frames 640x480 from {VIDEO.name}; per-frame latency in ms (first {WARMUP} skipped), "
        f"best of {args.passes} interleaved passes"
    )
    if not have_official:
        print(f"official runtime not measured: {args.mp_venv} missing (tools/make_official_reference.py)")
    pipelines = [(v, b) for v in args.variants.split(",") for b in args.backends.split(",")]
    rows = []
    for mode, static in (("tracking", False), ("static", True)):
        best: dict[str, tuple[float, float, int]] = {}
        for k in range(args.passes):
            runs: list[tuple[str, tuple[list[float], int] | None]] = []
            for variant, backend in pipelines:
                print(f"  pass {k + 1}: ours {mode} {variant}/{backend}", file=sys.stderr, flush=True)
                result = time_ours(frames, static, variant, backend, args.threads)
                runs.append((f"ours {variant}/{backend}", result))
            if have_official:
                print(f"  pass {k + 1}: official {mode}", file=sys.stderr, flush=True)
                runs.append(("official mediapipe 0.10.21 full", time_official(frames, static, args.mp_venv)))
            for name, result in runs:
                if result is None:
                    continue
                med, p95 = stats(result[0])
                if name not in best or med < best[name][0]:
                    best[name] = (med, p95, result[1])
        rows += [(mode, name, *vals) for name, vals in best.items()]
    print(f"{'mode':<9} {'pipeline':<34} {'median':>8} {'p95':>8} {'frames w/ hand':>15}")
    for mode, name, med, p95, found in rows:
        print(f"{mode:<9} {name:<34} {med:8.2f} {p95:8.2f} {found:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
