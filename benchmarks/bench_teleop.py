#!/usr/bin/env python3
"""Teleoperation through dex-retargeting: our hands against the ground truth, retargeted the same way.

Synthetic sequences (``hand_mesh_ros.synthetic``, 90 frames at 30 fps; lateral, depth and slow motions, right and
left hands; hand length set to the rendered hand's): the true joints with the true wrist rotation and our
published joints with our ``wrist_pose`` go through two identical retargeters (``hand_mesh_ros.teleop``, the
vector type, dex-retargeting's own low-pass filter off as in our node) to each robot. Per sequence it prints
the median per-joint angle difference (deg), the lag of our retargeted angles (frames, sub-frame), their
jitter (mean |second difference|, deg/frame^2, ours minus the truth's) and the median wrist orientation error
of our ``wrist_pose`` (deg).

ASL video (no ground truth): our hands against the official MediaPipe world landmarks of the same frames
(``asl_hand_3d.full.json``, their palm frame estimated from the landmarks, as dex-retargeting's examples do):
agreement (median per-joint angle difference), smoothness of both, frames skipped for low confidence.

Writes plots of a few retargeted joint angles to ``--out`` (default docs/images: it overwrites the README's
teleop_synthetic.png and teleop_asl.png). Needs dex-retargeting
(``pip install dex-retargeting==0.5.0 six``) and the robot URDFs (``--urdf-dir``, default ../shared/robots).

    python benchmarks/bench_teleop.py [--robots leap_hand allegro_hand] [--out docs/images]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.evaluation.plots import Curve, draw_curves
from hand_mesh_ros.evaluation.temporal import lag_frames
from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.paths import data_dir
from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
from hand_mesh_ros.synthetic import SyntheticSequence, load_or_make_sequence
from hand_mesh_ros.teleop import HandRetargeter, TeleopHand, model_palm_frames, palm_frame
from hand_mesh_ros.tools.frame_source import read_frames

MOTIONS = ("lateral", "depth", "slow")
ASL_FPS = 25.0


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """The angle (deg) of the rotation between two rotation matrices."""
    return float(np.degrees(np.arccos(np.clip((np.trace(a.T @ b) - 1.0) / 2.0, -1.0, 1.0))))


MOVING_DEG = 10.0  # the lag is measured on joints whose true angle varies by more than this (std, deg)
MIN_MOVING = 3  # ... when at least this many do (a lag fitted to one or two joints is their error, not time)


def moving_lag(q: np.ndarray, truth: np.ndarray) -> float:
    """Lag (frames) of the joints that move in the truth (std > MOVING_DEG); NaN when fewer than MIN_MOVING do."""
    moving = np.degrees(truth.std(axis=0)) > MOVING_DEG
    return lag_frames(q[:, moving], truth[:, moving]) if moving.sum() >= MIN_MOVING else float("nan")


def our_hands(seq: SyntheticSequence, smoothing: bool = True) -> list[TeleopHand | None]:
    """Our published hand (the first) per frame, default settings at the true hand length."""
    rec = HandReconstructor(ReconstructionConfig(smoothing=smoothing, hand_length_m=seq[0].hands[0].hand_length_m))
    out: list[TeleopHand | None] = []
    for f in seq:
        hands = rec.process_frame(f.rgb, seq.camera, f.stamp_s).hands
        out.append(TeleopHand.from_reconstructed(hands[0], f.stamp_s) if hands else None)
    return out


def joints_lag(hands: list[TeleopHand | None], seq: SyntheticSequence) -> float:
    """Lag (frames) of the wrist-relative joints against the truth's (the joints that move by > 5 mm)."""
    rel = np.array([h.joints - h.joints[0] for h in hands if h is not None]).reshape(len(seq), -1)
    truth = np.array([f.hands[0].joints - f.hands[0].joints[0] for f in seq]).reshape(len(seq), -1)
    moving = truth.std(axis=0) > 0.005
    return lag_frames(rel[:, moving], truth[:, moving])


def frames_text(lag: float) -> str:
    return "-" if not np.isfinite(lag) else f"{lag:+.2f}"


