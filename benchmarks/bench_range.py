#!/usr/bin/env python3
"""Working range: how small (far) a hand can be and still be found, on real photos.

Photos: the 30 gesture photos and ``hands.jpg`` (full frames, no crops). The reference hands (30) are the
official MediaPipe runtime's (0.10.21, static mode) on each photo at full resolution. For each step of the hand's size
(its landmarks' extent as a fraction of the image's long side, from 15 % down to 4 %) the whole photo is scaled
down to that size and set into a frame of the original size over a heavily blurred copy of itself (a colour
field), blended over a soft edge (``evaluation.scenes.scaled_scene``: no hard paste edge for a detector to find).

Each scene is static: it is fed up to 10 frames (30 fps stamps) and the hand counts as found when a hand lands
on it (mean landmark distance under half the hand's extent) in any of them (tiles are searched in turn across
frames). Per step it prints, for the official runtime (video mode, in the throwaway venv of
``tools/make_official_reference.py``; required: it also gives the reference), ours with ``small_hands: off``
and ours with the default (``auto``): recall; the 2D error of the found hands against the reference, as a
fraction of the hand's extent (there is no ground truth: at full resolution ours is within 0.01 % of the
reference, so the comparison at each size is with the official runtime's own error there); and the median time
of detection and of tracking frames. Then the cost of a detection frame with and without a hand in view.

    python benchmarks/bench_range.py [--mp-venv /tmp/mp-ref-venv] [--frames 10] [--steps 0.1 0.06 ...]
                                     [--modes off auto tiles2 ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.evaluation.scenes import scaled_scene
from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.paths import data_dir
from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "make_official_reference.py"
STEPS = (0.15, 0.12, 0.10, 0.08, 0.07, 0.06, 0.05, 0.045, 0.04)
FOUND_WITHIN = 0.5  # a hand within half its extent (mean landmark distance) of the reference counts as found


@dataclass
class Scene:
    photo: str
    step: float
    rgb: np.ndarray
    reference: list[np.ndarray]  # the reference hands' landmarks (21, 2) px in this scene
    extent: list[float]  # each reference hand's extent in this scene, px


def load_photos() -> list[tuple[str, np.ndarray]]:
    paths = [*sorted(data_dir("gesture_photos").glob("*.jpg")), data_dir("mediapipe_reference/hands.jpg")]
    return [(p.name, cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)) for p in paths]


def official(py: Path, images: list[np.ndarray], frames: int) -> list[dict]:
    """The official runtime's result per image (``worker_scenes``): hands, found_at, latencies."""
    with tempfile.TemporaryDirectory() as tmp:
        npz, out = Path(tmp) / "scenes.npz", Path(tmp) / "out.json"
        np.savez(npz, **{f"scene_{i}": im for i, im in enumerate(images)})
        subprocess.run([str(py), str(TOOL), "--worker", "scenes", "--frames", str(npz), "--out", str(out),
                        "--repeats", str(frames)], check=True)
        return json.loads(out.read_text())["scenes"]


def extent(landmarks: np.ndarray) -> float:
    """A hand's size in the image: the larger side of its landmarks' bounding box, px."""
    return float(max(np.ptp(landmarks[:, 0]), np.ptp(landmarks[:, 1])))


def match(found: list[np.ndarray], ref: np.ndarray, ext: float) -> float | None:
    """The error (fraction of the extent) of the found hand closest to ``ref``, or None if none is close."""
    errors = [float(np.linalg.norm(f - ref, axis=1).mean()) / ext for f in found]
    best = min(errors, default=None)
    return best if best is not None and best < FOUND_WITHIN else None


def run_ours(scene: Scene, rec: HandReconstructor, frames: int
             ) -> tuple[list[float | None], list[float], list[float]]:
    """Per reference hand: error or None; detection-frame and tracking-frame times (ms). ``rec`` starts over."""
    h, w = scene.rgb.shape[:2]
    camera = CameraModel.pinhole(w, h, float(max(w, h)))
    rec.reset()
    best: list[float | None] = [None] * len(scene.reference)
    detect_ms, track_ms = [], []
    for i in range(frames):
        t0 = time.perf_counter()
        result = rec.process_frame(scene.rgb, camera, i / 30.0)
        (detect_ms if result.detector_ran else track_ms).append((time.perf_counter() - t0) * 1e3)
        found = [hand.keypoints_px for hand in result.hands if not hand.held]
        for k, (ref, ext) in enumerate(zip(scene.reference, scene.extent, strict=True)):
            if best[k] is None:
                best[k] = match(found, ref, ext)
        if all(b is not None for b in best) and i >= 1:
            break
    return best, detect_ms, track_ms


