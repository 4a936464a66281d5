#!/usr/bin/env python3
"""Benchmark the hand-model fits: the camera-space fit (what every frame runs) and the 3D keypoint fit.

1. Camera-space fit (``handmodel.camera_fit``) on the real ASL reference video (MediaPipe outputs of our
   perception, tracking mode, f = image height): per frame one warm-started fit from the previous frame (the
   tracking case) and one cold fit; median / p95 ms per hand, for one hand and for two hands in one call.
2. 3D keypoint fit (``HandFitter``; used to start a new hand and to refit the filtered joints): time per
   hand (B = 1, 8, 64; cold and warm start) and accuracy versus noise on synthetic hands (random plausible
   poses within the joint limits, random global rotation, 0.5 m in front of the camera, isotropic Gaussian
   keypoint noise; errors are mean distances to the CLEAN truth). Also times the 640x480 renderer.

Usage: python benchmarks/bench_fit.py [--mano-dir DIR] [--iterations N]
"""

from __future__ import annotations

import argparse
import json
import time
import timeit
from collections.abc import Callable

import numpy as np

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.handmodel import HandFitter, HandModel, load_hand_model
from hand_mesh_ros.handmodel.camera_fit import CameraSpaceFitter, KeypointObservation
from hand_mesh_ros.handmodel.factory import load_hand_model_data
from hand_mesh_ros.handmodel.hand_length import DEFAULT_HAND_LENGTH_M, at_hand_length
from hand_mesh_ros.handmodel.limits import random_plausible_pose
from hand_mesh_ros.paths import data_dir
from hand_mesh_ros.render import render_mesh


def synthetic(model: HandModel, batch: int, rng: np.random.Generator) -> np.ndarray:
    hp = random_plausible_pose(model.data.bone_frames, batch, rng, side=model.side)
    go = rng.normal(size=(batch, 3))
    tr = rng.normal(scale=0.1, size=(batch, 3)) + np.array([0.0, 0.0, 0.5])
    return model(go, hp, None, tr, with_vertices=False).keypoints


