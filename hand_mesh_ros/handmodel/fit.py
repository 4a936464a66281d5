"""Fit the hand model to 21 metric 3D keypoints (batched, torch, analytic Jacobian).

Pipeline per call (B hands at once):
  1. closed-form start (skipped when warm-started): weighted Kabsch of the palm keypoints (wrist and the
     four finger MCPs) gives the global rotation and translation, then level by level along the five chains
     each joint gets the smallest rotation (swing) that points its child keypoint at the target;
  2. ``iterations`` damped Gauss-Newton (Levenberg-Marquardt) steps on all 16 joint rotations, the
     translation and optionally the shape, with soft joint limits and a weak pose prior (see ``limits``).
Rotations are updated multiplicatively (R_j <- R_j exp(delta_j)); the keypoint Jacobian is analytic:
d kp / d delta_j = (A_j e_c) x (kp - o_j) for every joint j that carries kp or is an ancestor of its carrier.
Inputs and outputs are in the caller's frame (e.g. camera optical frame), metres.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from .constants import NUM_JOINTS, NUM_KEYPOINTS
from .fit_numpy import NumpyFitCore, NumpyRest, RowWeights, ShapeTerms, log_rotation
from .fit_numpy import forward as np_forward
from .kinematics import (
    FINGER_MASK,
    INTERNAL_TO_MP,
    MP_TO_INTERNAL,
    Pose,
    Rest,
    forward_kinematics,
    make_rest,
)
from .limits import to_tensors
from .model import HandBatch, HandModel
from .rotations import axis_angle_to_matrix, log_small, matrix_to_axis_angle, rotation_between

PALM_KEYPOINTS = (0, 5, 9, 13, 17)  # MediaPipe order
_PALM_INTERNAL = (
    0,
    1,
    5,
    13,
    9,
)  # the same keypoints in the internal order (wrist, index, middle, ring, pinky)
_PALM_INTERNAL_NP = np.array(_PALM_INTERNAL)
_N_ROT = 3 * NUM_JOINTS  # 48
_BAD_INPUT = (
    "targets must be finite, weights finite and >= 0, and each hand needs a positive weight on at "
    "least 3 of the palm keypoints 0, 5, 9, 13, 17"
)
_N_BASE = _N_ROT + 3  # 51
_sum = np.add.reduce


def _as_numpy(a: torch.Tensor | np.ndarray) -> np.ndarray:
    """A float64 numpy array of a numpy array or a torch tensor (any device)."""
    if isinstance(a, torch.Tensor):
        a = a.numpy(force=True)
    return np.asarray(a, dtype=np.float64)


def _check_numpy_inputs(
    targets: torch.Tensor | np.ndarray, weights: torch.Tensor | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate and reorder (internal keypoint order) targets and weights as float64 numpy arrays.

    The weights come back as None when not given (all 1).
    """
    if isinstance(targets, torch.Tensor):
        targets = targets.numpy(force=True)
    elif not isinstance(targets, np.ndarray):
        raise TypeError(f"targets must be a numpy array or torch tensor, got {type(targets).__name__}")
    x = targets[None] if targets.ndim == 2 else targets
    if x.ndim != 3 or x.shape[1:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f"targets must have shape (B, 21, 3) or (21, 3), got {x.shape}")
    x = np.asarray(x[:, INTERNAL_TO_MP], dtype=np.float64)
    if weights is None:
        # a NaN or inf anywhere makes the sum non-finite (cheaper than isfinite().all() on tiny arrays)
        if not np.isfinite(np.add.reduce(x, None)):
            raise ValueError(_BAD_INPUT)
        return x, None
    if isinstance(weights, torch.Tensor):
        weights = weights.numpy(force=True)
    elif not isinstance(weights, np.ndarray):
        raise TypeError(f"weights must be a numpy array or torch tensor, got {type(weights).__name__}")
    w = weights[None] if weights.ndim == 1 else weights
    if w.shape != x.shape[:2]:
        raise ValueError(f"weights must have shape {x.shape[:2]}, got {w.shape}")
    w = np.asarray(w[:, INTERNAL_TO_MP], dtype=np.float64)
    if (
        not np.isfinite(np.add.reduce(x, None) + np.add.reduce(w, None))
        or w.min() < 0
        or (np.add.reduce(w[:, _PALM_INTERNAL_NP] > 0, 1) < 3).any()
    ):
        raise ValueError(_BAD_INPUT)
    return x, w


