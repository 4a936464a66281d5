"""Confidence of one fitted hand (DaHyF-style shape agreement combined with the detector's scores).

The fitted 3D hand, projected into the image, should have the same 2D *shape* as the detected keypoints.
Both 21x2 point sets (pixels) are centred on their centroid, divided by their norm and flattened; the cosine
of the two vectors is 1 for identical shapes and drops when the fit disagrees with the detection (wrong crop,
another hand's pose, scrambled joints). The cosine is mapped to [0, 1] linearly from ``cosine_floor`` (-> 0)
to 1 (-> 1) and combined with the palm detector score and the landmark network's presence score by a geometric
mean, so any one of them near zero makes the hand unconfident.

Per joint: ``exp(-0.5 (e / (sigma_rel * s))^2)`` with ``e`` the reprojection error (px) of the joint and ``s``
the hand's RMS 2D spread (px), so the scale is independent of the distance to the camera.
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
