"""Confidence of one fitted hand (DaHyF-style shape agreement combined with the detector's scores).

The fitted 3D hand, projected into the image, should have the same 2D *shape* as the detected keypoints.
Both 21x2 point sets (pixels) are centred on their centroid, divided by their norm and flattened; the cosine
of the two vectors is 1 for identical shapes and drops when the fit disagrees with the detection (wrong crop,
another hand's pose, scrambled joints). The cosine is mapped to [0, 1] linearly from ``cosine_floor`` (-> 0)
to 1 (-> 1) and combined with the palm detector score and the landmark network's presence score by a geometric
mean, so any one of them near zero makes the hand unconfident.

Per joint: ``exp(-0.5 (e / (sigma_rel * s))^2)`` with ``e`` the reprojection error (px) of the joint and ``s``
the hand's RMS 2D spread (px), so the scale is independent of the distance to the camera. A joint the landmark
network placed outside the image, or outside the square region it looked at, was guessed rather than seen:
:func:`visibility` multiplies its confidence by the same Gaussian of how far outside it lies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_COSINE_FLOOR = 0.8
DEFAULT_JOINT_SIGMA_REL = 0.1
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, eq=False)
class HandConfidence:
    """Confidence of one hand. All scores in [0, 1] except ``shape_cosine`` in [-1, 1]."""

    score: float
    shape_cosine: float
    shape_score: float
    per_joint: np.ndarray  # (J,)
    detector_score: float
    presence_score: float

    def is_confident(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        return bool(self.score >= threshold)


def _as_2d(points: np.ndarray, name: str) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (..., J, 2), got {p.shape}")
    return p


def normalised_shape(points_px: np.ndarray) -> np.ndarray:
    """Centre (..., J, 2) points on their centroid, scale to unit Frobenius norm, flatten to (..., 2J)."""
    p = _as_2d(points_px, "points")
    c = p - p.mean(-2, keepdims=True)
    flat = c.reshape((*c.shape[:-2], -1))
    n = np.linalg.norm(flat, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1e-12, flat / n, np.nan)


def shape_cosine(detected_px: np.ndarray, projected_px: np.ndarray) -> np.ndarray:
    """Cosine similarity (...,) of the normalised shapes of two (..., J, 2) point sets; NaN if degenerate."""
    a = _as_2d(detected_px, "detected_px")
    b = _as_2d(projected_px, "projected_px")
    if a.shape != b.shape:
        raise ValueError(f"detected and projected keypoints differ in shape: {a.shape} vs {b.shape}")
    return (normalised_shape(a) * normalised_shape(b)).sum(-1)


def per_joint_confidence(detected_px: np.ndarray, projected_px: np.ndarray,
                         sigma_rel: float = DEFAULT_JOINT_SIGMA_REL) -> np.ndarray:
    """Per-joint confidence (..., J) in [0, 1] from the reprojection error relative to the 2D hand spread."""
    a = _as_2d(detected_px, "detected_px")
    b = _as_2d(projected_px, "projected_px")
    if a.shape != b.shape:
        raise ValueError(f"detected and projected keypoints differ in shape: {a.shape} vs {b.shape}")
    if sigma_rel <= 0:
        raise ValueError(f"sigma_rel must be positive, got {sigma_rel}")
    spread = np.sqrt(((a - a.mean(-2, keepdims=True)) ** 2).sum(-1).mean(-1, keepdims=True))
    err = np.linalg.norm(a - b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = err / (sigma_rel * spread)
    out = np.exp(-0.5 * z * z)
    return np.where(np.isfinite(out), out, 0.0)


def outside_distance(points_px: np.ndarray, width: int, height: int,
                     region: tuple[float, float, float, float, float] | None = None) -> np.ndarray:
    """How far (px) each of (J, 2) points lies outside the image (pixel centres 0 .. width-1, 0 .. height-1)
    or outside ``region`` (cx, cy, w, h, angle: a rectangle turned clockwise by angle rad on screen), whichever
    is further; 0 inside both. (J,)."""
    p = _as_2d(points_px, "points_px")
    lo, hi = np.array([-0.5, -0.5]), np.array([width - 0.5, height - 0.5])
    d = np.linalg.norm(np.maximum(np.maximum(lo - p, p - hi), 0.0), axis=-1)
    if region is not None:
        cx, cy, w, h, angle = region
        c, s_ = np.cos(angle), np.sin(angle)
        rel = p - np.array([cx, cy])
        local = np.stack([c * rel[..., 0] + s_ * rel[..., 1], -s_ * rel[..., 0] + c * rel[..., 1]], axis=-1)
        half = np.array([w, h]) / 2.0
        d = np.maximum(d, np.linalg.norm(np.maximum(np.abs(local) - half, 0.0), axis=-1))
    return d


def visibility(points_px: np.ndarray, width: int, height: int,
               region: tuple[float, float, float, float, float] | None = None,
               sigma_rel: float = DEFAULT_JOINT_SIGMA_REL) -> np.ndarray:
    """(J,) in (0, 1]: 1 for points inside the image and the region, falling as ``exp(-0.5 (d / (sigma_rel *
    s))^2)`` with ``d`` the distance outside (:func:`outside_distance`) and ``s`` the points' RMS spread (px)."""
    p = _as_2d(points_px, "points_px")
    spread = float(np.sqrt(((p - p.mean(0)) ** 2).sum(-1).mean()))
    d = outside_distance(p, width, height, region)
    if not spread > 0:
        return np.where(d > 0, 0.0, 1.0)
    z = d / (sigma_rel * spread)
    return np.exp(-0.5 * z * z)


def hand_confidence(detected_px: np.ndarray, projected_px: np.ndarray, detector_score: float = 1.0,
                    presence_score: float = 1.0, cosine_floor: float = DEFAULT_COSINE_FLOOR,
                    sigma_rel: float = DEFAULT_JOINT_SIGMA_REL) -> HandConfidence:
    """Confidence of one hand from its detected keypoints (J, 2) px and the projection (J, 2) of its fit."""
    a = _as_2d(detected_px, "detected_px")
    if a.ndim != 2:
        raise ValueError(f"hand_confidence takes one hand (J, 2), got {a.shape}")
    for name, s in (("detector_score", detector_score), ("presence_score", presence_score)):
        if not np.isfinite(s) or s < 0 or s > 1:
            raise ValueError(f"{name} must be in [0, 1], got {s}")
    if not -1.0 <= cosine_floor < 1.0:
        raise ValueError(f"cosine_floor must be in [-1, 1), got {cosine_floor}")
    cos = float(shape_cosine(a, projected_px))
    shape = float(np.clip((cos - cosine_floor) / (1.0 - cosine_floor), 0.0, 1.0)) if np.isfinite(cos) else 0.0
    score = float((shape * detector_score * presence_score) ** (1.0 / 3.0))
    joints = per_joint_confidence(a, projected_px, sigma_rel)
    return HandConfidence(score, cos, shape, joints, float(detector_score), float(presence_score))
