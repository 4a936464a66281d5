#!/usr/bin/env python3
"""RGB-D: how much a registered depth camera improves the metric hand, on the synthetic RGB-D sequences.

Sequences (``hand_mesh_ros.synthetic.rgbd``): one hand and two hands, 8 s at 30 fps, 640x480, hands whose
bone lengths and hand length differ from the fit's model (drawn per sequence), depth from a simulated
structured-light/stereo sensor (noise sd 0.002 z^2, invalid edges, dropout, 1 mm steps) sweeping the hands
from 0.6-0.7 m (1.5 s) out to 1.5 m, in to 0.3 m and back (a shorter ``--frames`` sequence is the start of
that schedule: its nearest band may stay empty, printed as -). Rows, all through
``HandReconstructor.process_frame``:

- ``mono default``: monocular at the default hand length (what a user who measured nothing gets);
- ``mono true``: monocular at the sequence's true hand length (the best one camera can do);
- ``naive wrist px``: the ``mono default`` result rescaled about the camera so that the wrist lies at the
  depth image's value under the wrist keypoint (what wrappers bolt on; an invalid pixel keeps the side's last
  valid factor);
- ``depth``: ours, the depth image into the fit, hand size calibrated online (``hand_size_mode: depth``);
- ``depth 2 s``: ours with depth for the first 2 s only, monocular afterwards with the calibrated size.

Per row: frames whose hands were found, CS-MPJPE (mean joint distance in the camera frame, mm) mean and
median over the found hands, the wrist's depth error (mean |dz| mm and mean signed dz / z %), and CS-MPJPE
mean per depth band of the true wrist. Then: the calibrated hand length at 1 s of visible hand and at the end
against the truth, the depth bias of the monocular frames after depth dropped out, and what a depth frame
costs (geometry + fit per hand, with minus without depth; the depth image conversion per frame).

    python benchmarks/bench_rgbd.py [--frames 240] [--seed 0] [--hands 1 2] [--plot docs/images/rgbd_error.png]

``--plot`` draws CS-MPJPE against the true wrist depth (0.1 m bins, every row, all sequences) as a PNG.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.evaluation.plots import Curve, draw_curves
from hand_mesh_ros.geometry.depth import DepthImage, sample_keypoint_depths
from hand_mesh_ros.handmodel.camera_fit import KeypointObservation
from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
from hand_mesh_ros.reconstruction.types import FrameResult, ReconstructedHand
from hand_mesh_ros.synthetic import match_hands
from hand_mesh_ros.synthetic.rgbd import RgbdFrame, RgbdSequence, load_or_make_rgbd_sequence

BANDS = ((0.3, 0.5), (0.5, 0.8), (0.8, 1.1), (1.1, 1.55))
DROPOUT_S = 2.0  # the "depth 2 s" row: depth for this long, then none
CALIBRATION_AT_S = 1.0  # the size is read after this much visible hand


@dataclass
class RowResult:
    name: str
    frames: int = 0
    hands: int = 0
    found: int = 0
    errors_mm: list[float] = field(default_factory=list)
    wrist_dz_mm: list[float] = field(default_factory=list)
    wrist_rel: list[float] = field(default_factory=list)  # signed (z - z_true) / z_true
    by_band: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    by_depth: list[tuple[float, float]] = field(default_factory=list)  # (true wrist z m, CS-MPJPE mm)
    after_dropout_rel: list[float] = field(default_factory=list)
    hand_ms: list[float] = field(default_factory=list)  # geometry + fit per placed hand
    size_at_1s: float | None = None
    size_end: float | None = None
    size_source: str = ""
    depth_rejected: int = 0  # hands whose depth the reconstruction refused as implausible


def band_of(z: float) -> int:
    for i, (lo, hi) in enumerate(BANDS):
        if lo <= z < hi:
            return i
    return len(BANDS) - 1 if z >= BANDS[-1][1] else 0


def rescale_hand(hand: ReconstructedHand, factor: float) -> ReconstructedHand:
    """A hand scaled about the camera centre (its projection is unchanged)."""
    return replace(hand, joints=hand.joints * factor, vertices=hand.vertices * np.float32(factor),
                   wrist_position=hand.wrist_position * factor)


def naive_wrist_depth(frame: RgbdFrame, hands: list[ReconstructedHand], last: dict[str, float]
                      ) -> list[ReconstructedHand]:
    """Each hand rescaled so that its wrist's z equals the raw depth pixel under its wrist keypoint."""
    out = []
    h, w = frame.depth_mm.shape
    for hand in hands:
        u, v = np.round(hand.keypoints_px[0]).astype(int)
        raw = int(frame.depth_mm[v, u]) if 0 <= u < w and 0 <= v < h else 0
        if raw > 0:
            last[hand.handedness] = raw * 1e-3 / float(hand.joints[0, 2])
        out.append(rescale_hand(hand, last.get(hand.handedness, 1.0)))
    return out


