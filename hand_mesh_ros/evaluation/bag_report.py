"""Evaluate a bag of outputs against ground truth or a reference run: a table and plots. No ROS needed.

    python -m hand_mesh_ros.evaluation.bag_report BAG [--truth-topic /ground_truth/hands]
                                                      [--reference OTHER_BAG] [--out DIR]

Predictions: the HandArray messages on ``--topic`` (default /hands). Truth: ``--truth-topic`` in the same
bag (the demo writes /ground_truth/hands), or the /hands of ``--reference`` (e.g. a run with another
backend). Hands are matched per image stamp by side, nearest wrist first. Writes ``report.md``,
``pck_3d.png`` and ``error_over_time.png`` into ``--out``.
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

from ..bagfiles import BagReadError, read_messages
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bag", type=Path)
    parser.add_argument("--topic", default="/hands")
    parser.add_argument("--truth-topic", default="/ground_truth/hands")
    parser.add_argument("--reference", type=Path, help="compare with this bag's --topic instead of the truth")
    parser.add_argument("--out", type=Path, default=Path("out/bag_report"))
    args = parser.parse_args(argv)
    try:
        pred = _by_stamp(args.bag, args.topic)
        truth = _by_stamp(args.reference, args.topic) if args.reference else _by_stamp(args.bag, args.truth_topic)
    except BagReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not truth:
        raise SystemExit(f"no truth: {args.truth_topic} is empty or missing (or give --reference)")
    matched, total = match(pred, truth)
    text, _ = report(matched, total, len(truth))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(text)
    if matched:
        th = np.linspace(0, 0.05, 51)
        errs = point_errors(np.stack([m.pred for m in matched]), np.stack([m.truth for m in matched]))
        save_curves(args.out / "pck_3d.png", [Curve("camera space", th * 1e3, pck_curve(errs, th))],
                    "3D PCK", "threshold (mm)")
        error_over_time(matched, args.out / "error_over_time.png")
    print(text + f"written to {args.out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