def timed(fn: Callable[[], object], repeats: int, sync: Callable[[], object] | None = None) -> tuple[float, float]:
    """(median, minimum) seconds per call; the minimum is what an unloaded machine gives. ``sync`` waits for
    asynchronous work (e.g. ``torch.cuda.synchronize``) before each time is taken."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(np.min(times))


def real_data(mano_dir: str | None) -> None:
    """Fit real keypoints: MediaPipe world landmarks of the reference video, annotated real hands."""
    data = data_dir()
    video = data / "mediapipe_reference" / "asl_hand_3d.full.json"
    annotated = data / "handgraph_dev" / "annotations.json"
    if not video.is_file() or not annotated.is_file():
        print(f"\n(real-data checks skipped: {data} not found)")
        return
    print("\n== real keypoints (weighted mean residual of the fit) ==")
    frames = np.asarray(json.loads(video.read_text()), dtype=np.float64)  # (T, 21, 3) metres, a right hand
    model = load_hand_model("right", mano_dir)
    fitter = HandFitter(model)
    default = float(fitter.fit(frames).residual.mean()) * 1e3
    shaped_video = float(fitter.fit(frames, fit_shape=True).residual.mean()) * 1e3
    print(
        f"MediaPipe world landmarks, {len(frames)} video frames: default shape {default:.2f} mm; "
        f"per-frame shape {shaped_video:.2f} mm"
    )
    samples = json.loads(annotated.read_text())["samples"]
    joints = np.asarray([s["joints_cam_mm"] for s in samples], dtype=np.float64) / 1000.0  # left hands
    left = load_hand_model("left", mano_dir)
    fit_l = HandFitter(left)
    fixed = float(fit_l.fit(joints).residual.mean()) * 1e3
    shaped = float(fit_l.fit(joints, fit_shape=True).residual.mean()) * 1e3
    print(
        f"handgraph_dev annotated real hands ({len(joints)}, camera frame): default shape {fixed:.2f} mm; "
        f"per-image shape {shaped:.2f} mm (annotation definitions differ from MediaPipe's)"
    )


def video_observations(limit: int) -> tuple[list[KeypointObservation], str]:
    """Per-frame observations of the right hand in the ASL reference video (our perception, tracking)."""
    from hand_mesh_ros.perception.pipeline import HandPerception
    from hand_mesh_ros.tools.frame_source import read_frames

    path = data_dir("mediapipe_reference/asl_hand.25fps.mp4")
    if not path.is_file():
        raise FileNotFoundError(path)
    perception = HandPerception(max_hands=1)
    out = []
    for rgb in read_frames(path, limit):
        h, w = rgb.shape[:2]
        camera = CameraModel.pinhole(w, h, float(h))
        for o in perception.process(rgb):
            uv = camera.undistort_points(o.landmarks_px[:, :2], "normalized")
            out.append(KeypointObservation(uv[None], o.landmarks_px[None], o.world_landmarks_m[None]))
    return out, f"{path.name}, {len(out)} frames with the hand"


def camera_fit_timing(mano_dir: str | None) -> None:
    print("\n== camera-space fit (the per-frame fit), ms per hand: median / p95 ==")
    try:
        frames, source = video_observations(325)
    except FileNotFoundError as exc:
        print(f"(skipped: {exc} not found)")
        return
    model = HandModel(at_hand_length(load_hand_model_data("right", mano_dir), DEFAULT_HAND_LENGTH_M))
    fitter = CameraSpaceFitter(model)
    for obs in frames[:5]:
        fitter.fit(obs)  # warm-up
    for hands in (1, 2):
        batch = [KeypointObservation(*(np.repeat(getattr(o, f), hands, 0)
                                       for f in ("keypoints_uv", "landmarks_25d", "world_m"))) for o in frames]
        warm, cold, restarts = [], [], 0
        prev = None
        for obs in batch:
            t0 = time.perf_counter()
            fit = fitter.fit(obs, init=prev)
            warm.append((time.perf_counter() - t0) / hands)
            restarts += int(np.sum(fit.cold)) if prev is not None else 0
            prev = fit
            t0 = time.perf_counter()
            fitter.fit(obs)
            cold.append((time.perf_counter() - t0) / hands)
        print(f"{hands} hand{'s' if hands > 1 else ' '} per call ({source}): tracking (warm start, "
              f"{fitter.warm_iterations} iterations) {1e3 * np.median(warm):.2f} / {1e3 * np.percentile(warm, 95):.2f}"
              f"; new hand (cold start, {fitter.cold_iterations} iterations) {1e3 * np.median(cold):.2f} / "
              f"{1e3 * np.percentile(cold, 95):.2f}; warm fits redone cold: {restarts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mano-dir", default=None)
    parser.add_argument("--iterations", type=int, default=2)
    args = parser.parse_args()
    model = load_hand_model("right", args.mano_dir)
    fitter = HandFitter(model, iterations=args.iterations)
    rng = np.random.default_rng(0)
    print(f"model={model.name} iterations={args.iterations} (numpy, CPU)")
    tiny = np.ones((16, 3, 3))
    ref = float(np.median(timeit.repeat(lambda: tiny + tiny, number=2000, repeat=9))) / 2000 * 1e6
    print(f"machine load reference: one tiny numpy add = {ref:.2f} us (median; about 1 us when idle)")

    print("\n== time per hand: median (minimum) over repeated calls ==")
    for batch in (1, 8, 64):
        x = synthetic(model, batch, rng)
        repeats = 200 if batch == 1 else 50
        cold, cold_min = timed(lambda x=x: fitter.fit(x), repeats)
        prev = fitter.fit(x)
        warm, warm_min = timed(lambda x=x, prev=prev: fitter.fit(x, init=prev), repeats)
        print(
            f"B={batch:3d}: cold {1e3 * cold / batch:7.3f} ms/hand (min {1e3 * cold_min / batch:6.3f})   "
            f"warm {1e3 * warm / batch:7.3f} ms/hand (min {1e3 * warm_min / batch:6.3f})"
        )

    print("\n== per-frame product calls, one hand: median (minimum) ==")
    x = synthetic(model, 1, rng)
    prev = fitter.fit(x)
    refitter = HandFitter(model, iterations=1)
    calls: dict[str, Callable[[], object]] = {
        "refit (1 iteration, warm)": lambda: refitter.fit(x, init=prev, betas=prev.betas),
        "to_batch(with_vertices=True)": lambda: fitter.to_batch(prev, with_vertices=True),
        "outputs(to_batch(...))": lambda: model.outputs(fitter.to_batch(prev, with_vertices=True)),
    }
    for name, fn in calls.items():
        t, t_min = timed(fn, 200)
        print(f"{name:30s} {1e3 * t:6.3f} ms (min {1e3 * t_min:6.3f})")

    print("\n== accuracy (mean keypoint distance to the clean truth, 256 hands) ==")
    gt = synthetic(model, 256, np.random.default_rng(1))
    gen = np.random.default_rng(0)
    for noise_mm in (0.0, 5.0, 10.0):
        sigma = noise_mm / 1000.0 / np.sqrt(3.0)
        noisy = gt + sigma * gen.normal(size=gt.shape)
        fit = fitter.fit(noisy)
        in_err = float(np.linalg.norm(noisy - gt, axis=-1).mean()) * 1e3
        out_err = float(np.linalg.norm(fit.keypoints - gt, axis=-1).mean()) * 1e3
        p95 = float(np.quantile(np.linalg.norm(fit.keypoints - gt, axis=-1), 0.95)) * 1e3
        print(
            f"noise RMS {noise_mm:4.1f} mm: input error {in_err:5.2f} mm -> fitted error {out_err:5.2f} mm "
            f"(p95 {p95:5.2f} mm)"
        )

    real_data(args.mano_dir)
    camera_fit_timing(args.mano_dir)

    print("\n== renderer 640x480 ==")
    out = model.outputs(model(np.array([1.2, 0.3, 0.2]), None, None, np.array([0.0, 0.0, 0.45])))[0]
    k = np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]])
    t, t_min = timed(lambda: render_mesh(out.vertices, out.faces, k, 640, 480), 20)
    print(f"render_mesh: {1e3 * t:.1f} ms per frame (min {1e3 * t_min:.1f}; {len(out.faces)} triangles)")


if __name__ == "__main__":
    main()
