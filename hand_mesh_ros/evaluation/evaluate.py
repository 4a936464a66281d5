"""Evaluation command over a folder in the handgraph_dev layout; prints a table and writes PCK plots (PNG).

    python -m hand_mesh_ros.evaluation.evaluate --data ../shared/data/handgraph_dev --oracle-noise 5 \
        --out out/eval
    python -m hand_mesh_ros.evaluation.evaluate --data DIR --estimator my_module:make_estimator
    python -m hand_mesh_ros.evaluation.evaluate --data DIR --pipeline product --out out/p

``--estimator module:factory`` names a zero-argument callable returning an estimator
``(image RGB uint8, CameraModel) -> list[HandEstimate]``. Per image the estimate closest to the ground truth
in 2D is scored; an image without any estimate counts as a missed detection
(and is left out of the error means).
Reported errors are in millimetres (3D) and pixels (2D); the wrist depth bias is signed (positive = too far)
and relative to the true depth.

``--pipeline product`` without ``--hand-length-m`` runs twice: with the set's true hand length (the
annotations' wrist -> middle fingertip joint chain, averaged over the whole set, times the model's
chain-to-hand-length factor; ``handmodel.hand_length``) and with the default ``hand_length_m``. Beside them
it prints the shape ceiling: the true root-relative joints placed by DGP on the network's own 2D keypoints,
what a perfect 3D shape would give with these keypoints.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hand_mesh_ros.evaluation import metrics as m
from hand_mesh_ros.evaluation.crop_dataset import HandgraphSample, load_handgraph
from hand_mesh_ros.evaluation.estimators import Estimator, HandEstimate, OracleEstimator
from hand_mesh_ros.evaluation.plots import Curve, save_curves
from hand_mesh_ros.geometry.dgp import locate_hand

CORRECT_HAND_PX = 20.0  # a hand whose mean 2D keypoint error is below this is the right hand, found


@dataclass(frozen=True, eq=False)
class EvalResult:
    """Per-sample results of detected samples (arrays over D detected samples; mm and px)."""

    n_samples: int
    detected: np.ndarray  # (N,) bool
    cam_err_mm: np.ndarray  # (D, 21) camera-space joint errors
    rr_err_mm: np.ndarray  # (D, 21) root-relative joint errors
    pa_err_mm: np.ndarray  # (D, 21) Procrustes-aligned joint errors
    wrist_err_mm: np.ndarray  # (D,)
    depth_err_mm: np.ndarray  # (D,) wrist |z| error
    depth_ratio: np.ndarray  # (D,) signed wrist depth error over the true depth (0.05: 5 % too far)
    err_2d_px: np.ndarray  # (D, 21)
    f5: np.ndarray  # (D,) F-score at 5 mm, PA-aligned joints
    f15: np.ndarray  # (D,)
    ceiling_err_mm: np.ndarray  # (C, 21) true root-relative joints placed on the estimate's landmarks (C <= D)
    ceiling_depth_ratio: np.ndarray  # (C,) their signed wrist depth error over the true depth
    seconds_per_image: float


@dataclass(frozen=True)
class EvalSummary:
    """Headline figures (mm, px, fractions)."""

    n_samples: int
    detection_rate: float
    cam_mpjpe_mean: float
    cam_mpjpe_median: float
    wrist_mean: float
    wrist_median: float
    depth_mean: float
    depth_bias_mean: float  # signed, percent of the true depth
    depth_bias_median: float
    correct_hands: int  # detected with a mean 2D error below CORRECT_HAND_PX
    ceiling_mean: float
    ceiling_median: float
    ceiling_depth_bias: float  # signed, percent
    rr_mpjpe_mean: float
    pa_mpjpe_mean: float
    epe_2d_mean: float
    f5_mean: float
    f15_mean: float
    auc_cam_0_50: float
    auc_pa_0_50: float
    auc_2d_0_30: float
    seconds_per_image: float


def _pick(estimates: Sequence[HandEstimate], gt_px: np.ndarray) -> HandEstimate | None:
    if not estimates:
        return None
    errs = [float(np.nanmean(np.linalg.norm(e.keypoints_px - gt_px, axis=-1))) for e in estimates]
    return estimates[int(np.nanargmin(errs))] if np.any(np.isfinite(errs)) else estimates[0]


def evaluate(samples: Sequence[HandgraphSample], estimator: Estimator, progress: bool = True) -> EvalResult:
    """Run ``estimator`` on every sample and collect errors. Progress goes to stderr."""
    if not samples:
        raise ValueError("no samples to evaluate")
    detected = np.zeros(len(samples), dtype=bool)
    preds, gts, pred_px, gt_px, ceiling = [], [], [], [], []
    t0 = time.perf_counter()
    for i, s in enumerate(samples):
        prepare = getattr(estimator, "prepare", None)
        if callable(prepare):
            prepare(s)
        image = s.load_rgb()
        s.camera.check_image_size(image.shape[1], image.shape[0])
        best = _pick(estimator(image, s.camera), s.joints_2d_px)
        if best is not None and np.all(np.isfinite(best.joints_cam_m)):
            detected[i] = True
            preds.append(best.joints_cam_m)
            gts.append(s.joints_cam_m)
            pred_px.append(best.keypoints_px)
            gt_px.append(s.joints_2d_px)
            if best.landmarks_px is not None:
                rel = s.joints_cam_m - s.joints_cam_m[0]
                placed = rel + locate_hand(s.camera, best.landmarks_px, rel).translation[0]
                ceiling.append((np.linalg.norm(placed - s.joints_cam_m, axis=-1) * 1000.0,
                                placed[0, 2] / s.joints_cam_m[0, 2] - 1.0))
        if progress and ((i + 1) % 20 == 0 or i + 1 == len(samples)):
            print(f"evaluated {i + 1}/{len(samples)} ({100 * (i + 1) / len(samples):.0f}%)", file=sys.stderr)
    spi = (time.perf_counter() - t0) / len(samples)
    if not preds:
        empty = np.zeros((0, 21))
        return EvalResult(len(samples), detected, empty, empty, empty, np.zeros(0), np.zeros(0), np.zeros(0),
                          empty, np.zeros(0), np.zeros(0), empty, np.zeros(0), spi)
    p = np.asarray(preds) * 1000.0
    g = np.asarray(gts) * 1000.0
    pa = m.procrustes_align(p, g)
    return EvalResult(
        n_samples=len(samples),
        detected=detected,
        cam_err_mm=m.point_errors(p, g),
        rr_err_mm=m.point_errors(m.root_relative(p), m.root_relative(g)),
        pa_err_mm=m.point_errors(pa, g),
        wrist_err_mm=m.root_error(p, g),
        depth_err_mm=m.depth_error(p, g),
        depth_ratio=p[:, 0, 2] / g[:, 0, 2] - 1.0,
        err_2d_px=m.point_errors(np.asarray(pred_px), np.asarray(gt_px)),
        f5=m.f_score(pa, g, 5.0),
        f15=m.f_score(pa, g, 15.0),
        ceiling_err_mm=np.asarray([c[0] for c in ceiling]).reshape(-1, 21),
        ceiling_depth_ratio=np.asarray([c[1] for c in ceiling]),
        seconds_per_image=spi,
    )


def summarise(r: EvalResult) -> EvalSummary:
    def mean(a: np.ndarray) -> float:
        return float(np.mean(a)) if a.size else float("nan")

    def median(a: np.ndarray) -> float:
        return float(np.median(a)) if a.size else float("nan")

    cam = r.cam_err_mm.mean(-1) if r.cam_err_mm.size else np.zeros(0)
    ceiling = r.ceiling_err_mm.mean(-1) if r.ceiling_err_mm.size else np.zeros(0)
    # PCK over all samples: joints of missed samples count as failures.
    missed = np.full((int((~r.detected).sum()), 21), np.inf)
    pck_cam = m.pck_curve(np.concatenate([r.cam_err_mm, missed]), m.PCK_3D_MM)
    pck_pa = m.pck_curve(np.concatenate([r.pa_err_mm, missed]), m.PCK_3D_MM)
    pck_2d = m.pck_curve(np.concatenate([r.err_2d_px, missed]), m.PCK_2D_PX)
    return EvalSummary(
        n_samples=r.n_samples,
        detection_rate=float(r.detected.mean()),
        cam_mpjpe_mean=mean(cam),
        cam_mpjpe_median=median(cam),
        wrist_mean=mean(r.wrist_err_mm),
        wrist_median=median(r.wrist_err_mm),
        depth_mean=mean(r.depth_err_mm),
        depth_bias_mean=100.0 * mean(r.depth_ratio),
        depth_bias_median=100.0 * median(r.depth_ratio),
        correct_hands=int((r.err_2d_px.mean(-1) < CORRECT_HAND_PX).sum()) if r.err_2d_px.size else 0,
        ceiling_mean=mean(ceiling),
        ceiling_median=median(ceiling),
        ceiling_depth_bias=100.0 * mean(r.ceiling_depth_ratio),
        rr_mpjpe_mean=mean(r.rr_err_mm),
        pa_mpjpe_mean=mean(r.pa_err_mm),
        epe_2d_mean=mean(r.err_2d_px),
        f5_mean=mean(r.f5),
        f15_mean=mean(r.f15),
        auc_cam_0_50=m.auc(m.PCK_3D_MM, pck_cam),
        auc_pa_0_50=m.auc(m.PCK_3D_MM, pck_pa),
        auc_2d_0_30=m.auc(m.PCK_2D_PX, pck_2d),
        seconds_per_image=r.seconds_per_image,
    )


def format_table(s: EvalSummary) -> str:
    rows = [
        ("samples", f"{s.n_samples}"),
        ("detection rate", f"{100 * s.detection_rate:.1f} %"),
        ("camera-space MPJPE mean / median", f"{s.cam_mpjpe_mean:.2f} / {s.cam_mpjpe_median:.2f} mm"),
        ("wrist error mean / median", f"{s.wrist_mean:.2f} / {s.wrist_median:.2f} mm"),
        ("wrist depth error mean", f"{s.depth_mean:.2f} mm"),
        ("wrist depth bias mean / median", f"{s.depth_bias_mean:+.2f} / {s.depth_bias_median:+.2f} %"),
        (f"correct hands (2D error < {CORRECT_HAND_PX:g} px)", f"{s.correct_hands} of {s.n_samples}"),
        ("root-relative MPJPE", f"{s.rr_mpjpe_mean:.2f} mm"),
        ("PA-MPJPE", f"{s.pa_mpjpe_mean:.2f} mm"),
        ("F@5 / F@15 (PA joints)", f"{s.f5_mean:.3f} / {s.f15_mean:.3f}"),
        ("AUC camera 0-50 mm / PA 0-50 mm", f"{s.auc_cam_0_50:.3f} / {s.auc_pa_0_50:.3f}"),
        ("2D EPE / AUC 0-30 px", f"{s.epe_2d_mean:.2f} px / {s.auc_2d_0_30:.3f}"),
        ("time per image", f"{1000 * s.seconds_per_image:.1f} ms"),
    ]
    if np.isfinite(s.ceiling_mean):
        rows.append(("shape ceiling (true 3D, these 2D) mean / median",
                     f"{s.ceiling_mean:.2f} / {s.ceiling_median:.2f} mm, depth bias {s.ceiling_depth_bias:+.2f} %"))
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"| {k.ljust(w)} | {v} |" for k, v in rows)


def format_comparison(runs: Sequence[tuple[str, EvalSummary]]) -> str:
    """One row per run (and a last row for the shape ceiling of the first run that has one)."""
    head = ("| run | correct hands | CS-MPJPE mean / median | wrist mean | wrist depth bias mean / median "
            "| PA-MPJPE | F@5 / F@15 | 2D EPE |\n|---|---|---|---|---|---|---|---|")
    lines = [head]
    for name, s in runs:
        lines.append(f"| {name} | {s.correct_hands} / {s.n_samples} | {s.cam_mpjpe_mean:.1f} / "
                     f"{s.cam_mpjpe_median:.1f} mm | {s.wrist_mean:.1f} mm | {s.depth_bias_mean:+.1f} / "
                     f"{s.depth_bias_median:+.1f} % | {s.pa_mpjpe_mean:.2f} mm | {s.f5_mean:.3f} / "
                     f"{s.f15_mean:.3f} | {s.epe_2d_mean:.1f} px |")
    ceiling = next((s for _, s in runs if np.isfinite(s.ceiling_mean)), None)
    if ceiling is not None:
        lines.append(f"| shape ceiling: true root-relative 3D on these 2D keypoints | | {ceiling.ceiling_mean:.1f} / "
                     f"{ceiling.ceiling_median:.1f} mm | | {ceiling.ceiling_depth_bias:+.1f} % | | | |")
    return "\n".join(lines)


def write_plots(r: EvalResult, out_dir: Path, label: str) -> list[Path]:
    missed = np.full((int((~r.detected).sum()), 21), np.inf)
    cam = m.pck_curve(np.concatenate([r.cam_err_mm, missed]), m.PCK_3D_MM)
    pa = m.pck_curve(np.concatenate([r.pa_err_mm, missed]), m.PCK_3D_MM)
    rr = m.pck_curve(np.concatenate([r.rr_err_mm, missed]), m.PCK_3D_MM)
    p2 = m.pck_curve(np.concatenate([r.err_2d_px, missed]), m.PCK_2D_PX)
    return [
        save_curves(out_dir / "pck_3d.png", [Curve(f"camera ({label})", m.PCK_3D_MM, cam),
                                             Curve("root-relative", m.PCK_3D_MM, rr),
                                             Curve("PA-aligned", m.PCK_3D_MM, pa)],
                    "3D PCK", "error threshold (mm)"),
        save_curves(out_dir / "pck_2d.png", [Curve(label, m.PCK_2D_PX, p2)], "2D PCK",
                    "error threshold (px)"),
    ]


def load_estimator(spec: str) -> Estimator:
    """``module.path:factory`` -> the estimator returned by calling ``factory()``."""
    if ":" not in spec:
        raise ValueError(f"--estimator must look like 'package.module:factory', got {spec!r}")
    mod_name, attr = spec.split(":", 1)
    factory = getattr(importlib.import_module(mod_name), attr)
    est = factory()
    if not callable(est):
        raise TypeError(f"{spec}() returned {type(est).__name__}, not a callable estimator")
    return est


PIPELINES = ("product", "perception")


def make_pipeline(name: str, hand_length_m: float | None = None) -> Estimator:
    """A built-in real estimator by name (see ``--pipeline``); ``hand_length_m`` None: its default."""
    if name == "product":
        from hand_mesh_ros.evaluation.product_estimator import make_estimator as make_product

        return make_product(hand_length_m=hand_length_m)
    if name == "perception":
        from hand_mesh_ros.evaluation.perception_estimator import make_estimator as make_perception

        return make_perception(hand_length_m=hand_length_m)
    raise ValueError(f"pipeline must be one of {PIPELINES}, got {name!r}")


def true_hand_length(samples: Sequence[HandgraphSample]) -> float:
    """The set's hand length from its annotations only (``handmodel.hand_length.hand_length_from_joints``)."""
    from hand_mesh_ros.handmodel.factory import load_open_hand_data
    from hand_mesh_ros.handmodel.hand_length import hand_length_from_joints

    return hand_length_from_joints(np.stack([s.joints_cam_m for s in samples]), load_open_hand_data("right"))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hand_mesh_ros.evaluation.evaluate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="folder with annotations.json and images/")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--oracle-noise", type=float, metavar="MM",
                     help="self-check: ground truth with this 3D noise (mm) through the DGP path")
    src.add_argument("--estimator", help="module:factory returning an estimator")
    src.add_argument("--pipeline", choices=PIPELINES,
                     help="a built-in real pipeline: product (reconstruction.HandReconstructor, smoothing off, "
                     "reset per image) or perception (world landmarks at the hand length + one DGP solve)")
    ap.add_argument("--hand-length-m", type=float, default=None,
                    help="real pipelines: hand length in metres (product default: the set's true length and "
                    "the configured default, two runs)")
    ap.add_argument("--px-noise", type=float, default=0.0, help="oracle: 2D keypoint noise sd (px)")
    ap.add_argument("--refine", action="store_true",
                    help="oracle: add the Gauss-Newton reprojection refinement")
    ap.add_argument("--limit", type=int, default=None, help="first N samples only (applied before --start)")
    ap.add_argument("--start", type=int, default=0, help="skip the first N samples")
    ap.add_argument("--out", type=Path, default=None, help="folder for PCK plots (PNG) and summary.json")
    args = ap.parse_args(argv)
    if args.start < 0:
        ap.error(f"--start must be >= 0, got {args.start}")
    everything = load_handgraph(args.data)
    samples = everything[: args.limit][args.start:]
    runs: list[tuple[str, EvalResult]] = []
    if args.pipeline:
        lengths: list[tuple[str, float | None]] = [("", args.hand_length_m)]
        if args.pipeline == "product" and args.hand_length_m is None:
            from hand_mesh_ros.handmodel.hand_length import DEFAULT_HAND_LENGTH_M

            true_length = true_hand_length(everything)
            print(f"{args.data.name}: {len(samples)} images; true hand length {true_length:.4f} m (from the "
                  f"annotations of all {len(everything)}), default {DEFAULT_HAND_LENGTH_M:.3f} m")
            lengths = [(f"true hand length {true_length:.3f} m", true_length),
                       (f"default hand length {DEFAULT_HAND_LENGTH_M:.3f} m", DEFAULT_HAND_LENGTH_M)]
        for name, length in lengths:
            runs.append((name or args.pipeline, evaluate(samples, make_pipeline(args.pipeline, length))))
    elif args.estimator:
        runs.append((args.estimator.rsplit(":", 1)[-1], evaluate(samples, load_estimator(args.estimator))))
    else:
        est = OracleEstimator(args.oracle_noise, args.px_noise, refine=args.refine)
        runs.append((f"oracle {args.oracle_noise:g} mm", evaluate(samples, est)))
    summaries = [(name, summarise(r)) for name, r in runs]
    for name, summary in summaries:
        print(f"\n{name}:\n{format_table(summary)}")
    if len(summaries) > 1:
        print("\n" + format_comparison(summaries))
    if args.out is not None:
        label, first = runs[0]
        paths = write_plots(first, args.out, label)
        payload = asdict(summaries[0][1]) if len(summaries) == 1 else {n: asdict(s) for n, s in summaries}
        (args.out / "summary.json").write_text(json.dumps(payload, indent=2))
        print("wrote " + ", ".join(str(p) for p in paths) + f", {args.out / 'summary.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
