"""What MediaPipe's depth cues say about a hand's 3D shape, and how wrong they usually are.

The landmark network gives two 3D shapes besides the 2D keypoints, both root-relative, image-aligned and
flatter than the real hand: ``landmarks_25d`` (x, y in pixels and a relative depth z "on the scale of x") and
``world`` (metres, "real-world" landmarks). Neither is used as the hand's shape (their proportions are not a
real hand's); the camera-space fit uses them as a prior on the **orientation** of the hand and on the
**directions** of its 20 bones, each expressed in the hand's own frame:

* the cue's hand frame: the rotation taking the model's rest palm (wrist and the four finger MCPs) onto the
  cue's palm (least squares, Kabsch);
* per bone: the unit direction (parent -> child keypoint) in that frame.

The residual of a posed model against a cue is the 63-vector ``[log(R_cue^T R_model) (3); d_model - d_cue
(20 x 3)]``, and the prior is its Mahalanobis norm under the mean and covariance measured on synthetic
renders (``CueStatistics``, made by ``tools/measure_cue_statistics.py``). The covariance carries the strong
correlations of these errors (a whole hand seen too flat, all fingers curled too little), which independent
per-bone weights would count twenty times over. A cue's depth is divided by its measured ``gain`` first
(MediaPipe's relative depths are about 15 % (2.5D) and 25 % (world) too small on those renders).

Left hands: residuals are mirrored into the right hand's convention before the statistics apply
(:func:`mirror_signs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .rotations import kabsch

CUES = ("landmarks_25d", "world")
PALM = (0, 5, 9, 13, 17)  # wrist and the four finger MCPs (MediaPipe order)
BONES = tuple((p, c) for p, c in ((0, 1), (1, 2), (2, 3), (3, 4)))  # thumb
BONES += tuple((0 if k == 0 else b + k - 1, b + k) for b in (5, 9, 13, 17) for k in range(4))
RESIDUAL_SIZE = 3 + 3 * len(BONES)  # 63
STATISTICS_FILE = Path(__file__).with_name("cue_statistics.json")


def cue_shape(cue: str, landmarks_25d: np.ndarray, world_m: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """(B, 21, 3) root-relative shape of ``cue`` (image-aligned axes, arbitrary scale), depth divided by ``gain``."""
    if cue not in CUES:
        raise ValueError(f"cue must be one of {CUES}, got {cue!r}")
    src = np.asarray(landmarks_25d if cue == "landmarks_25d" else world_m, dtype=np.float64)
    shape = src - src[..., :1, :]
    if gain != 1.0:
        shape = shape * np.array([1.0, 1.0, 1.0 / gain])
    return shape


def bone_directions(points: np.ndarray) -> np.ndarray:
    """(..., 20, 3) unit directions of the :data:`BONES` of keypoints (..., 21, 3)."""
    p = np.asarray(points, dtype=np.float64)
    v = p[..., [c for _, c in BONES], :] - p[..., [q for q, _ in BONES], :]
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def hand_frame(rest_palm: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """(B, 3, 3) rotation from the model's canonical frame onto ``shape``'s palm (``rest_palm`` (5, 3))."""
    return kabsch(rest_palm, shape[..., PALM, :])[0]


def mirror_signs(side: str) -> np.ndarray:
    """(63,) signs taking a residual of a ``side`` hand into the right hand's convention (canonical x mirrored:
    rotation vectors keep x and flip y, z; directions flip x)."""
    if side == "right":
        return np.ones(RESIDUAL_SIZE)
    if side == "left":
        return np.concatenate([[1.0, -1.0, -1.0], np.tile([-1.0, 1.0, 1.0], len(BONES))])
    raise ValueError(f"side must be 'right' or 'left', got {side!r}")


@dataclass(frozen=True, eq=False)
class CueModel:
    """Error statistics of one cue: ``gain`` (its relative depth over the true one), ``mean`` (63,) and
    ``covariance`` (63, 63) of the residual in the right hand's convention; ``whitening`` W with
    W cov W^T = I."""

    gain: float
    mean: np.ndarray
    covariance: np.ndarray
    whitening: np.ndarray


@dataclass(frozen=True, eq=False)
class CueStatistics:
    """Measured noise of MediaPipe's outputs against the hand model (``cue_statistics.json``).

    ``keypoint_sigma`` (21,): standard deviation per image coordinate of each 2D keypoint, in units of the
    hand length seen at the wrist's depth; ``cues``: a :class:`CueModel` per entry of :data:`CUES`;
    ``source``: how they were measured.
    """

    keypoint_sigma: np.ndarray
    cues: dict[str, CueModel]
    source: str

    @classmethod
    def from_json(cls, text: str) -> CueStatistics:
        raw = json.loads(text)
        sigma = np.asarray(raw["keypoint_sigma"], dtype=np.float64)
        if sigma.shape != (21,) or not np.all(sigma > 0):
            raise ValueError("keypoint_sigma must be 21 positive numbers")
        cues = {}
        for name in CUES:
            c = raw["cues"][name]
            cov = np.asarray(c["covariance"], dtype=np.float64)
            mean = np.asarray(c["mean"], dtype=np.float64)
            if cov.shape != (RESIDUAL_SIZE, RESIDUAL_SIZE) or mean.shape != (RESIDUAL_SIZE,):
                raise ValueError(f"cue {name}: mean must be ({RESIDUAL_SIZE},) and covariance square")
            whitening = np.linalg.inv(np.linalg.cholesky(0.5 * (cov + cov.T)))
            cues[name] = CueModel(float(c["gain"]), mean, cov, whitening)
        return cls(sigma, cues, str(raw.get("source", "")))

    def to_json(self) -> str:
        def r(a: np.ndarray) -> list:
            return np.round(np.asarray(a, dtype=np.float64), 6).tolist()

        return json.dumps({"source": self.source, "keypoint_sigma": r(self.keypoint_sigma),
                           "cues": {n: {"gain": round(c.gain, 4), "mean": r(c.mean), "covariance": r(c.covariance)}
                                    for n, c in self.cues.items()}})


@cache
def load_cue_statistics(path: Path = STATISTICS_FILE) -> CueStatistics:
    """The statistics shipped with the package (or another file in the same format)."""
    return CueStatistics.from_json(Path(path).read_text())