def run_row(seq: RgbdSequence, name: str, config: ReconstructionConfig, depth_until_s: float | None,
            post: Callable[[RgbdFrame, list[ReconstructedHand]], list[ReconstructedHand]] | None = None
            ) -> RowResult:
    """One row over the sequence; ``depth_until_s``: give depth images up to this time (None: never)."""
    rec = HandReconstructor(config)
    row = RowResult(name)
    visible_s = 0.0
    try:
        for frame in seq:
            with_depth = depth_until_s is not None and frame.stamp_s < depth_until_s
            depth = DepthImage.from_array(frame.depth_mm, "16UC1") if with_depth else None
            result: FrameResult = rec.process_frame(frame.rgb, seq.camera, frame.stamp_s, depth=depth)
            row.depth_rejected += result.depth_rejected
            hands = list(result.hands)
            if post is not None:
                hands = post(frame, hands)
            placed = [h for h in hands if not h.held]
            if placed:
                row.hand_ms.append((result.times.geometry + result.times.fit) / len(placed))
            matches = match_hands(frame.hands, hands)
            row.frames += 1
            for truth, m in zip(frame.hands, matches, strict=True):
                row.hands += 1
                if not m.found or m.mm_error is None:
                    continue
                row.found += 1
                found = next(h for h in hands if not h.held
                             and np.linalg.norm(h.joints_px[0] - truth.joints_px[0]) < 60.0)
                z_true = float(truth.joints[0, 2])
                dz = float(found.joints[0, 2]) - z_true
                row.errors_mm.append(m.mm_error)
                row.wrist_dz_mm.append(abs(dz) * 1e3)
                row.wrist_rel.append(dz / z_true)
                row.by_band[band_of(z_true)].append(m.mm_error)
                row.by_depth.append((z_true, m.mm_error))
                if depth_until_s is not None and not with_depth:
                    row.after_dropout_rel.append(dz / z_true)
            if frame.hands:
                visible_s += 1.0 / seq.fps
                if row.size_at_1s is None and visible_s >= CALIBRATION_AT_S:
                    row.size_at_1s = rec.hand_sizes()["right"].length_m
        size = rec.hand_sizes()["right"]
        row.size_end, row.size_source = size.length_m, size.source
    finally:
        rec.close()
    return row


