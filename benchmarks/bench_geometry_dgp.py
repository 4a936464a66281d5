"""Timings of the camera-space geometry hot path, and DGP accuracy on handgraph_dev with the oracle estimator.

Prints: undistortion of 21 keypoints per lens model; numpy DGP (linear, + Gauss-Newton) for 1, 2 and 16 hands;
and camera-space errors on handgraph_dev when the ground truth goes through
the DGP path with 3D noise (linear vs refined). Run: ``python benchmarks/bench_geometry_dgp.py``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.geometry.dgp import locate_hand
from hand_mesh_ros.paths import data_dir

DATA = data_dir()


def per_call_ms(fn: Callable[[], object], repeat: int = 300) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) * 1000.0 / repeat


def main() -> int:
    rng = np.random.default_rng(0)
    k = np.array([[910.0, 0, 640], [0, 910.0, 360], [0, 0, 1]])
    models = {"none": ("plumb_bob", []), "plumb_bob": ("plumb_bob", [-0.2, 0.05, 0.001, 0.001, 0.0]),
              "rational_polynomial": ("rational_polynomial",
                                      [0.4, -0.05, 0.001, 0.001, 0.0, 0.7, -0.02, 0.0]),
              "equidistant": ("equidistant", [-0.02, 0.01, -0.004, 0.001])}
    px = rng.uniform([0, 0], [1280, 720], (21, 2))
    for name, (model, d) in models.items():
        cam = CameraModel(1280, 720, k, np.array(d), model)
        ms = per_call_ms(lambda c=cam: c.undistort_points(px))
        print(f"undistort 21 keypoints, {name:20s}: {ms:.3f} ms")

    cam = CameraModel(1280, 720, k, np.array(models["plumb_bob"][1]), "plumb_bob")
    for b in (1, 2, 16):
        joints = rng.normal(0, 0.04, (b, 21, 3))
        t = np.column_stack([rng.uniform(-0.2, 0.2, b), rng.uniform(-0.1, 0.1, b), rng.uniform(0.4, 1.2, b)])
        kp = cam.project(joints + t[:, None]) + rng.normal(0, 1.0, (b, 21, 2))
        lin = per_call_ms(lambda kp=kp, j=joints: locate_hand(cam, kp, j, refine=False))
        ref = per_call_ms(lambda kp=kp, j=joints: locate_hand(cam, kp, j, refine=True))
        print(f"numpy DGP incl. undistortion, {b:2d} hand(s): linear {lin:.3f} ms, "
              f"+ Gauss-Newton {ref:.3f} ms")

    if not (DATA / "handgraph_dev" / "annotations.json").exists():
        print("handgraph_dev not found: accuracy part skipped")
        return 0
    from hand_mesh_ros.evaluation.crop_dataset import load_handgraph

    samples = load_handgraph(DATA / "handgraph_dev")
    for noise_mm in (0.0, 5.0, 10.0):
        for px_noise in (0.0, 2.0):
            errs = {False: [], True: []}
            rng = np.random.default_rng(1)
            for s in samples:
                gt = s.joints_cam_m
                kp = s.camera.project(gt) + rng.normal(0, px_noise, (21, 2))
                rel = gt - gt[0] + rng.normal(0, noise_mm / 1000.0, (21, 3))
                for refine in (False, True):
                    res = locate_hand(s.camera, kp, rel, refine=refine)
                    errs[refine].append(np.linalg.norm(rel + res.translation[0] - gt, axis=-1).mean() * 1000)
            print(f"handgraph_dev oracle, 3D noise {noise_mm:4.1f} mm, 2D noise {px_noise:.0f} px: "
                  "camera MPJPE "
                  f"linear {np.mean(errs[False]):6.2f} mm (median {np.median(errs[False]):6.2f}), "
                  f"refined {np.mean(errs[True]):6.2f} mm (median {np.median(errs[True]):6.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