def retarget(retargeter: HandRetargeter, hands: list[TeleopHand | None], stamps: np.ndarray,
             side: str) -> np.ndarray:
    """(T, N) joint positions of ``side``'s robot per frame (NaN where nothing was commanded)."""
    retargeter.reset()
    n = len(retargeter.joint_names(side))  # type: ignore[arg-type]
    q = np.full((len(stamps), n), np.nan)
    for i, (hand, t) in enumerate(zip(hands, stamps, strict=True)):
        step = retargeter.step([] if hand is None else [hand], float(t))
        for c in step.commands:
            if c.side == side:
                q[i] = c.positions
    return q


def jitter_deg(q: np.ndarray) -> float:
    return float(np.degrees(np.abs(np.diff(q, 2, axis=0))).mean())


def synthetic(robots: list[str], urdf_dir: Path, palms: dict[str, np.ndarray], frames: int,
              plot_dir: Path) -> None:
    print("synthetic sequences: median |angle difference| deg; lag frames (joints whose true angle varies by > "
          f"{MOVING_DEG:.0f} deg; raw = smoothing false); jitter deg/frame^2 (ours - truth's); wrist orientation "
          "error deg")
    plotted = False
    for side in ("right", "left"):
        for motion in MOTIONS:
            seq = load_or_make_sequence(num_frames=frames, motion=motion, side=side)
            stamps = np.array([f.stamp_s for f in seq])
            truth = [TeleopHand(side, 1, f.hands[0].joints, f.hands[0].wrist_rotation, 1.0, f.stamp_s)  # type: ignore[arg-type]
                     for f in seq]
            ours = our_hands(seq)
            raw = our_hands(seq, smoothing=False)
            found = [h for h in ours if h is not None]
            wrong_side = sum(h.side != side for h in found)
            wrist = np.median([rotation_angle_deg(h.wrist_rotation, f.hands[0].wrist_rotation)
                               for h, f in zip(ours, seq, strict=True) if h is not None])
            parts = []
            for robot in robots:
                r = HandRetargeter(robot, urdf_dir, palms, sides=(side,))  # type: ignore[arg-type]
                qt, qo = retarget(r, truth, stamps, side), retarget(r, ours, stamps, side)
                qr = retarget(r, raw, stamps, side)
                ok = np.all(np.isfinite(qo), axis=1) & np.all(np.isfinite(qr), axis=1)
                diff = np.degrees(np.abs(qo[ok] - qt[ok]))
                lag = moving_lag(qo[ok], qt[ok]) if ok.all() else float("nan")
                lag_raw = moving_lag(qr[ok], qt[ok]) if ok.all() else float("nan")
                jit = jitter_deg(qo[ok]) - jitter_deg(qt[ok])
                parts.append(f"{robot}: {np.median(diff):.1f} deg (p90 {np.percentile(diff, 90):.1f}), lag "
                             f"{frames_text(lag)} (raw {frames_text(lag_raw)}), jitter {jit:+.2f} (raw "
                             f"{jitter_deg(qr[ok]) - jitter_deg(qt[ok]):+.2f})")
                if not plotted and robot == robots[0] and side == "right" and motion == "lateral":
                    plot(plot_dir / "teleop_synthetic.png", f"{robot} ({side}), '{motion}' sequence: truth vs ours",
                         qt, qo, r.joint_names(side), ("truth", "ours"))  # type: ignore[arg-type]
                    plotted = True
            print(f"  {side:5s} {motion:7s} found {len(found)}/{len(seq)} (wrong side {wrong_side}); wrist "
                  f"{wrist:.1f} deg; raw wrist-relative joints lag {joints_lag(raw, seq):+.2f} frames; "
                  + "; ".join(parts))


