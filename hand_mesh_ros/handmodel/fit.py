"""Fit the hand model to 21 metric 3D keypoints (batched, numpy float64, analytic Jacobian).

Used to start the camera-space fit of a new hand (fitted to MediaPipe's 2.5D landmarks) and to refit the
temporally filtered joints so mesh and joints agree. Per call (B hands at once):
  1. closed-form start (skipped when warm-started): weighted Kabsch of the palm keypoints (wrist and the
     four finger MCPs) gives the global rotation and translation, then level by level along the five chains
     each joint gets the smallest rotation (swing) that points its child keypoint at the target;
  2. ``iterations`` damped Gauss-Newton (Levenberg-Marquardt) steps on all 16 joint rotations, the
     translation and optionally the shape, with soft joint limits and a weak pose prior (``limits.PosePrior``).
Rotations are updated multiplicatively (R_j <- R_j exp(delta_j)); the keypoint Jacobian is
``kinematics.keypoint_jacobian_t``. Inputs and outputs are in the caller's frame (e.g. the camera optical
frame), metres.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .constants import NUM_KEYPOINTS
from .kinematics import (
    CARRIER_LEVEL,
    INTERNAL_TO_MP,
    MP_TO_INTERNAL,
    Rest,
    forward,
    keypoint_jacobian_t,
)
from .limits import PosePrior
from .model import HandBatch, HandModel
from .rotations import axis_angle_to_matrix, kabsch, matrix_to_axis_angle, rotation_between

PALM_KEYPOINTS = (0, 5, 9, 13, 17)  # MediaPipe order
_PALM_INTERNAL = np.array([0, 1, 5, 13, 9])  # the same keypoints in the internal order
_BAD_INPUT = (
    "targets must be finite, weights finite and >= 0, and each hand needs a positive weight on at "
    "least 3 of the palm keypoints 0, 5, 9, 13, 17"
)
_sum = np.add.reduce


@dataclass(frozen=True)
class FitResult:
    """Batched fit result (numpy float64).

    rot_local: (B, 16, 3, 3) local joint rotations (MANO order); pose: (B, 16, 3) the same as axis-angle
    (radians, root first = global orientation); betas: (B, S); transl: (B, 3) metres; keypoints: (B, 21, 3)
    fitted keypoints (MediaPipe order), metres; residual: (B,) weighted mean keypoint distance, metres.
    """

    rot_local: np.ndarray
    pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    keypoints: np.ndarray
    residual: np.ndarray

    def select(self, index: np.ndarray | list[int]) -> FitResult:
        """The fits of a subset of the batch (e.g. to warm-start the hands that are still tracked)."""
        return FitResult(*(getattr(self, f.name)[index] for f in fields(self)))


class _ShapeTerms:
    """What a shape-fitting step needs: shape derivatives of joints and keypoints, current betas."""

    def __init__(self, model: HandModel, betas: np.ndarray, prior_w2: float) -> None:
        j_dirs, kp_dirs = model.j_shapedirs, model.kp_shapedirs[INTERNAL_TO_MP]
        s = j_dirs.shape[2]
        self.dj0 = j_dirs[0]  # (3, S)
        self.djf = j_dirs[1:].reshape(5, 3, 3, s)
        parents = np.concatenate([np.broadcast_to(self.dj0, (5, 1, 3, s)), self.djf[:, :2]], axis=1)
        self.doff = self.djf - parents  # (5, 3, 3, S)
        self.dkw = kp_dirs[0] - self.dj0  # wrist keypoint relative to the wrist joint
        self.dkf = kp_dirs[1:].reshape(5, 4, 3, s) - self.djf[:, CARRIER_LEVEL]
        self.betas = betas
        self.prior_w2 = prior_w2

    def jacobian(self, a: np.ndarray) -> np.ndarray:
        """(B, 21, 3, S) d keypoints (internal order) / d betas at fixed global rotations ``a`` (B, 16, 3, 3)."""
        b = a.shape[0]
        s = self.dj0.shape[1]
        a0 = a[:, 0]
        af = a[:, 1:].reshape(b, 5, 3, 3, 3)
        a_par = np.concatenate([np.broadcast_to(a0[:, None, None], (b, 5, 1, 3, 3)), af[:, :, :2]], axis=2)
        d = self.dj0 + np.cumsum(a_par @ self.doff, axis=2)  # (B, 5, 3, 3, S): d joint position / d betas
        out = np.empty((b, 21, 3, s))
        out[:, 0] = self.dj0 + a0 @ self.dkw
        out[:, 1:] = (d[:, :, CARRIER_LEVEL] + af[:, :, CARRIER_LEVEL] @ self.dkf).reshape(b, 20, 3, s)
        return out


class HandFitter:
    """Keypoint fitter for one :class:`HandModel` (one side).

    Args:
        model: the hand model.
        iterations: Levenberg-Marquardt iterations after the start.
        keypoint_sigma: expected keypoint noise (metres); residuals are divided by it.
        limit_sigma: softness of the joint limits (radians of violation per unit cost).
        shape_sigma: standard deviation of the zero-mean shape prior (shape units).
        damping: LM damping added to the normal equations (normalised units), plus 1e-3 x their diagonal.
        reinit_residual: metres; a warm-started fit with a larger weighted mean residual is redone from the
            closed-form start (None disables the fallback).
    """

    def __init__(
        self,
        model: HandModel,
        iterations: int = 2,
        keypoint_sigma: float = 0.005,
        limit_sigma: float = 0.02,
        shape_sigma: float = 1.5,
        damping: float = 0.1,
        reinit_residual: float | None = 0.015,
    ) -> None:
        if not isinstance(model, HandModel):
            raise TypeError(f"model must be a HandModel, got {type(model).__name__}")
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        if keypoint_sigma <= 0 or limit_sigma <= 0 or shape_sigma <= 0 or damping < 0:
            raise ValueError("sigmas must be > 0 and damping >= 0")
        self.model = model
        self.iterations = iterations
        self.inv_sigma = 1.0 / keypoint_sigma
        self.shape_w2 = 1.0 / shape_sigma**2
        self.damping = damping
        self.reinit_residual = reinit_residual
        self.prior = PosePrior(model.bone_frames, limit_sigma)
        self._rest_cache: tuple[tuple[tuple[int, ...], bytes], Rest] | None = None

    # ---- inputs -------------------------------------------------------------------------------------------
    @staticmethod
    def _inputs(targets: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Validated targets and weights (all 1 when None) in the internal keypoint order, float64."""
        if not isinstance(targets, np.ndarray):
            raise TypeError(f"targets must be a numpy array, got {type(targets).__name__}")
        x = targets[None] if targets.ndim == 2 else targets
        if x.ndim != 3 or x.shape[1:] != (NUM_KEYPOINTS, 3):
            raise ValueError(f"targets must have shape (B, 21, 3) or (21, 3), got {x.shape}")
        x = np.asarray(x[:, INTERNAL_TO_MP], dtype=np.float64)
        if weights is None:
            w = np.ones(x.shape[:2])
        else:
            if not isinstance(weights, np.ndarray):
                raise TypeError(f"weights must be a numpy array, got {type(weights).__name__}")
            w = weights[None] if weights.ndim == 1 else weights
            if w.shape != x.shape[:2]:
                raise ValueError(f"weights must have shape {x.shape[:2]}, got {w.shape}")
            w = np.asarray(w[:, INTERNAL_TO_MP], dtype=np.float64)
        # a NaN or inf anywhere makes the sum non-finite (cheaper than isfinite().all() on tiny arrays)
        if (not np.isfinite(_sum(x, None) + _sum(w, None)) or w.min() < 0
                or (_sum(w[:, _PALM_INTERNAL] > 0, 1) < 3).any()):
            raise ValueError(_BAD_INPUT)
        return x, w

    def _rest(self, betas: np.ndarray) -> Rest:
        """Kinematic rest quantities for shape ``betas`` (B, S); the last one is cached (tracking keeps it)."""
        key = (betas.shape, betas.tobytes())
        if self._rest_cache is not None and self._rest_cache[0] == key:
            return self._rest_cache[1]
        rest = self.model.rest_kinematics(betas)
        self._rest_cache = (key, rest)
        return rest

    # ---- closed-form start --------------------------------------------------------------------------------
    @staticmethod
    def initialise(x: np.ndarray, w: np.ndarray, rest: Rest) -> tuple[np.ndarray, np.ndarray]:
        """Kabsch on the palm, then per-bone swings; ``x``, ``w`` in the internal keypoint order.

        Returns local rotations (B, 16, 3, 3) and the translation (B, 3).
        """
        b = x.shape[0]
        rot = np.empty((b, 16, 3, 3))
        r0, pc, qc = kabsch(rest.palm, x[:, _PALM_INTERNAL], w[:, _PALM_INTERNAL])
        rot[:, 0] = r0
        o0 = qc - (r0 @ pc[..., None])[..., 0]
        transl = o0 - rest.j0
        # swings, level by level along the chains: each joint gets the smallest rotation that points its child
        # keypoint (finger keypoint level + 1), seen from the joint's predicted position, at the target
        rots = rot[:, 1:].reshape(b, 5, 3, 3, 3)  # a view
        a_par = r0[:, None]
        o = o0[:, None]
        xf = x[:, 1:].reshape(b, 5, 4, 3)
        for level in range(3):
            moved = a_par @ rest.swing_vecs[:, :, level]  # (B, 5, 3, 2): joint offset, child keypoint
            o = o + moved[..., 0]
            a_j = rotation_between(moved[..., 1], xf[:, :, level + 1] - o) @ a_par
            np.matmul(a_par.transpose(0, 1, 3, 2), a_j, out=rots[:, :, level])
            a_par = a_j
        return rot, transl

    # ---- main entry ---------------------------------------------------------------------------------------
    def fit(
        self,
        targets: np.ndarray,
        weights: np.ndarray | None = None,
        init: FitResult | None = None,
        betas: np.ndarray | None = None,
        fit_shape: bool = False,
    ) -> FitResult:
        """Fit B hands.

        Args:
            targets: (B, 21, 3) or (21, 3) keypoints, MediaPipe order, metres.
            weights: (B, 21) or (21,) per-keypoint confidence >= 0 (default all 1); zero ignores a keypoint.
            init: previous result of the same tracks (warm start: skips the closed-form start).
            betas: (B, S) fixed shape (default: ``init.betas`` or zeros); the starting point when fit_shape.
            fit_shape: also estimate the shape; otherwise the shape stays fixed.

        A warm-started hand whose residual stays above ``reinit_residual`` (the track jumped) is fitted
        again from the closed-form start, and the better of the two results is kept.
        """
        x, w = self._inputs(targets, weights)
        result = self._fit_once(x, w, init, betas, fit_shape)
        if init is None or self.reinit_residual is None or result.residual.max() <= self.reinit_residual:
            return result
        bad = np.nonzero(result.residual > self.reinit_residual)[0]
        cold = self._fit_once(x[bad], w[bad], None, result.betas[bad], fit_shape)
        better = cold.residual < result.residual[bad]
        if not better.any():
            return result
        merged = {f.name: getattr(result, f.name).copy() for f in fields(result)}
        for name, value in merged.items():
            value[bad[better]] = getattr(cold, name)[better]
        return FitResult(**merged)

    def _fit_once(self, x: np.ndarray, w: np.ndarray, init: FitResult | None, betas: np.ndarray | None,
                  fit_shape: bool) -> FitResult:
        """One fit (warm or cold) without the re-initialisation fallback; ``x``, ``w`` internal order."""
        b = x.shape[0]
        s = self.model.num_shape
        if betas is not None:
            bt = np.asarray(betas, dtype=np.float64)
            bt = bt[None] if bt.ndim == 1 else bt
            if bt.shape != (b, s):
                raise ValueError(f"betas must have shape ({b}, {s}), got {bt.shape}")
        elif init is not None:
            bt = init.betas
        else:
            bt = np.zeros((b, s))
        rest = self._rest(bt)
        if init is not None:
            if not isinstance(init, FitResult) or init.rot_local.shape[0] != b:
                raise ValueError(f"init must be a FitResult with batch {b}")
            rot, transl = np.ascontiguousarray(init.rot_local, dtype=np.float64), init.transl
        else:
            rot, transl = self.initialise(x, w, rest)
        sw = np.sqrt(w) * self.inv_sigma  # (B, 21)
        sw63 = np.concatenate((sw, sw, sw), axis=1)[:, None]  # against the Jacobian's coordinate-major columns
        xt = np.ascontiguousarray(x.transpose(0, 2, 1))
        for _ in range(self.iterations):
            shape = _ShapeTerms(self.model, bt, self.shape_w2) if fit_shape else None
            rot, transl, new_bt = self._lm_step(xt, sw, sw63, rot, transl, rest, shape)
            if new_bt is not None:
                bt = new_bt
                rest = self._rest(bt)
        kp = forward(rot, transl, rest)[2]
        err = np.sqrt(_sum((kp - x) ** 2, -1))
        residual = _sum(err * w, 1) / _sum(w, 1)
        return FitResult(rot, matrix_to_axis_angle(rot), bt, np.asarray(transl, dtype=np.float64),
                         kp[:, MP_TO_INTERNAL], residual)

    def _lm_step(self, xt: np.ndarray, sw: np.ndarray, sw63: np.ndarray, rot: np.ndarray, transl: np.ndarray,
                 rest: Rest, shape: _ShapeTerms | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """One damped Gauss-Newton step; also updates the shape (last output) when ``shape`` is given.

        ``xt``: (B, 3, 21) targets, transposed; ``sw``: (B, 21) keypoint weights / sigma. Parameters: 16 joint
        rotations (48, MANO order), translation (3), then the shape.
        """
        b = xt.shape[0]
        p = 51 if shape is None else 51 + shape.betas.shape[1]
        a, o, kp = forward(rot, transl, rest)
        jt = np.empty((b, p, 63))
        jt[:, :51] = keypoint_jacobian_t(a, o, kp) * sw63
        if shape is not None:
            jt[:, 51:] = shape.jacobian(a).transpose(0, 3, 2, 1).reshape(b, p - 51, 63) * sw63
        kpt = kp.transpose(0, 2, 1)
        hess = jt @ jt.transpose(0, 2, 1)
        grad = (jt @ ((kpt - xt) * sw[:, None]).reshape(b, 63, 1))[..., 0]  # (B, P)
        self.prior.add_normal_equations(rot, hess, grad)
        diag = hess.reshape(b, p * p)[:, :: p + 1]  # a view of the diagonals
        if shape is not None:
            diag[:, 51:] += shape.prior_w2
            grad[:, 51:] += shape.prior_w2 * shape.betas
        diag *= 1.0 + 1e-3
        diag += self.damping
        step = np.linalg.solve(hess, grad[..., None])[..., 0]  # minus the step
        rot = rot @ axis_angle_to_matrix(-step[:, :48].reshape(b, 16, 3))
        betas = None if shape is None else shape.betas - step[:, 51:]
        return rot, transl - step[:, 48:51], betas

    def to_batch(self, result: FitResult, with_vertices: bool = True) -> HandBatch:
        """Forward pass of a fit result (vertices etc.), ready for ``HandModel.outputs``."""
        return self.model.forward_rotations(result.rot_local, result.betas, result.transl, with_vertices,
                                            pose=result.pose)
