#!/usr/bin/env python3
"""Measure how MediaPipe's outputs relate to the hand model, on synthetic stills; write cue_statistics.json.

For each still (``hand_mesh_ros.synthetic.stills``: random side, shape, size, pose, orientation, distance and
camera; exact truth) the perception runs as on a single image, and where it finds the hand with the right
handedness we record:

* the 2D keypoint error per joint, in units of the true hand length seen at the wrist's depth;
* each depth cue's gain: least squares (through 0) of the cue's root-relative depth against the truth
  (2.5D: in pixels at the wrist's depth; world: metres after matching the true joint chain length);
* each cue's residual against the truth (``handmodel.cues``: hand orientation, 20 bone directions), mirrored
  to the right hand's convention. Mean and covariance use the 95 % of samples with the smallest residual
  norm; the covariance is shrunk 30 % towards its diagonal and given a floor of 0.06^2 on every direction
  (without it, directions that the renders happen not to excite get a weight they do not deserve).

No evaluation image is involved. Usage (about 4 minutes on 2 cores for 1000 stills):

    python tools/measure_cue_statistics.py [--stills 1000] [--seed 21] [--out FILE]

(default FILE: hand_mesh_ros/handmodel/cue_statistics.json).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from hand_mesh_ros.handmodel.cues import (
    CUES,
    PALM,
    RESIDUAL_SIZE,
    STATISTICS_FILE,
    CueModel,
    CueStatistics,
    bone_directions,
    cue_shape,
    hand_frame,
    mirror_signs,
)
from hand_mesh_ros.handmodel.hand_length import joint_chain_length
from hand_mesh_ros.handmodel.rotations import matrix_to_axis_angle
from hand_mesh_ros.perception.pipeline import HandPerception
from hand_mesh_ros.synthetic.stills import iter_stills, mean_size_models

SHRINKAGE = 0.3
FLOOR = 0.06
KEEP_FRACTION = 0.95


def residual(rest_palm: np.ndarray, truth: np.ndarray, shape: np.ndarray, side: str) -> np.ndarray:
    """(63,) residual of the true joints against a cue shape, in the right hand's convention."""
    r_true = hand_frame(rest_palm, truth[None])[0]
    r_cue = hand_frame(rest_palm, shape[None])[0]
    rot = matrix_to_axis_angle(r_cue.T @ r_true)
    dirs = bone_directions(truth) @ r_true - bone_directions(shape) @ r_cue
    return np.concatenate([rot, dirs.reshape(-1)]) * mirror_signs(side)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stills", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--out", type=Path, default=STATISTICS_FILE)
    args = ap.parse_args(argv)
    models = mean_size_models()
    rest_palm = {}
    for side, m in models.items():
        kp = m.data.keypoint_regressor @ m.data.v_template
        rest_palm[side] = kp[list(PALM)] - kp[0]
    perception = HandPerception(max_hands=1)
    rng = np.random.default_rng(args.seed)
    err2d, z_pairs, residuals = [], {c: [] for c in CUES}, {c: [] for c in CUES}
    used, t0 = 0, time.perf_counter()
    stills = iter_stills(models, rng)
    for i in range(args.stills):
        s = next(stills)
        found = perception.process(s.rgb, static=True)
        if found and found[0].handedness == s.side:
            obs = found[0]
            k = s.camera.k
            length_px = k[0, 0] * s.hand_length_m / s.joints[0, 2]
            err2d.append((obs.landmarks_px[:, :2] - s.camera.project(s.joints)) / length_px)
            truth = s.joints - s.joints[0]
            world = obs.world_landmarks_m - obs.world_landmarks_m[0]
            world_scale = joint_chain_length(truth) / joint_chain_length(world)
            z_pairs["landmarks_25d"].append((truth[:, 2] * k[0, 0] / s.joints[0, 2], obs.landmarks_px[:, 2]))
            z_pairs["world"].append((truth[:, 2], world[:, 2] * world_scale))
            for cue in CUES:
                residuals[cue].append((cue_shape(cue, obs.landmarks_px, obs.world_landmarks_m), truth, s.side))
            used += 1
        if (i + 1) % 50 == 0 or i + 1 == args.stills:
            print(f"stills {i + 1}/{args.stills}, hand found with the right side in {used} "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    if used < 100:
        print(f"only {used} usable stills: too few for a covariance of {RESIDUAL_SIZE} numbers", file=sys.stderr)
        return 1
    sigma = np.sqrt((np.asarray(err2d) ** 2).mean(axis=(0, 2)))
    cues = {}
    for cue in CUES:
        true_z, cue_z = (np.concatenate(a) for a in zip(*z_pairs[cue], strict=True))
        gain = float(true_z @ cue_z / (true_z @ true_z))
        r = np.stack([residual(rest_palm[side], truth, shape * np.array([1.0, 1.0, 1.0 / gain]), side)
                      for shape, truth, side in residuals[cue]])
        norm = np.linalg.norm(r, axis=1)
        kept = r[norm <= np.quantile(norm, KEEP_FRACTION)]
        cov = np.cov(kept.T)
        cov = (1.0 - SHRINKAGE) * cov + SHRINKAGE * np.diag(np.diag(cov)) + FLOOR**2 * np.eye(RESIDUAL_SIZE)
        cues[cue] = CueModel(gain, kept.mean(0), cov, np.eye(RESIDUAL_SIZE))
        print(f"{cue}: gain {gain:.3f}, orientation sd {np.sqrt(np.diag(cov)[:3]).round(3)} rad, "
              f"bone direction sd {np.sqrt(np.diag(cov)[3:]).mean():.3f}", file=sys.stderr)
    source = (f"tools/measure_cue_statistics.py: {used} of {args.stills} synthetic stills (seed {args.seed}) "
              f"where the hand was found with the right side; shrinkage {SHRINKAGE}, floor {FLOOR}")
    stats = CueStatistics(sigma, cues, source)
    args.out.write_text(stats.to_json() + "\n")
    print(f"keypoint sigma (hand lengths) {sigma.round(3)}\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