def asl(robots: list[str], urdf_dir: Path, palms: dict[str, np.ndarray], plot_dir: Path) -> None:
    video = data_dir("mediapipe_reference/asl_hand.25fps.mp4")
    world = np.asarray(json.loads(data_dir("mediapipe_reference/asl_hand_3d.full.json").read_text()), float)
    frames = list(read_frames(video))
    h, w = frames[0].shape[:2]
    cam = CameraModel.pinhole(w, h, float(h))
    rec = HandReconstructor(ReconstructionConfig())
    ours: list[TeleopHand | None] = []
    sides = []
    for i, rgb in enumerate(frames):
        hands = rec.process_frame(rgb, cam, i / ASL_FPS).hands
        ours.append(TeleopHand.from_reconstructed(hands[0], i / ASL_FPS) if hands else None)
        if hands:
            sides.append(hands[0].handedness)
    side = max(set(sides), key=sides.count)
    stamps = np.arange(len(frames)) / ASL_FPS
    # the official landmarks with the palm frame estimated from themselves (a "wrist rotation" that is the palm
    # frame, and an identity palm-in-root), as dex-retargeting's examples feed MediaPipe's landmarks
    official = [TeleopHand(side, 1, world[i], palm_frame(world[i]), 1.0, float(t))  # type: ignore[arg-type]
                for i, t in enumerate(stamps)]
    identity = {s: np.eye(3) for s in palms}
    print(f"ASL video ({len(frames)} frames, our hands found in {len(sides)}, side {side}):")
    for robot in robots:
        r_ours = HandRetargeter(robot, urdf_dir, palms, sides=(side,))  # type: ignore[arg-type]
        r_off = HandRetargeter(robot, urdf_dir, identity, sides=(side,))  # type: ignore[arg-type]
        qo = retarget(r_ours, ours, stamps, side)
        skipped = int(sum(1 for hnd in ours if hnd is not None and hnd.confidence < r_ours.min_confidence))
        qm = retarget(r_off, official, stamps, side)
        ok = np.all(np.isfinite(qo), axis=1) & np.all(np.isfinite(qm), axis=1)
        diff = np.degrees(np.abs(qo[ok] - qm[ok]))
        print(f"  {robot}: median |ours - official| {np.median(diff):.1f} deg (p90 {np.percentile(diff, 90):.1f}); "
              f"jitter ours {jitter_deg(qo[ok]):.2f}, official {jitter_deg(qm[ok]):.2f} deg/frame^2; frames "
              f"skipped for low confidence {skipped}, without a hand {sum(hnd is None for hnd in ours)}")
        if robot == robots[0]:
            plot(plot_dir / "teleop_asl.png", f"{robot} ({side}), ASL video: official landmarks vs ours", qm, qo,
                 r_ours.joint_names(side), ("official landmarks", "ours"))  # type: ignore[arg-type]


def plot(path: Path, title: str, a: np.ndarray, b: np.ndarray, names: tuple[str, ...],
         labels: tuple[str, str]) -> None:
    """Three joints with the most motion, ``a`` vs ``b`` in degrees, over frames."""
    ok = np.all(np.isfinite(a), axis=1) & np.all(np.isfinite(b), axis=1)
    idx = np.argsort(-np.nanstd(a, axis=0))[:3]
    t = np.arange(len(a), dtype=np.float64)[ok]
    curves = []
    for k in idx:
        curves.append(Curve(f"{labels[0]} joint {names[k]}", t, np.degrees(a[ok, k])))
        curves.append(Curve(f"{labels[1]} joint {names[k]}", t, np.degrees(b[ok, k])))
    lo = float(min(np.degrees(a[ok][:, idx]).min(), np.degrees(b[ok][:, idx]).min())) - 5.0
    hi = float(max(np.degrees(a[ok][:, idx]).max(), np.degrees(b[ok][:, idx]).max())) + 5.0
    img = draw_curves(curves, title, "frame", "deg", size=(900, 480), y_range=(lo, hi))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
    print(f"wrote {path}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--robots", nargs="+", default=["leap_hand", "allegro_hand"])
    ap.add_argument("--urdf-dir", type=Path, default=data_dir().parent / "robots")
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs/images")
    args = ap.parse_args()
    palms = model_palm_frames()
    synthetic(args.robots, args.urdf_dir, palms, args.frames, args.out)
    asl(args.robots, args.urdf_dir, palms, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