def depth_costs(seq: RgbdSequence, rounds: int = 3) -> tuple[float, float, float]:
    """Milliseconds per hand of what depth adds, on the sequence's true right hands (perfect landmarks): the
    keypoint sampling, and a warm camera-space fit with minus without depth (taken in turn, median of
    ``rounds``)."""
    rec = HandReconstructor(ReconstructionConfig())
    fitter = rec.fitters["right"]
    rec.close()
    focal = float(seq.camera.k[0, 0])
    cases = []
    for frame in seq.frames[::4]:
        truth = frame.hand("right")
        if truth is None:
            continue
        j = truth.joints[None]
        uv = j[..., :2] / j[..., 2:]
        rel = focal * (j[..., 2:] - j[:, :1, 2:]) / j[:, :1, 2:]
        obs = KeypointObservation(uv, np.concatenate([focal * uv, rel], -1), j - j[:, :1])
        depth = DepthImage.from_array(frame.depth_mm, "16UC1")
        samples = sample_keypoint_depths(depth, truth.joints_px[None], 0.19).depth_m
        with_depth = replace(obs, depth_m=samples)
        cases.append((depth, truth.joints_px[None], obs, fitter.fit(obs), with_depth, fitter.fit(with_depth)))
    sample_ms, mono_ms, fused_ms = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for depth, kp, *_ in cases:
            sample_keypoint_depths(depth, kp, 0.19)
        sample_ms.append((time.perf_counter() - t0) * 1e3 / len(cases))
        t0 = time.perf_counter()
        for _, _, obs, init, _, _ in cases:
            fitter.fit(obs, init=init)
        mono_ms.append((time.perf_counter() - t0) * 1e3 / len(cases))
        t0 = time.perf_counter()
        for *_, fused, init in cases:
            fitter.fit(fused, init=init)
        fused_ms.append((time.perf_counter() - t0) * 1e3 / len(cases))
    return float(np.median(sample_ms)), float(np.median(mono_ms)), float(np.median(fused_ms))


def plot_by_depth(path: str, rows: dict[str, list[tuple[float, float]]]) -> None:
    """CS-MPJPE (mean per 0.1 m bin of the true wrist depth) of each row, as a PNG at ``path``."""
    edges = np.arange(0.25, 1.6, 0.1)
    curves = []
    for name, pairs in rows.items():
        z, err = np.asarray(pairs).T
        idx = np.digitize(z, edges)
        centres, means = [], []
        for k in range(1, len(edges)):
            if np.any(idx == k):
                centres.append(0.5 * (edges[k - 1] + edges[k]))
                means.append(float(err[idx == k].mean()))
        curves.append(Curve(name, np.asarray(centres), np.asarray(means)))
    top = float(np.ceil(max(c.y.max() for c in curves) / 20.0) * 20.0)
    img = draw_curves(curves, "synthetic RGB-D: CS-MPJPE (mean per 0.1 m) by distance", "true wrist depth (m)",
                      "mm", size=(720, 480), y_range=(0.0, top))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(path, img):
        raise OSError(f"could not write {path}")
    print(f"- plot: {path}")


def fmt(values: list[float], f: Callable[[np.ndarray], float] = np.mean, digits: int = 1) -> str:
    return f"{f(np.asarray(values)):.{digits}f}" if values else "-"


