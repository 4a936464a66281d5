"""Smoothing of the product pipeline on the ASL video: the wrist track of ``HandReconstructor`` with and
without its temporal filters.

Same measures as ``bench_geometry_smoothing.py`` (which filters MediaPipe's reference outputs): mean
frame-to-frame acceleration of the wrist position (how many times lower filtered) and the lag of the filtered
track against a zero-phase smoothing of the unfiltered one, for the whole wrist and per axis. The video has no
ground truth: the reference is the raw track smoothed, so the depth's lag partly measures how much of the raw
depth's wander the filter declines to follow (``bench_temporal.py`` measures lag against exact truth). Pinhole
camera with f = image height, principal point at the centre (the video's intrinsics are not known).

    python benchmarks/bench_product_smoothing.py
"""

from __future__ import annotations

import numpy as np
from bench_geometry_smoothing import mean_acceleration, zero_phase_reference

from hand_mesh_ros.evaluation.temporal import lag_frames
from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.paths import data_dir
from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
from hand_mesh_ros.tools.frame_source import read_frames

VIDEO = data_dir("mediapipe_reference/asl_hand.25fps.mp4")


def wrist_track(frames: list[np.ndarray], smoothing: bool) -> np.ndarray:
    h, w = frames[0].shape[:2]
    camera = CameraModel.pinhole(w, h, float(h))
    rec = HandReconstructor(ReconstructionConfig(smoothing=smoothing))
    track = []
    for i, rgb in enumerate(frames):
        hands = rec.process_frame(rgb, camera, i / 25.0).hands
        track.append(hands[0].joints[0] if hands else np.full(3, np.nan))
    return np.array(track)


def main() -> int:
    frames = list(read_frames(VIDEO))
    raw = wrist_track(frames, smoothing=False)
    filtered = wrist_track(frames, smoothing=True)
    ok = np.all(np.isfinite(raw), axis=1) & np.all(np.isfinite(filtered), axis=1)
    print(f"frames {len(frames)}, wrist found in {int(ok.sum())} (both runs)")
    raw, filtered = raw[ok], filtered[ok]
    a_raw, a_f = mean_acceleration(raw) * 1e3, mean_acceleration(filtered) * 1e3
    lag = lag_frames(filtered, zero_phase_reference(raw))
    print(f"wrist acceleration: unfiltered {a_raw:.2f} mm/frame^2, filtered {a_f:.2f} mm/frame^2 "
          f"({a_raw / a_f:.1f}x lower)")
    axes = ", ".join(f"{name} {lag_frames(filtered[:, k:k + 1], zero_phase_reference(raw[:, k:k + 1])):.2f}"
                     for k, name in enumerate("xyz"))
    print(f"lag of the filtered wrist: {lag:.2f} frames (per axis: {axes})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