def costs(photos: list[tuple[str, np.ndarray]], recs: dict[str, HandReconstructor], repeats: int = 3) -> None:
    """Median time (ms) of a detection frame with a hand the whole-image pass finds (a photo at full size, first
    frame), of a detection frame without any hand (the photo blurred beyond recognition), and of the tracking
    frames that follow the found hand, per mode."""
    modes = list(recs)
    out: dict[str, dict[str, list[float]]] = {m: {"hand": [], "empty": [], "tracking": []} for m in modes}
    for _ in range(repeats):
        for _, rgb in photos:
            h, w = rgb.shape[:2]
            camera = CameraModel.pinhole(w, h, float(max(w, h)))
            empty = cv2.GaussianBlur(rgb, (0, 0), max(w, h) / 10.0)
            for mode in modes:
                rec = recs[mode]
                rec.reset()
                for i in range(6):
                    t0 = time.perf_counter()
                    result = rec.process_frame(rgb, camera, i / 30.0)
                    ms = (time.perf_counter() - t0) * 1e3
                    out[mode]["hand" if result.detector_ran else "tracking"].append(ms)
                rec.reset()
                for i in range(3):
                    t0 = time.perf_counter()
                    rec.process_frame(empty, camera, 10.0 + i / 30.0)
                    out[mode]["empty"].append((time.perf_counter() - t0) * 1e3)
    base = out[modes[0]]
    for kind, label in (("hand", "detection frame, hand found by the whole-image pass"),
                        ("empty", "detection frame, no hand in view"), ("tracking", "tracking frame")):
        cells = [f"{m} {np.median(out[m][kind]):.1f} ms ({np.median(out[m][kind]) / np.median(base[kind]):.2f}x)"
                 for m in modes]
        print(f"cost, {label}: " + ", ".join(cells))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mp-venv", type=Path, default=Path("/tmp/mp-ref-venv"))
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--modes", nargs="+", default=["off", "auto"], help="small_hands settings to compare")
    ap.add_argument("--steps", nargs="+", type=float, default=list(STEPS), help="hand sizes, fractions")
    args = ap.parse_args()
    modes = list(args.modes)
    py = args.mp_venv / "bin" / "python"
    if not py.exists():
        print(f"the official runtime is needed for the reference: create {args.mp_venv} with "
              f"python {TOOL.relative_to(REPO)}", file=sys.stderr)
        return 1
    photos = load_photos()
    print(f"{len(photos)} photos; reference: the official runtime at full resolution", file=sys.stderr)
    full = official(py, [rgb for _, rgb in photos], 1)
    refs = {name: [np.array(hd["landmarks_px"])[:, :2] for hd in r["hands"]] for (name, _), r in
            zip(photos, full, strict=True)}
    # our own full-resolution error against the reference (the baseline of the error ratio)
    ours_full = []
    for name, rgb in photos:
        h, w = rgb.shape[:2]
        camera = CameraModel.pinhole(w, h, float(max(w, h)))
        hands = HandReconstructor(ReconstructionConfig()).process_image(rgb, camera).hands
        for ref in refs[name]:
            e = match([hd.keypoints_px for hd in hands], ref, extent(ref))
            if e is not None:
                ours_full.append(e)
    full_error = float(np.mean(ours_full))
    print(f"ours at full resolution: {len(ours_full)} of {sum(len(r) for r in refs.values())} reference hands, "
          f"error {100 * full_error:.2f} % of the hand's extent")
    scenes: list[Scene] = []
    for name, rgb in photos:
        if not refs[name]:
            continue
        long_side = max(rgb.shape[:2])
        f0 = max(extent(r) for r in refs[name]) / long_side
        for step in args.steps:
            if step >= f0:
                continue
            scene_rgb, to_scene = scaled_scene(rgb, step / f0)
            mapped = [r @ to_scene[:, :2].T + to_scene[:, 2] for r in refs[name]]
            scenes.append(Scene(name, step, scene_rgb, mapped, [extent(m) for m in mapped]))
    print(f"{len(scenes)} scenes", file=sys.stderr)
    off = official(py, [s.rgb for s in scenes], args.frames)
    recs = {m: HandReconstructor(ReconstructionConfig(small_hands=m)) for m in modes}
    rows: dict[float, dict[str, list]] = {}
    for k, scene in enumerate(scenes):
        row = rows.setdefault(scene.step, {"n": [], "official": [], **{f"{p}{m}": [] for m in modes
                                                                        for p in ("", "det_", "trk_")}})
        row["n"].append(len(scene.reference))
        found = [np.array(hd["landmarks_px"])[:, :2] for hd in off[k]["hands"]]
        row["official"] += [match(found, r, e) for r, e in zip(scene.reference, scene.extent, strict=True)]
        for mode in modes:
            errors, det, trk = run_ours(scene, recs[mode], args.frames)
            row[mode] += errors
            row[f"det_{mode}"] += det
            row[f"trk_{mode}"] += trk
        if (k + 1) % 20 == 0:
            print(f"{k + 1}/{len(scenes)} scenes", file=sys.stderr, flush=True)

    def cell(errors: list[float | None]) -> str:
        got = [e for e in errors if e is not None]
        recall = 100.0 * len(got) / max(1, len(errors))
        err = f"{100 * np.mean(got):.1f} %" if got else "-"
        return f"{recall:5.0f} % / {err:>6s}"

    names = " / ".join(modes)
    print("hand extent / long side | hands | recall / error (% of the hand's extent): official | "
          + " | ".join(f"ours {m}" for m in modes) + f" | detection frame ms {names} | tracking frame ms {names}")
    for step in sorted(rows, reverse=True):
        r = rows[step]

        def ms(v: list[float]) -> str:
            return f"{np.median(v):.1f}" if v else "-"

        print(f"{100 * step:5.1f} % | {sum(r['n']):3d} | {cell(r['official'])} | "
              + " | ".join(cell(r[m]) for m in modes) + " | " + " / ".join(ms(r[f"det_{m}"]) for m in modes)
              + " | " + " / ".join(ms(r[f"trk_{m}"]) for m in modes))
    costs(photos, recs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