def print_rows(seq: RgbdSequence, rows: list[RowResult]) -> None:
    print(f"\n## {seq.hands} hand(s): {len(seq)} frames {seq.width}x{seq.height}, true hand length "
          f"{seq.hand_length_m * 1e3:.1f} mm (default {ReconstructionConfig().hand_length_m * 1e3:.0f} mm)")
    bands = " | ".join(f"{lo:.1f}-{min(hi, 1.5):.1f} m" for lo, hi in BANDS)
    print(f"| row | hands found | CS-MPJPE mean / median mm | wrist |dz| mm | wrist dz/z % | {bands} |")
    print("|---|---|---|---|---|" + "---|" * len(BANDS))
    for r in rows:
        per_band = " | ".join(fmt(r.by_band.get(i, [])) for i in range(len(BANDS)))
        print(f"| {r.name} | {r.found}/{r.hands} | {fmt(r.errors_mm)} / {fmt(r.errors_mm, np.median)} | "
              f"{fmt(r.wrist_dz_mm)} | {fmt([100 * x for x in r.wrist_rel], digits=2)} | {per_band} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hands", type=int, nargs="+", default=[1, 2], choices=(1, 2))
    ap.add_argument("--plot", default="", help="write CS-MPJPE against the true wrist depth as this PNG")
    args = ap.parse_args()
    by_depth: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for n_hands in args.hands:
        seq = load_or_make_rgbd_sequence(num_frames=args.frames, seed=args.seed, hands=n_hands, progress=True)
        default = ReconstructionConfig()
        true_size = ReconstructionConfig(hand_length_m=seq.hand_length_m)
        last: dict[str, float] = {}
        rows = []
        for name, cfg, until, post in (
            ("mono default", default, None, None),
            ("mono true", true_size, None, None),
            ("naive wrist px", default, None, lambda f, h, last=last: naive_wrist_depth(f, h, last)),
            ("depth", default, float("inf"), None),
            (f"depth {DROPOUT_S:.0f} s", default, DROPOUT_S, None),
        ):
            t0 = time.perf_counter()
            rows.append(run_row(seq, name, cfg, until, post))
            print(f"[bench_rgbd] {n_hands} hand(s), {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        print_rows(seq, rows)
        for r in rows:
            by_depth[r.name] += r.by_depth
        by = {r.name: r for r in rows}
        ours, naive, mono_true = by["depth"], by["naive wrist px"], by["mono true"]
        drop = rows[-1]
        truth = seq.hand_length_m
        print()
        ratio = np.mean(mono_true.errors_mm) / np.mean(ours.errors_mm) if ours.errors_mm else float("nan")
        print(f"- CS-MPJPE with depth {fmt(ours.errors_mm)} mm (target <= 10), {ratio:.2f}x lower than monocular "
              "at the true size (target >= 1.5)")
        worse = [f"{BANDS[i][0]:.1f}-{BANDS[i][1]:.1f} m" for i in range(len(BANDS))
                 if ours.by_band.get(i) and naive.by_band.get(i)
                 and np.mean(ours.by_band[i]) > np.mean(naive.by_band[i])]
        print(f"- bands where depth is worse than the naive wrist pixel: {', '.join(worse) or 'none'}")
        for label, value in (("after 1 s of visible hand", ours.size_at_1s), ("at the end", ours.size_end)):
            if value is not None:
                print(f"- calibrated hand length {label}: {value * 1e3:.1f} mm vs true {truth * 1e3:.1f} mm "
                      f"({100 * (value / truth - 1):+.2f} %, target within 2 %)")
        print(f"  (source at the end: {ours.size_source}; hands whose depth was refused as implausible: "
              f"{ours.depth_rejected})")
        if drop.after_dropout_rel:
            print(f"- depth bias of the monocular frames after depth stopped at {DROPOUT_S:.0f} s: "
                  f"{100 * np.mean(drop.after_dropout_rel):+.2f} % (target under 3 %); size "
                  f"{(drop.size_end or 0) * 1e3:.1f} mm ({drop.size_source})")
        print(f"- geometry + fit per hand over the whole run, median: {np.median(ours.hand_ms):.2f} ms with depth, "
              f"{np.median(mono_true.hand_ms):.2f} ms without (different runs: warm and cold fits differ)")
        sample, mono_fit, fused_fit = depth_costs(seq)
        print(f"- what a depth frame adds per hand (same hands, taken in turn): sampling {sample:.2f} ms + warm fit "
              f"{fused_fit:.2f} instead of {mono_fit:.2f} ms = {sample + fused_fit - mono_fit:+.2f} ms (target <= 1)")
    frame = load_or_make_rgbd_sequence(num_frames=args.frames, seed=args.seed, hands=args.hands[0])[0]
    t0 = time.perf_counter()
    for _ in range(100):
        DepthImage.from_array(frame.depth_mm, "16UC1")
    print(f"- depth image conversion (16UC1 {frame.depth_mm.shape[1]}x{frame.depth_mm.shape[0]} -> metres): "
          f"{(time.perf_counter() - t0) * 10:.2f} ms per frame")
    if args.plot:
        plot_by_depth(args.plot, by_depth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
