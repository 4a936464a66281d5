"""Hand pose metrics, batched numpy. Errors come out in the units of the inputs (pass millimetres for mm).

Shapes: 3D points (B, N, 3), 2D points (B, N, 2); per-sample results (B,), per-point results (B, N).
Camera-space metrics compare points as given; root-relative ones subtract joint ``root`` (the wrist);
Procrustes-aligned (PA) ones first fit a similarity transform (rotation, translation, scale) of each
prediction onto its ground truth.
"""

from __future__ import annotations

import numpy as np

from ..handmodel.rotations import kabsch


def _pair(pred: np.ndarray, gt: np.ndarray, dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    if p.ndim == 2:
        p, g = p[None], g[None]
    if p.shape != g.shape or p.ndim != 3:
        raise ValueError(f"pred and gt must both be (B, N, D) (or (N, D)), "
                         f"got {np.shape(pred)} and {np.shape(gt)}")
    if dim is not None and p.shape[-1] != dim:
        raise ValueError(f"expected points of dimension {dim}, got {p.shape[-1]}")
    return p, g


def point_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean error per point (B, N)."""
    p, g = _pair(pred, gt)
    return np.linalg.norm(p - g, axis=-1)


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean per-joint position error per sample (B,), camera space (no alignment)."""
    return point_errors(pred, gt).mean(-1)


def root_relative(points: np.ndarray, root: int = 0) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    return p - p[..., root : root + 1, :]


def rr_mpjpe(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> np.ndarray:
    """Root-relative MPJPE (B,): both sets translated so joint ``root`` is at the origin."""
    p, g = _pair(pred, gt, 3)
    return mpjpe(root_relative(p, root), root_relative(g, root))


def procrustes_align(pred: np.ndarray, gt: np.ndarray, scale: bool = True) -> np.ndarray:
    """Similarity-align each prediction to its ground truth (Umeyama least squares), returns (B, N, 3)."""
    p, g = _pair(pred, gt, 3)
    r, mp, mg = kabsch(p, g)  # rotation taking the centred prediction onto the centred truth
    rp = np.einsum("bij,bnj->bni", r, p - mp[:, None])
    var_p = (rp ** 2).sum((1, 2))
    if scale:  # the least-squares scale given the rotation (Umeyama)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(var_p > 0, (rp * (g - mg[:, None])).sum((1, 2)) / var_p, 1.0)
    else:
        c = np.ones(len(p))
    return c[:, None, None] * rp + mg[:, None]


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Procrustes-aligned (with scale) MPJPE per sample (B,)."""
    return mpjpe(procrustes_align(pred, gt), gt)


def mpvpe(pred_vertices: np.ndarray, gt_vertices: np.ndarray) -> np.ndarray:
    """Mean per-vertex error (B,), camera space; meshes must share a topology (same vertex order)."""
    return mpjpe(pred_vertices, gt_vertices)


def pa_mpvpe(pred_vertices: np.ndarray, gt_vertices: np.ndarray) -> np.ndarray:
    """Procrustes-aligned mean per-vertex error (B,)."""
    return pa_mpjpe(pred_vertices, gt_vertices)


def root_error(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> np.ndarray:
    """Camera-space error of the root joint (B,)."""
    p, g = _pair(pred, gt, 3)
    return np.linalg.norm(p[:, root] - g[:, root], axis=-1)


def depth_error(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> np.ndarray:
    """Absolute depth (z) error of the root joint (B,)."""
    p, g = _pair(pred, gt, 3)
    return np.abs(p[:, root, 2] - g[:, root, 2])


def epe_2d(pred_px: np.ndarray, gt_px: np.ndarray) -> np.ndarray:
    """Mean 2D end-point error per sample (B,), pixels."""
    p, g = _pair(pred_px, gt_px, 2)
    return point_errors(p, g).mean(-1)


def f_score(pred: np.ndarray, gt: np.ndarray, threshold: float) -> np.ndarray:
    """F-score (B,) at ``threshold`` between two point sets per sample (FreiHAND definition).

    Precision: share of predicted points whose nearest ground-truth point is within the threshold; recall: the
    converse; F = 2PR / (P + R). Align first (e.g. :func:`procrustes_align`) if the protocol asks for it.
    Point sets may differ in size: pred (B, N, 3), gt (B, M, 3).
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    if p.ndim == 2:
        p, g = p[None], g[None]
    if p.ndim != 3 or g.ndim != 3 or p.shape[0] != g.shape[0] or p.shape[-1] != g.shape[-1]:
        raise ValueError(f"pred (B, N, D) and gt (B, M, D) expected, got {np.shape(pred)} and {np.shape(gt)}")
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    d = np.linalg.norm(p[:, :, None, :] - g[:, None, :, :], axis=-1)  # (B, N, M)
    precision = (d.min(2) < threshold).mean(1)
    recall = (d.min(1) < threshold).mean(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return f


def pck_curve(errors: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Share of errors (any shape) at or below each threshold (T,). NaN errors count as failures."""
    e = np.asarray(errors, dtype=np.float64).reshape(-1)
    t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if e.size == 0:
        raise ValueError("no errors given")
    e = np.where(np.isfinite(e), e, np.inf)
    return (e[None, :] <= t[:, None]).mean(1)


def auc(thresholds: np.ndarray, pck: np.ndarray) -> float:
    """Area under a PCK curve normalised by the threshold range (trapezoids), in [0, 1]."""
    t = np.asarray(thresholds, dtype=np.float64)
    y = np.asarray(pck, dtype=np.float64)
    if t.shape != y.shape or t.size < 2:
        raise ValueError("thresholds and pck must be matching 1D arrays of at least 2 values")
    span = t[-1] - t[0]
    if span <= 0:
        raise ValueError("thresholds must increase")
    return float(np.sum((y[1:] + y[:-1]) * np.diff(t)) / 2.0 / span)


PCK_3D_MM = np.linspace(0.0, 50.0, 51)
PCK_2D_PX = np.linspace(0.0, 30.0, 31)