def _svd3(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """U and V^T of a batch of 3x3 matrices; LAPACK through numpy on the CPU (far less call overhead)."""
    if a.device.type == "cpu":
        u, _, vt = np.linalg.svd(a.numpy())
        return torch.from_numpy(u), torch.from_numpy(vt)
    u, _, vt = torch.linalg.svd(a)
    return u, vt


def _solve(h: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Solve the damped (positive definite) normal equations h x = g; numpy on the CPU, Cholesky elsewhere."""
    if h.device.type == "cpu":
        return torch.from_numpy(np.linalg.solve(h.numpy(), g.numpy()))
    chol, _ = torch.linalg.cholesky_ex(h)
    return torch.cholesky_solve(g, chol)


@dataclass(frozen=True)
class FitResult:
    """Batched fit result (torch tensors on the model's device).

    rot_local: (B, 16, 3, 3) local joint rotations (MANO order); pose: (B, 16, 3) the same as axis-angle
    (radians, root first = global orientation); betas: (B, S); transl: (B, 3) metres; keypoints: (B, 21, 3)
    fitted keypoints (MediaPipe order), metres; residual: (B,) weighted mean keypoint distance, metres.
    """

    rot_local: torch.Tensor
    pose: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor
    keypoints: torch.Tensor
    residual: torch.Tensor

    def select(self, index: torch.Tensor | list[int]) -> FitResult:
        """The fits of a subset of the batch (e.g. to warm-start the hands that are still tracked)."""
        return FitResult(
            *(
                t[index]
                for t in (self.rot_local, self.pose, self.betas, self.transl, self.keypoints, self.residual)
            )
        )


class HandFitter:
    """Keypoint fitter for one :class:`HandModel` (one side).

    Args:
        model: the hand model (device and dtype are taken from it).
        iterations: Levenberg-Marquardt iterations after the start.
        keypoint_sigma: expected keypoint noise (metres); residuals are divided by it.
        limit_sigma: softness of the joint limits (radians of violation per unit cost).
        shape_sigma: standard deviation of the zero-mean shape prior (shape units).
        damping: LM damping added to the normal equations (normalised units), plus 1e-3 x their diagonal.
        backend: 'torch', 'numpy' (CPU only; float64, far lower per-call overhead) or 'auto' (numpy when the
            model is on the CPU).
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
        backend: str = "auto",
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
        self.limit_w2 = 1.0 / limit_sigma**2
        self.shape_w2 = 1.0 / shape_sigma**2
        self.damping = damping
        self.reinit_residual = reinit_residual
        dev, dt = model.device, model.dtype
        self.device, self.dtype = dev, dt
        lo, hi, prior_sigma = to_tensors(dev, dt)
        self.lo, self.hi = lo, hi
        self.frames = model.bone_frames[1:]  # (15, 3, 3) anatomical rest frames of joints 1-15
        self.frames_t = self.frames.transpose(-1, -2).contiguous()
        self.prior_blocks = self.frames @ torch.diag_embed(prior_sigma**-2) @ self.frames_t  # (15, 3, 3)
        self.eye3 = torch.eye(3, dtype=dt, device=dev)
        self.eye5 = torch.eye(5, dtype=dt, device=dev)
        self.eye15 = torch.eye(15, dtype=dt, device=dev)
        self.finger_mask = torch.as_tensor(FINGER_MASK, dtype=dt, device=dev)[
            :, :, None, None
        ]  # (4, 3, 1, 1)
        self.jt_const = self.eye3.repeat(NUM_KEYPOINTS, 1)  # (63, 3) d kp / d transl
        self.mp_to_internal = torch.as_tensor(MP_TO_INTERNAL, device=dev)
        self.internal_to_mp = model.internal_to_mp
        self.palm_internal = torch.as_tensor(_PALM_INTERNAL, device=dev)
        self.j_shapedirs = model.j_shapedirs  # (16, 3, S)
        self.kp_shapedirs = model.kp_shapedirs[self.internal_to_mp]  # (21, 3, S) internal order
        if backend not in ("auto", "torch", "numpy"):
            raise ValueError(f"backend must be 'auto', 'torch' or 'numpy', got {backend!r}")
        if backend == "numpy" and dev.type != "cpu":
            raise ValueError("the numpy backend needs a model on the CPU")
        self.backend = "numpy" if backend == "numpy" or (backend == "auto" and dev.type == "cpu") else "torch"
        if self.backend == "numpy":

            def n(t: torch.Tensor) -> np.ndarray:
                return t.detach().cpu().double().numpy()

            self._np = NumpyFitCore(
                n(self.frames), n(self.prior_blocks), n(lo), n(hi), self.inv_sigma, self.limit_w2, damping
            )
            self._np_j = (n(model.j_template), n(model.j_shapedirs))
            i2m = INTERNAL_TO_MP
            self._np_kp = (n(model.kp_template)[i2m], n(model.kp_shapedirs)[i2m])
            self._np_rest_cache: tuple[tuple, NumpyRest] | None = None
            # unit keypoint weights (the default) and their Jacobian row weights, per batch size
            self._np_unit: dict[int, tuple[np.ndarray, RowWeights]] = {}

    # ---- input checks -------------------------------------------------------------------------------------
    def _inputs(
        self, targets: torch.Tensor | np.ndarray, weights: torch.Tensor | np.ndarray | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(targets, (torch.Tensor, np.ndarray)):
            raise TypeError(f"targets must be a numpy array or torch tensor, got {type(targets).__name__}")
        x = torch.as_tensor(targets, dtype=self.dtype, device=self.device)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (NUM_KEYPOINTS, 3):
            raise ValueError(f"targets must have shape (B, 21, 3) or (21, 3), got {tuple(x.shape)}")
        if weights is None:
            w = torch.ones(x.shape[:2], dtype=self.dtype, device=self.device)
        else:
            if not isinstance(weights, (torch.Tensor, np.ndarray)):
                raise TypeError(
                    f"weights must be a numpy array or torch tensor, got {type(weights).__name__}"
                )
            w = torch.as_tensor(weights, dtype=self.dtype, device=self.device)
            if w.ndim == 1:
                w = w[None]
            if w.shape != x.shape[:2]:
                raise ValueError(f"weights must have shape {tuple(x.shape[:2])}, got {tuple(w.shape)}")
        x = x[:, self.internal_to_mp]
        w = w[:, self.internal_to_mp]
        bad = (
            ~torch.isfinite(x).all()
            | ~torch.isfinite(w).all()
            | (w < 0).any()
            | ((w[:, self.palm_internal] > 0).sum(1) < 3).any()
        )
        if bool(bad):
            raise ValueError(_BAD_INPUT)
        return x, w

    def _rest(self, betas: torch.Tensor) -> Rest:
        joints, kps = self.model.rest(betas)
        return make_rest(joints, kps)

    # ---- closed-form start ----
    def initialise(
        self, x: torch.Tensor, w: torch.Tensor, rest: Rest
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Kabsch on the palm, then per-bone swings. ``x``, ``w`` in internal keypoint order.

        Returns the root rotation (B, 3, 3), finger local rotations (B, 5, 3, 3, 3) and transl (B, 3).
        """
        b = x.shape[0]
        # rest palm keypoints relative to the wrist joint (wrist, index, middle, ring, pinky MCP)
        p = torch.cat([rest.kp_wrist[:, None], (rest.offsets[:, :, 0] + rest.kp_fingers[:, :, 0])], dim=1)
        p = p[:, (0, 1, 2, 4, 3)]  # wrist, index, middle, ring, pinky
        q = x[:, self.palm_internal]
        wp = w[:, self.palm_internal, None]
        wsum = wp.sum(1, keepdim=True)
        pc = (wp * p).sum(1, keepdim=True) / wsum
        qc = (wp * q).sum(1, keepdim=True) / wsum
        cov = ((p - pc) * wp).transpose(1, 2) @ (q - qc)  # (B, 3, 3)
        u, vt = _svd3(cov)
        v = vt.transpose(1, 2)
        d = torch.det(v @ u.transpose(1, 2))
        v = torch.cat([v[..., :2], v[..., 2:] * d[:, None, None]], dim=2)
        r0 = v @ u.transpose(1, 2)
        o0 = qc[:, 0] - (r0 @ pc[:, 0, :, None])[..., 0]
        transl = o0 - rest.j0
        # swings, level by level along the chains: each joint gets the smallest rotation that points its child
        # keypoint (finger keypoint level + 1), seen from the joint's predicted position, at the target
        a_par = r0[:, None].expand(b, 5, 3, 3)
        o = o0[:, None].expand(b, 5, 3)
        xf = x[:, 1:].reshape(b, 5, 4, 3)
        child_rel = torch.cat(
            [rest.offsets[:, :, 1:] + rest.kp_fingers[:, :, 1:3], rest.kp_fingers[:, :, 3:]], 2
        )
        rots = []
        for level in range(3):
            o = o + (a_par @ rest.offsets[:, :, level, :, None])[..., 0]
            u_dir = (a_par @ child_rel[:, :, level, :, None])[..., 0]
            a_j = rotation_between(u_dir, xf[:, :, level + 1] - o) @ a_par
            rots.append(a_par.transpose(-1, -2) @ a_j)
            a_par = a_j
        return r0, torch.stack(rots, dim=2), transl

    # ---- main entry ----
    def fit(
        self,
        targets: torch.Tensor | np.ndarray,
        weights: torch.Tensor | np.ndarray | None = None,
        init: FitResult | None = None,
        betas: torch.Tensor | np.ndarray | None = None,
        fit_shape: bool = False,
    ) -> FitResult:
        """Fit B hands.

        Args:
            targets: (B, 21, 3) or (21, 3) keypoints, MediaPipe order, metres.
            weights: (B, 21) or (21,) per-keypoint confidence >= 0 (default all 1); zero ignores a keypoint.
            init: previous result of the same tracks (warm start: skips the closed-form start).
            betas: (B, S) fixed shape (default: ``init.betas`` or zeros); the starting point when fit_shape.
            fit_shape: also estimate the shape (per-track calibration); otherwise the shape stays fixed.

        A warm-started hand whose residual stays above ``reinit_residual`` (the track jumped) is fitted
        again from the closed-form start, and the better of the two results is kept.
        """
        if self.backend == "numpy":  # no autograd state to switch off: saves the context manager's cost
            return self._fit(targets, weights, init, betas, fit_shape)
        with torch.no_grad():
            return self._fit(targets, weights, init, betas, fit_shape)

    def _fit(
        self,
        targets: torch.Tensor | np.ndarray,
        weights: torch.Tensor | np.ndarray | None,
        init: FitResult | None,
        betas: torch.Tensor | np.ndarray | None,
        fit_shape: bool,
    ) -> FitResult:
        """:meth:`fit` (under ``torch.no_grad`` for the torch backend)."""
        result = self._fit_once(targets, weights, init, betas, fit_shape)
        if init is None or self.reinit_residual is None:
            return result
        worst = np.maximum.reduce(result.residual.numpy(), None) if self.backend == "numpy" else None
        if worst is not None and worst <= self.reinit_residual:
            return result
        bad = torch.nonzero(result.residual > self.reinit_residual).flatten()
        if bad.numel() == 0:
            return result
        rows = bad.cpu().numpy()

        def batched(a: torch.Tensor | np.ndarray, ndim: int) -> torch.Tensor | np.ndarray:
            return a[None] if a.ndim == ndim - 1 else a

        tgt = batched(targets, 3)
        wts = None if weights is None else batched(weights, 2)
        sub_t = tgt[torch.as_tensor(rows)] if isinstance(tgt, torch.Tensor) else tgt[rows]
        sub_w = (
            None
            if wts is None
            else (wts[torch.as_tensor(rows)] if isinstance(wts, torch.Tensor) else wts[rows])
        )
        cold = self._fit_once(sub_t, sub_w, None, result.betas[bad], fit_shape)
        better = cold.residual.to(result.residual.device) < result.residual[bad]
        if not bool(better.any()):
            return result
        take = bad[better]
        fields = []
        for old, new in zip(dataclasses.astuple(result), dataclasses.astuple(cold), strict=True):
            merged = old.clone()
            merged[take] = new[better].to(merged.device)
            fields.append(merged)
        return FitResult(*fields)

    def _fit_once(
        self,
        targets: torch.Tensor | np.ndarray,
        weights: torch.Tensor | np.ndarray | None,
        init: FitResult | None,
        betas: torch.Tensor | np.ndarray | None,
        fit_shape: bool,
    ) -> FitResult:
        """One fit (warm or cold) without the re-initialisation fallback."""
        if self.backend == "numpy":
            return self._fit_numpy(targets, weights, init, betas, fit_shape)
        x, w = self._inputs(targets, weights)
        b = x.shape[0]
        m = self.model
        if betas is not None:
            bt = torch.as_tensor(betas, dtype=self.dtype, device=self.device)
            bt = bt[None] if bt.ndim == 1 else bt
            if bt.shape != (b, m.num_shape):
                raise ValueError(f"betas must have shape ({b}, {m.num_shape}), got {tuple(bt.shape)}")
        elif init is not None:
            bt = init.betas
        else:
            bt = torch.zeros(b, m.num_shape, dtype=self.dtype, device=self.device)
        rest = self._rest(bt)
        if init is not None:
            if not isinstance(init, FitResult) or init.rot_local.shape[0] != b:
                raise ValueError(f"init must be a FitResult with batch {b}")
            r0 = init.rot_local[:, 0]
            rf = init.rot_local[:, 1:].reshape(b, 5, 3, 3, 3)
            transl = init.transl
        else:
            r0, rf, transl = self.initialise(x, w, rest)
        sw = (w.sqrt() * self.inv_sigma)[..., None]  # (B, 21, 1)
        for _ in range(self.iterations):
            r0, rf, transl, bt, rest = self._lm_step(x, sw, r0, rf, transl, bt, rest, fit_shape)
        pose = forward_kinematics(r0, rf, transl, rest)
        err = torch.linalg.vector_norm(pose.kp - x, dim=-1)
        residual = (err * w).sum(1) / w.sum(1)
        rot = torch.cat([r0[:, None], rf.reshape(b, 15, 3, 3)], dim=1)
        return FitResult(
            rot, matrix_to_axis_angle(rot), bt, transl, pose.kp[:, self.mp_to_internal], residual
        )

    def _numpy_rest(self, bt: np.ndarray) -> NumpyRest:
        """Rest quantities for shape ``bt`` (B, S); the last one is cached (tracking keeps the shape)."""
        key = (bt.shape, bt.tobytes())
        if self._np_rest_cache is not None and self._np_rest_cache[0] == key:
            return self._np_rest_cache[1]
        joints = self._np_j[0] + (self._np_j[1] @ bt.T).transpose(2, 0, 1)
        kps = self._np_kp[0] + (self._np_kp[1] @ bt.T).transpose(2, 0, 1)
        rest = NumpyRest(joints, kps)
        self._np_rest_cache = (key, rest)
        return rest

    def _unit_weights(self, b: int) -> tuple[np.ndarray, RowWeights]:
        """All-one keypoint weights (B, 21) and their row weights, built once per batch size (read-only)."""
        cached = self._np_unit.get(b)
        if cached is None:
            ones = np.ones((b, NUM_KEYPOINTS))
            cached = (ones, self._np.row_weights(ones * self.inv_sigma))
            for a in (ones, *cached[1]):
                a.flags.writeable = False
            self._np_unit[b] = cached
        return cached

    def _fit_numpy(
        self,
        targets: torch.Tensor | np.ndarray,
        weights: torch.Tensor | np.ndarray | None,
        init: FitResult | None,
        betas: torch.Tensor | np.ndarray | None,
        fit_shape: bool,
    ) -> FitResult:
        """The same fit with the numpy core (CPU)."""
        x, w = _check_numpy_inputs(targets, weights)
        b = x.shape[0]
        s = self.model.num_shape
        if betas is not None:
            bt = _as_numpy(betas)
            bt = bt[None] if bt.ndim == 1 else bt
            if bt.shape != (b, s):
                raise ValueError(f"betas must have shape ({b}, {s}), got {bt.shape}")
        elif init is not None:
            bt = _as_numpy(init.betas)
        else:
            bt = np.zeros((b, s))
        rest = self._numpy_rest(bt)
        core = self._np
        if init is not None:
            if not isinstance(init, FitResult) or init.rot_local.shape[0] != b:
                raise ValueError(f"init must be a FitResult with batch {b}")
            rot = np.ascontiguousarray(_as_numpy(init.rot_local))
            transl = _as_numpy(init.transl)
        else:
            rot, transl = core.initialise(x, self._unit_weights(b)[0] if w is None else w, rest)
        rw = self._unit_weights(b)[1] if w is None else core.row_weights(np.sqrt(w) * self.inv_sigma)
        xt = np.ascontiguousarray(x.transpose(0, 2, 1))
        for _ in range(self.iterations):
            shape = ShapeTerms(self._np_j[1], self._np_kp[1], bt, self.shape_w2) if fit_shape else None
            rot, transl, new_bt = core.lm_step(xt, rw, rot, transl, rest, shape)
            if new_bt is not None:
                bt = new_bt
                rest = self._numpy_rest(bt)
        kp = np_forward(rot, transl, rest)[2]
        d = kp - x
        err = np.sqrt(_sum(d * d, -1))
        residual = _sum(err, 1) / NUM_KEYPOINTS if w is None else _sum(err * w, 1) / _sum(w, 1)
        np_dtype = np.float32 if self.dtype == torch.float32 else np.float64

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np_dtype))

        return FitResult(
            t(rot), t(log_rotation(rot)), t(bt), t(transl), t(kp[:, MP_TO_INTERNAL]), t(residual)
        )

    def _lm_step(
        self,
        x: torch.Tensor,
        sw: torch.Tensor,
        r0: torch.Tensor,
        rf: torch.Tensor,
        transl: torch.Tensor,
        bt: torch.Tensor,
        rest: Rest,
        fit_shape: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, Rest]:
        b = x.shape[0]
        pose = forward_kinematics(r0, rf, transl, rest)
        jac = self._jacobian(pose, bt if fit_shape else None) * sw.expand(b, NUM_KEYPOINTS, 3).reshape(
            b, 63, 1
        )
        res = ((pose.kp - x) * sw).reshape(b, 63, 1)
        jt = jac.transpose(1, 2)
        hess = jt @ jac
        grad = jt @ res  # (B, P, 1)
        # weak pose prior and soft limits on joints 1-15, in their anatomical frames
        theta = log_small(rf).reshape(b, 15, 3, 1)
        anat = (self.frames_t @ theta)[..., 0]
        viol = anat - torch.clamp(anat, self.lo, self.hi)
        active = (viol != 0).to(self.dtype) * self.limit_w2
        blocks = self.prior_blocks + (self.frames * active[:, :, None, :]) @ self.frames_t  # (B, 15, 3, 3)
        g_extra = (self.prior_blocks @ theta)[..., 0] + (self.frames @ (self.limit_w2 * viol)[..., None])[
            ..., 0
        ]
        hess[:, 6:_N_BASE, 6:_N_BASE] += torch.einsum("bjxy,jk->bjxky", blocks, self.eye15).reshape(b, 45, 45)
        grad[:, 6:_N_BASE, 0] += g_extra.reshape(b, 45)
        if fit_shape:
            hess[:, _N_BASE:, _N_BASE:] += self.shape_w2 * torch.eye(
                bt.shape[1], dtype=self.dtype, device=self.device
            )
            grad[:, _N_BASE:, 0] += self.shape_w2 * bt
        hess = hess + torch.diag_embed(1e-3 * torch.diagonal(hess, dim1=1, dim2=2) + self.damping)
        step = -_solve(hess, grad)[..., 0]  # (B, P)
        rots = axis_angle_to_matrix(torch.cat([step[:, :3], step[:, 6:_N_BASE]], dim=1).reshape(b, 16, 3))
        r0 = r0 @ rots[:, 0]
        rf = rf @ rots[:, 1:].reshape(b, 5, 3, 3, 3)
        transl = transl + step[:, 3:6]
        if fit_shape:
            bt = bt + step[:, _N_BASE:]
            rest = self._rest(bt)
        return r0, rf, transl, bt, rest

    def _jacobian(self, pose: Pose, betas: torch.Tensor | None) -> torch.Tensor:
        """(B, 63, P) Jacobian of the internal-order keypoints; columns: root rotation, transl, 15 joint
        rotations (MANO order), then the shape when ``betas`` is given."""
        b = pose.kp.shape[0]
        # root rotation: (A0 e_c) x (kp - o0)
        lever0 = pose.kp - pose.o0[:, None]  # (B, 21, 3)
        a0t = pose.a0.transpose(-1, -2)  # rows = columns of A0
        j_root = torch.cross(
            a0t[:, None].expand(b, NUM_KEYPOINTS, 3, 3),
            lever0[:, :, None].expand(b, NUM_KEYPOINTS, 3, 3),
            dim=-1,
        )  # (B, 21, c, x)
        j_root = j_root.transpose(-1, -2).reshape(b, 63, 3)
        # finger joints: keypoint k of finger f moves with levels l <= carrier level
        kpf = pose.kp[:, 1:].reshape(b, 5, 4, 1, 1, 3)
        lever = kpf - pose.of[:, :, None, :, None, :]  # (B, 5, 4, 3l, 1, 3)
        axes = pose.af.transpose(-1, -2)[:, :, None]  # (B, 5, 1, 3l, 3c, 3x)
        jf = (
            torch.cross(axes.expand(b, 5, 4, 3, 3, 3), lever.expand(b, 5, 4, 3, 3, 3), dim=-1)
            * self.finger_mask
        )
        jf = torch.einsum("bfklcx,fg->bfkxglc", jf, self.eye5).reshape(b, 60, 45)
        jf = torch.cat([jf.new_zeros(b, 3, 45), jf], dim=1)
        parts = [j_root, self.jt_const.expand(b, 63, 3), jf]
        if betas is not None:
            parts.append(self._shape_jacobian(pose))
        return torch.cat(parts, dim=2)

    def _shape_jacobian(self, pose: Pose) -> torch.Tensor:
        """(B, 63, S): d keypoints (internal order) / d betas at fixed rotations."""
        b = pose.kp.shape[0]
        s = self.j_shapedirs.shape[2]
        dj0 = self.j_shapedirs[0]  # (3, S)
        djf = self.j_shapedirs[1:].reshape(5, 3, 3, s)
        par = torch.cat([dj0[None, None].expand(5, 1, 3, s), djf[:, :2]], dim=1)
        doff = djf - par  # (5, 3, 3, S)
        a_par = torch.cat([pose.a0[:, None, None].expand(b, 5, 1, 3, 3), pose.af[:, :, :2]], dim=2)
        d = dj0 + torch.cumsum(a_par @ doff, dim=2)  # (B, 5, 3, 3, S): d o_fl / d betas
        dkp = self.kp_shapedirs  # (21, 3, S) internal order
        dkw = dj0 + pose.a0[:, None] @ (dkp[0] - dj0)  # (B, 1, 3, S) -> via broadcasting
        carrier_d = torch.cat([d, d[:, :, 2:]], dim=2)  # (B, 5, 4, 3, S)
        carrier_a = torch.cat([pose.af, pose.af[:, :, 2:]], dim=2)
        carrier_dj = torch.cat([djf, djf[:, 2:]], dim=1)  # (5, 4, 3, S)
        dkf = carrier_d + carrier_a @ (dkp[1:].reshape(5, 4, 3, s) - carrier_dj)
        return torch.cat([dkw.reshape(b, 3, s), dkf.reshape(b, 60, s)], dim=1)

    def to_batch(self, result: FitResult, with_vertices: bool = True) -> HandBatch:
        """Forward pass of a fit result (vertices etc.), ready for ``HandModel.outputs``."""
        return self.model.forward_rotations(
            result.rot_local, result.betas, result.transl, with_vertices, pose=result.pose
        )
