"""Evaluate a bag of outputs against ground truth or a reference run: a table and plots. No ROS needed.

    python -m hand_mesh_ros.evaluation.bag_report BAG [--truth-topic /ground_truth/hands]
                                                      [--reference OTHER_BAG] [--out DIR]

Predictions: the HandArray messages on ``--topic`` (default /hands). Truth: ``--truth-topic`` in the same
bag (the demo writes /ground_truth/hands), or the /hands of ``--reference`` (e.g. a run with another
backend). Hands are matched per image stamp by side, nearest wrist first. Writes ``report.md``,
``pck_3d.png`` and ``error_over_time.png`` into ``--out``.

A bag without the truth topic (a video or camera run) gets a report of the predictions alone, says so, and
exits 0: hands per frame, left/right counts, wrist depth range, confidence, and ``wrist_depth.png`` (wrist
z per frame). A topic named with ``--topic``, ``--truth-topic`` or ``--reference`` that a bag lacks is an
error (exit code 2) listing the topics the bag has.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..bagfiles import BagReadError, read_messages, topic_types
from ..cli import DefaultsHelpFormatter
from .hand_stats import HandStats, hand_stats
from .metrics import (
    auc,
    depth_error,
    epe_2d,
    f_score,
    mpjpe,
    pa_mpjpe,
    pck_curve,
    point_errors,
    procrustes_align,
    root_error,
)
from .plots import Curve, draw_curves, save_curves

SIDES = {1: "left", 2: "right"}
DEFAULT_TRUTH_TOPIC = "/ground_truth/hands"


@dataclass(frozen=True)
class MatchedHand:
    stamp_ns: int
    pred: np.ndarray  # (21, 3) m
    truth: np.ndarray
    pred_px: np.ndarray  # (21, 2)
    truth_px: np.ndarray


def _joints(hand: Any) -> tuple[np.ndarray, np.ndarray]:
    j = np.array([[p.x, p.y, p.z] for p in hand.joints], dtype=np.float64)
    px = np.array([[p.x, p.y] for p in hand.joints_px], dtype=np.float64)
    return j, px


def _by_stamp(path: Path, topic: str) -> dict[int, list[Any]]:
    out = {}
    for m in read_messages(path, [topic]):
        s = m.msg.header.stamp
        out[s.sec * 10**9 + s.nanosec] = list(m.msg.hands)
    return out


def match(pred: dict[int, list[Any]], truth: dict[int, list[Any]]) -> tuple[list[MatchedHand], int]:
    """Matched hands and the number of truth hands."""
    matched, total = [], 0
    for stamp, truths in sorted(truth.items()):
        total += len(truths)
        candidates = list(pred.get(stamp, []))
        for t in truths:
            tj, tpx = _joints(t)
            same = [c for c in candidates if SIDES.get(c.handedness) == SIDES.get(t.handedness)]
            if not same:
                continue
            best = min(same, key=lambda c: float(np.linalg.norm(_joints(c)[0][0] - tj[0])))
            candidates.remove(best)
            pj, ppx = _joints(best)
            matched.append(MatchedHand(stamp, pj, tj, ppx, tpx))
    return matched, total


def report(matched: Sequence[MatchedHand], total: int, frames: int) -> tuple[str, dict[str, float]]:
    if not matched:
        return "no hand matched the truth\n", {}
    pred = np.stack([m.pred for m in matched])
    gt = np.stack([m.truth for m in matched])
    cs = mpjpe(pred, gt) * 1e3
    figures = {
        "detection rate (%)": 100.0 * len(matched) / max(total, 1),
        "CS-MPJPE mean (mm)": float(cs.mean()),
        "CS-MPJPE median (mm)": float(np.median(cs)),
        "wrist error mean (mm)": float((root_error(pred, gt) * 1e3).mean()),
        "wrist depth error mean (mm)": float(np.abs(depth_error(pred, gt) * 1e3).mean()),
        "PA-MPJPE mean (mm)": float((pa_mpjpe(pred, gt) * 1e3).mean()),
        "F@5mm (camera space)": float(f_score(pred, gt, 0.005).mean()),
        "F@15mm (camera space)": float(f_score(pred, gt, 0.015).mean()),
        "F@5mm (Procrustes-aligned)": float(f_score(procrustes_align(pred, gt), gt, 0.005).mean()),
        "F@15mm (Procrustes-aligned)": float(f_score(procrustes_align(pred, gt), gt, 0.015).mean()),
        "2D EPE mean (px)": float(epe_2d(np.stack([m.pred_px for m in matched]),
                                         np.stack([m.truth_px for m in matched])).mean()),
    }
    th = np.linspace(0, 0.05, 51)
    figures["3D PCK AUC 0-50mm (camera space)"] = float(auc(th, pck_curve(point_errors(pred, gt), th)))
    lines = [f"frames: {frames}, truth hands: {total}, matched: {len(matched)}", "", "| metric | value |",
             "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in figures.items()]
    return "\n".join(lines) + "\n", figures


def predictions_report(pred: dict[int, list[Any]], topic: str, why: str) -> tuple[str, HandStats]:
    """report.md text for predictions without truth: ``why`` says what truth is missing."""
    stats = hand_stats([pred[s] for s in sorted(pred)])
    sides = ", ".join(f"{k} {v}" for k, v in stats.hands_by_side.items()) or "-"
    counts = ", ".join(f"{k}: {v}" for k, v in stats.frames_by_hand_count.items()) or "-"

    def metres(v: float | None) -> str:
        return f"{v:.3f}" if v is not None else "-"

    rows = [
        ("frames (HandArray messages)", str(stats.frames)),
        ("frames with hands", str(stats.frames_with_hands)),
        ("hands per frame (mean)", f"{stats.hands_per_frame_mean:.2f}"),
        ("frames with n hands (n: frames)", counts),
        ("hands by side", sides),
        ("wrist depth z min (m)", metres(stats.wrist_z_min_m)),
        ("wrist depth z median (m)", metres(stats.wrist_z_median_m)),
        ("wrist depth z max (m)", metres(stats.wrist_z_max_m)),
        ("confidence median", f"{stats.confidence_median:.3f}" if stats.confidence_median is not None else "-"),
        ("held hands (repeated, low confidence)", str(stats.held_hands)),
    ]
    lines = [f"no ground truth: {why}; the figures below describe the predictions on {topic} only (accuracy "
             "needs truth, or --reference OTHER_BAG to compare with another run). Depths scale with the "
             "camera intrinsics and the hand length the run assumed.", "", "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n", stats


def wrist_depth_plot(pred: dict[int, list[Any]], path: Path) -> bool:
    """Wrist z (m) per frame, one curve per side; False (nothing written) without any hand."""
    stamps = sorted(pred)
    curves = []
    for code, name in SIDES.items():
        points = [(i, float(h.joints[0].z)) for i, s in enumerate(stamps) for h in pred[s] if h.handedness == code]
        if points:
            x, z = np.array(points, dtype=np.float64).T
            if len(x) == 1:
                x, z = np.array([x[0], x[0] + 1.0]), np.repeat(z, 2)
            curves.append(Curve(f"{name} wrist", x, z))
    if not curves:
        return False
    top = max(float(c.y.max()) for c in curves)
    top = 0.5 * max(1.0, float(np.ceil(top * 1.05 / 0.5)))  # whole half metres: ticks at round values
    img = draw_curves(curves, "wrist depth over time", "frame", "z (m)", y_range=(0.0, top))
    if not cv2.imwrite(str(path), img):
        raise OSError(f"could not write {path}")
    return True


def error_over_time(matched: Sequence[MatchedHand], path: Path) -> None:
    """Per-frame camera-space error (mm) against frame index, drawn with OpenCV."""
    errs = np.array([float(mpjpe(m.pred[None], m.truth[None])[0]) * 1e3 for m in matched])
    x = np.arange(len(errs), dtype=np.float64)
    x = x if len(x) > 1 else np.array([0.0, 1.0])
    errs = errs if len(errs) > 1 else np.repeat(errs, 2)
    img = draw_curves([Curve("CS-MPJPE per matched hand", x, errs)], "error over time",
                      "matched hand (time order)", "mm", y_range=(0.0, float(max(10.0, errs.max() * 1.1))))
    if not cv2.imwrite(str(path), img):
        raise OSError(f"could not write {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hand_mesh_ros.evaluation.bag_report",
                                     description=__doc__.split("\n\n")[0], formatter_class=DefaultsHelpFormatter)
    parser.add_argument("bag", type=Path, help="a bag with the nodes' outputs (bag_replay's, or the demo's)")
    parser.add_argument("--topic", default="/hands", help="the HandArray topic to score")
    parser.add_argument("--truth-topic", help=f"truth in the same bag (default {DEFAULT_TRUTH_TOPIC} when the "
                        "bag has it; without truth the predictions alone are reported)")
    parser.add_argument("--reference", type=Path, help="compare with this bag's --topic instead of the truth")
    parser.add_argument("--out", type=Path, default=Path("out/bag_report"), help="folder for report.md and plots")
    args = parser.parse_args(argv)
    try:
        pred = _by_stamp(args.bag, args.topic)
        if args.reference:
            truth: dict[int, list[Any]] | None = _by_stamp(args.reference, args.topic)
            why = f"{args.reference} has no {args.topic} messages"
        elif args.truth_topic or DEFAULT_TRUTH_TOPIC in topic_types(args.bag):
            truth_topic = args.truth_topic or DEFAULT_TRUTH_TOPIC
            truth = _by_stamp(args.bag, truth_topic)
            why = f"{truth_topic} has no messages"
        else:
            truth, why = None, f"this bag has no {DEFAULT_TRUTH_TOPIC}"
    except BagReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    written = ["report.md"]
    for stale in ("pck_3d.png", "error_over_time.png", "wrist_depth.png"):  # a previous report's plots
        (args.out / stale).unlink(missing_ok=True)
    if not truth:
        text, _ = predictions_report(pred, args.topic, why)
        (args.out / "report.md").write_text(text)
        if wrist_depth_plot(pred, args.out / "wrist_depth.png"):
            written.append("wrist_depth.png")
        print(text + f"written to {args.out}/: {', '.join(written)}")
        return 0
    matched, total = match(pred, truth)
    text, _ = report(matched, total, len(truth))
    (args.out / "report.md").write_text(text)
    if matched:
        th = np.linspace(0, 0.05, 51)
        errs = point_errors(np.stack([m.pred for m in matched]), np.stack([m.truth for m in matched]))
        save_curves(args.out / "pck_3d.png", [Curve("camera space", th * 1e3, pck_curve(errs, th))],
                    "3D PCK", "threshold (mm)")
        error_over_time(matched, args.out / "error_over_time.png")
        written += ["pck_3d.png", "error_over_time.png"]
    print(text + f"written to {args.out}/: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
