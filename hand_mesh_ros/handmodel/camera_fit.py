"""Fit the hand model in camera space to what the image shows: MediaPipe's 2D keypoints through the camera.

The hand model (open hand or MANO, scaled to the user's hand length, see ``hand_length``) is posed and placed
by damped Gauss-Newton (Levenberg-Marquardt with step acceptance) on all 16 joint rotations and the
translation, minimising

* the **reprojection error** of the 21 keypoints: perspective projection in normalised image coordinates
  (the caller removes K and lens distortion), per joint divided by the keypoint noise measured on synthetic
  renders (``CueStatistics.keypoint_sigma``, in hand lengths at the wrist's depth), with a Huber loss and
  optional per-joint confidence weights;
* a **prior from MediaPipe's depth cues** (2.5D landmarks and world landmarks): the hand's orientation and
  its 20 bone directions in the hand's own frame, as a Mahalanobis norm with the measured mean and
  covariance of their errors (``cues``). It decides what one image cannot: whether a finger points towards
  the camera or away, and how much the palm is tilted;
* the model's weak **pose prior** and soft **joint limits** (``limits``);
* optionally, **depth** from an RGB-D camera registered to the image (``KeypointObservation.depth_m``): each
  keypoint with a depth sample adds the residual between the sample and the depth of the hand's skin in front
  of the joint (the joint pushed towards the camera along its viewing ray by the model's local thickness,
  :attr:`CameraSpaceFitter.surface_offsets`), with noise sd sqrt((a z^2)^2 + s_m^2) (a: the sensor's noise
  coefficient, structured-light and stereo cameras' error grows with the square of the distance; s_m: the
  model's own surface error) and a Huber loss (an occluder in front of a joint or a stray background sample
  weighs linearly). With depth, one more parameter enters: the hand's **scale** about the camera centre
  (log-parametrised, with a prior around the expected size). Reprojection and depth cues are invariant to it,
  so the depth alone sets it: the fitted hand's size is measured, not assumed. Keypoints without depth are
  constrained by the image only.

Bone lengths and proportions are the model's: a hand of the configured length, not the network's world
landmarks (whose palms are 25-35 % short relative to the fingers). One size enters (the model's scale), so
depth is proportional to it: the fit is scale-equivariant (a 10 % larger hand length moves handgraph_dev's
hands 10.0 % further on average, each within 2 %, where the iterations stop short of the optimum).

Start: cold, from the model fitted in 3D to the 2.5D landmarks (closed-form start + 3 steps, ``HandFitter``),
placed by the DGP weighted least-squares translation (HandDGP, ``geometry.dgp``); warm (tracking), from the
track's previous fit. A warm fit that ends far from the keypoints, shows the other side of the hand or costs
much more than the previous frame is redone cold and the better one kept.

Frames and units: camera optical frame (x right, y down, z forward), metres, radians; keypoints and joints in
MediaPipe order; rotations MANO order (root first). Numpy float64 on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.dgp import solve_translation
from .constants import NUM_KEYPOINTS
from .cues import (
    BONES,
    CUES,
    PALM,
    CueStatistics,
    bone_directions,
    cue_shape,
    hand_frame,
    load_cue_statistics,
    mirror_signs,
)
from .fit import FitResult, HandFitter
from .hand_length import joint_chain_length, model_hand_length
from .kinematics import INTERNAL_TO_MP, MP_TO_INTERNAL, forward, keypoint_jacobian_t
from .limits import PosePrior
from .model import HandModel
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle

N_PARAMS = 51  # 16 joint rotations (3 each), translation (3); with depth one more: the log scale
MIN_DEPTH_M = 0.05  # no keypoint may come closer to the camera than this
DEPTH_NOISE = 0.003  # depth camera noise coefficient: sd = DEPTH_NOISE * z^2 (m)
SURFACE_SIGMA_M = 0.004  # the model's error in the skin's depth in front of a joint
SURFACE_NEIGHBOURS = 8  # a joint's local thickness: mean distance to this many nearest vertices
FLIP_ANGLE = 0.5 * np.pi  # a warm fit turned this far from the 2.5D landmarks' hand frame is redone cold
# A warm fit whose cost exceeds this multiple of the previous frame's is redone cold (on the ASL video the
# frame-to-frame ratio stays below 1.9; a fit stuck in a wrong pose costs 3-8 times more).
RESTART_COST_RATIO = 2.0


@dataclass(frozen=True, eq=False)
class KeypointObservation:
    """What the landmark network saw of B hands.

    ``keypoints_uv`` (B, 21, 2): the 2D keypoints as undistorted normalised image coordinates (K^-1 applied,
    lens distortion removed); ``landmarks_25d`` (B, 21, 3): MediaPipe's image landmarks (x, y px and relative
    depth z px); ``world_m`` (B, 21, 3): its world landmarks, metres; ``weights`` (B, 21) per-joint confidence
    >= 0 or None (all 1; 0 ignores a keypoint); ``depth_m`` (B, 21): the depth (z, metres) of the visible
    surface at each keypoint from a registered depth image, NaN where there is none, or None (no depth
    camera: a monocular fit). MediaPipe order.
    """

    keypoints_uv: np.ndarray
    landmarks_25d: np.ndarray
    world_m: np.ndarray
    weights: np.ndarray | None = None
    depth_m: np.ndarray | None = None

    def __post_init__(self) -> None:
        uv = np.asarray(self.keypoints_uv)
        b = uv.shape[0] if uv.ndim == 3 else -1
        for name, shape in (("keypoints_uv", (b, 21, 2)), ("landmarks_25d", (b, 21, 3)), ("world_m", (b, 21, 3))):
            a = np.asarray(getattr(self, name))
            if a.shape != shape or b < 1:
                raise ValueError(f"{name} must have shape (B, 21, {shape[2]}) with B >= 1, got {a.shape}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name} contains NaN or infinity")
        if self.weights is not None:
            w = np.asarray(self.weights)
            if w.shape != (b, 21) or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError(f"weights must be (B, 21) finite and >= 0, got shape {w.shape}")
            if np.any((w[:, list(PALM)] > 0).sum(1) < 3):
                raise ValueError("each hand needs a positive weight on at least 3 of the palm keypoints "
                                 "0, 5, 9, 13, 17")
        if self.depth_m is not None:
            d = np.asarray(self.depth_m)
            if d.shape != (b, 21) or np.any(d[np.isfinite(d)] <= 0) or np.any(np.isinf(d)):
                raise ValueError(f"depth_m must be (B, 21) metres > 0 or NaN, got shape {d.shape}")

    @property
    def batch(self) -> int:
        return int(np.asarray(self.keypoints_uv).shape[0])


@dataclass(frozen=True, eq=False)
class CameraFit:
    """B hands fitted in camera space (numpy float64).

    ``rot_local`` (B, 16, 3, 3) local joint rotations (MANO order, root = global orientation); ``transl``
    (B, 3) metres (MANO convention: root joint = rest root joint + transl); ``keypoints`` (B, 21, 3) metres,
    camera frame, MediaPipe order; ``reprojection`` (B, 21) each keypoint's image error in normalised
    coordinates (multiply by the focal length for pixels); ``cost`` (B,) the final objective, infinite for a
    hand that could not be placed (degenerate keypoints: its keypoints are then not finite); ``cold`` (B,)
    whether the hand was fitted from the cold start; ``scale`` (B,): the hand's size relative to the model's,
    about the camera centre: the hand in the camera is the model posed by ``rot_local`` and ``transl`` (the
    model's own size) with every point multiplied by ``scale``; ``keypoints`` include it. Without depth it is
    the scale the fit was given; with depth, the one the depth measured. ``depth_agreement`` (B,): the fraction
    of the hand's depth samples within 3 standard deviations of the fitted skin (NaN without samples): low when
    the depth does not belong to this hand (wrong units, depth not registered to the image).
    """

    rot_local: np.ndarray
    transl: np.ndarray
    keypoints: np.ndarray
    reprojection: np.ndarray
    cost: np.ndarray
    cold: np.ndarray
    scale: np.ndarray
    depth_agreement: np.ndarray

    def select(self, index: list[int] | np.ndarray) -> CameraFit:
        """The fits of a subset of the batch (e.g. to warm-start the hands still tracked)."""
        return CameraFit(*(getattr(self, f)[index] for f in _FIT_FIELDS))

    def fit_result(self, num_shape: int) -> FitResult:
        """The same pose as a :class:`FitResult` (mean shape, the model's size: keypoints without ``scale``)
        for ``HandFitter.to_batch`` and refits."""
        keypoints = self.keypoints / self.scale[:, None, None]
        # residual: the mean image error scaled to metres at the wrist's depth (a 3D fit's residual is metres)
        residual = self.reprojection.mean(1) * keypoints[:, 0, 2]
        return FitResult(self.rot_local, matrix_to_axis_angle(self.rot_local),
                         np.zeros((len(self.transl), num_shape)), self.transl, keypoints, residual)


_FIT_FIELDS = ("rot_local", "transl", "keypoints", "reprojection", "cost", "cold", "scale", "depth_agreement")


class CameraSpaceFitter:
    """Camera-space fit for one :class:`HandModel` (one side, on the CPU, at its final size).

    Args:
        model: the hand model, scaled to the hand length (``hand_length.at_hand_length``); mean shape.
        statistics: the measured noise of MediaPipe's outputs (default: the shipped ``cue_statistics.json``).
        cold_iterations / warm_iterations: LM iterations from the cold start / from a previous fit.
        huber: keypoint residuals beyond this many standard deviations weigh linearly, not quadratically.
        restart_rms: a warm fit whose RMS keypoint residual (in standard deviations) exceeds this, whose
            orientation is more than 90 degrees from the 2.5D landmarks' (the mirror solution) or whose cost is
            more than twice the previous frame's is redone cold, and the better of the two kept.
        depth_noise: the depth camera's noise coefficient a (sd = a z^2 metres, z in metres; about 0.002-0.003
            for structured-light and stereo cameras at their best resolution, e.g. Intel's RealSense D400 datasheet
            gives under 2 % at 2 m).
        surface_sigma_m: the model's own error in the depth of the skin in front of a joint, metres.
    """

    def __init__(self, model: HandModel, statistics: CueStatistics | None = None, cold_iterations: int = 8,
                 warm_iterations: int = 2, huber: float = 2.0, restart_rms: float = 3.0,
                 depth_noise: float = DEPTH_NOISE, surface_sigma_m: float = SURFACE_SIGMA_M) -> None:
        if not isinstance(model, HandModel):
            raise TypeError(f"model must be a HandModel, got {type(model).__name__}")
        if cold_iterations < 1 or warm_iterations < 1 or huber <= 0 or restart_rms <= 0:
            raise ValueError("iterations must be >= 1, huber and restart_rms > 0")
        if depth_noise < 0 or surface_sigma_m <= 0:
            raise ValueError("depth_noise must be >= 0 and surface_sigma_m > 0")
        self.depth_noise, self.surface_sigma_m = float(depth_noise), float(surface_sigma_m)
        self.model = model
        self.side = model.side
        self.cold_iterations, self.warm_iterations = cold_iterations, warm_iterations
        self.huber, self.restart_rms = huber, restart_rms
        stats = statistics or load_cue_statistics()
        self._init_fitter = HandFitter(model, iterations=3)
        self._prior = PosePrior(model.bone_frames)
        self._rest1 = model.rest_kinematics(np.zeros((1, model.num_shape)))
        kp_mp = model.kp_template
        self._chain = float(joint_chain_length(kp_mp))
        self._hand_length = model_hand_length(model.data)
        self._rest_palm = kp_mp[list(PALM)] - kp_mp[0]
        # bones as differences of internal-order keypoints, and their rest lengths
        self._bones = np.zeros((NUM_KEYPOINTS, len(BONES)))
        for i, (p, c) in enumerate(BONES):
            self._bones[MP_TO_INTERNAL[c], i] += 1.0
            self._bones[MP_TO_INTERNAL[p], i] -= 1.0
        self._bone_len = np.linalg.norm(kp_mp[INTERNAL_TO_MP].T @ self._bones, axis=0)
        self._kp_precision = (1.0 / stats.keypoint_sigma**2)[INTERNAL_TO_MP]
        signs = mirror_signs(self.side)
        # each cue's precision (inverse covariance) and mean error in this side's convention: for a residual r
        # of this side, the statistics see signs * r, so (signs r - mean)^T P (signs r - mean) equals
        # (r - signs mean)^T (signs P signs) (r - signs mean)
        self._cue_gains = [stats.cues[name].gain for name in CUES]
        self._cue_means = np.stack([stats.cues[name].mean * signs for name in CUES])  # (C, 63)
        self._cue_precisions = np.stack([(w.T @ w) for w in (stats.cues[name].whitening * signs for name in CUES)])
        self._cue_precision = self._cue_precisions.sum(0)  # every cue's residual has the same Jacobian
        self._eye = np.eye(N_PARAMS)
        self._eye_depth = np.eye(N_PARAMS + 1)
        # depth of the skin in front of each keypoint: the mean distance from the keypoint to its nearest
        # vertices of the rest mesh (the finger's or the palm's half thickness; about 0 for the fingertips,
        # which are skin vertices), in the model's size
        dist = np.linalg.norm(model.v_template[None] - kp_mp[:, None], axis=-1)
        self.surface_offsets = np.sort(dist, axis=1)[:, :SURFACE_NEIGHBOURS].mean(1)  # (21,) MediaPipe order

    # ------------------------------------------------------------------------------------------------ main
    def fit(self, obs: KeypointObservation, init: CameraFit | None = None, scale: float | np.ndarray = 1.0,
            scale_sd: float = 0.1) -> CameraFit:
        """Fit B hands; ``init`` (same B): the tracks' previous fits (warm start), or None (cold start).

        ``scale`` (scalar or (B,)): the expected size of each hand relative to the model's (1: the hand length
        the model was built at). Without depth it is applied as is; with depth (``obs.depth_m``) it is the
        prior's mean and ``scale_sd`` its standard deviation in log scale (0.1: about 10 %; small values trust
        a calibrated size over the depth). Raises ValueError for a non-positive scale or a batch mismatch."""
        if not isinstance(obs, KeypointObservation):
            raise TypeError(f"obs must be a KeypointObservation, got {type(obs).__name__}")
        b = obs.batch
        if init is not None and len(init.transl) != b:
            raise ValueError(f"init has {len(init.transl)} hands, the observation {b}")
        prior = np.broadcast_to(np.asarray(scale, dtype=np.float64), (b,)).copy()
        if not np.all(np.isfinite(prior) & (prior > 0)) or not scale_sd > 0:
            raise ValueError(f"scale must be finite and > 0 and scale_sd > 0, got {scale!r}, {scale_sd!r}")
        problem = _Problem(self, obs, prior, scale_sd)
        if init is None:
            return self._solve(problem, *self._cold_start(problem), self.cold_iterations, cold=True)
        # (re-placing the previous pose by DGP before the steps was tried: on the ASL video it moved warm fits
        # away from the converged solution, p90 13.7 mm against 5.0 mm without, and cost 0.13 ms)
        start_scale = init.scale.copy() if problem.depth is not None else prior
        warm = self._solve(problem, init.rot_local.copy(), init.transl.copy(), start_scale, self.warm_iterations,
                           cold=False)
        rms = problem.keypoint_rms(warm.reprojection)
        # a warm fit that lost the keypoints, or that shows the hand's other side (palm for back: the mirror
        # solution fits the keypoints too) compared with the 2.5D landmarks, starts again from the cues
        turn = np.linalg.norm(matrix_to_axis_angle(problem.cue_frames[0].swapaxes(1, 2) @ warm.rot_local[:, 0]),
                              axis=-1)
        jumped = warm.cost > RESTART_COST_RATIO * init.cost  # the track's fit got much worse than last frame
        redo = np.nonzero((rms > self.restart_rms) | (turn > FLIP_ANGLE) | jumped)[0]
        if redo.size == 0:
            return warm
        sub = _Problem(self, _select(obs, redo), prior[redo], scale_sd)
        cold = self._solve(sub, *self._cold_start(sub), self.cold_iterations, cold=True)
        better = cold.cost < warm.cost[redo]
        if not np.any(better):
            return warm
        fields = {f: getattr(warm, f).copy() for f in _FIT_FIELDS}
        for f in fields:
            fields[f][redo[better]] = getattr(cold, f)[better]
        return CameraFit(**fields)

    def implied_scale(self, fit: CameraFit, depth_m: np.ndarray) -> np.ndarray:
        """(B,) the scale at which the fitted hands' skin would lie on the median of their depth samples
        ``depth_m`` (B, 21) (NaN without samples): ``fit.scale`` where the depth agrees with the fit, far from it
        where the depth cannot be this hand's (wrong units: the noise model lets such depths barely pull)."""
        skin = _skin_depth(fit.keypoints / fit.scale[:, None, None], self.surface_offsets)[0]
        return _median_ratio(np.asarray(depth_m, dtype=np.float64), skin, np.full(len(skin), np.nan), 1)

    # ---------------------------------------------------------------------------------------------- starts
    def _cold_start(self, p: _Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shape = p.cue_shapes[0]  # the 2.5D landmarks (gain-corrected), in the model's size
        chain = joint_chain_length(shape)
        # landmarks with no extent (all on one point) or not finite: nothing to start from; such a hand starts
        # from the rest pose and is left unplaced (NaN translation, infinite cost)
        flat = ~(np.isfinite(chain) & (chain > 1e-9))
        shape = np.where(flat[:, None, None], self.model.kp_template,
                         shape * (self._chain / np.where(flat, 1.0, chain))[:, None, None])
        fit = self._init_fitter.fit(shape)
        transl = self._place(p, fit.rot_local, fit.transl)
        transl[flat] = np.nan
        return fit.rot_local, transl, p.depth_scale(fit.rot_local, transl)

    def _place(self, p: _Problem, rot: np.ndarray, transl: np.ndarray) -> np.ndarray:
        """Translation placing the posed model on the keypoints by DGP (closed form, the keypoint weights; its
        weak-perspective fallback where the linear system is degenerate); NaN where nothing can place it."""
        kp = forward(rot, transl, p.rest)[2][:, MP_TO_INTERNAL]
        return transl + solve_translation(p.uv, kp, p.weights).translation

    # --------------------------------------------------------------------------------------------- solver
    def _solve(self, p: _Problem, rot: np.ndarray, transl: np.ndarray, scale: np.ndarray, iterations: int,
               cold: bool) -> CameraFit:
        """``iterations`` LM steps from the pose (``rot``, ``transl``) at ``scale`` (B,)."""
        b = len(rot)
        log_scale = np.log(scale)
        state = p.evaluate(rot, transl, log_scale, first=True)
        lam = np.full(b, 1e-3)
        ok = np.ones(b, dtype=bool)
        eye = self._eye if p.depth is None else self._eye_depth
        for _ in range(iterations):
            if ok.any():  # after a step no hand took, the state, its cost and its normal equations are unchanged
                huber_w, depth_w = p.huber_weights(state.terms)
                cost = p.keypoint_cost(state.terms, huber_w, depth_w) + state.prior_cost
                hess, grad = p.normal_equations(state, huber_w, depth_w)
                diag = np.einsum("bii->bi", hess)
            step = np.linalg.solve(hess + (lam[:, None] * (diag + 1e-6))[:, :, None] * eye,
                                   grad[..., None])[..., 0]
            trial = p.evaluate(state.rot @ axis_angle_to_matrix(-step[:, :48].reshape(b, 16, 3)),
                               state.transl - step[:, 48:51],
                               state.log_scale - step[:, 51] if p.depth is not None else state.log_scale)
            new_cost = p.keypoint_cost(trial.terms, huber_w, depth_w) + trial.prior_cost
            ok = (new_cost < cost) & (trial.kp[..., 2].min(1) > MIN_DEPTH_M)
            state = state.where(ok, trial)
            lam = np.where(ok, lam / 3.0, lam * 4.0)
        cost = p.keypoint_cost(state.terms, *p.huber_weights(state.terms)) + state.prior_cost
        cost = np.where(np.isfinite(cost) & np.all(np.isfinite(state.kp), axis=(1, 2)), cost, np.inf)
        reproj = np.linalg.norm(state.terms.keypoints * p.scale[:, None, None], axis=-1)[:, MP_TO_INTERNAL]
        scale_out = np.exp(state.log_scale)
        agreement = np.full(b, np.nan)
        if p.depth is not None and state.terms.depth is not None:
            sampled = p.depth_precision > 0
            inside = sampled & (state.terms.depth**2 * p.depth_precision <= 9.0)
            with np.errstate(invalid="ignore"):  # a hand without samples: NaN
                agreement = inside.sum(1) / sampled.sum(1)
        return CameraFit(state.rot, state.transl, state.kp[:, MP_TO_INTERNAL] * scale_out[:, None, None], reproj,
                         cost, np.full(b, cold), scale_out, agreement)


@dataclass
class _Terms:
    keypoints: np.ndarray  # (B, 21, 2) reprojection residuals in units of the hand scale (internal order)
    cues: np.ndarray  # (C, B, 63) per cue: residual minus the cue's mean error
    depth: np.ndarray | None  # (B, 21) skin depth minus measured depth, metres (internal order); None: no depth


@dataclass
class _State:
    """A pose of B hands with what the solver needs of it: global rotations ``a`` and joint positions ``o``
    (forward kinematics), keypoints (internal order), residual terms, and the cost of everything but the
    keypoints (cue priors, pose prior, joint limits; it does not depend on the keypoints' Huber weights)."""

    rot: np.ndarray
    transl: np.ndarray
    log_scale: np.ndarray  # (B,)
    a: np.ndarray
    o: np.ndarray
    kp: np.ndarray  # (B, 21, 3) the model's size (without the scale), internal order
    terms: _Terms
    prior_cost: np.ndarray

    def where(self, take: np.ndarray, other: _State) -> _State:
        """Per hand, ``other`` where ``take`` else this state."""
        if take.all():
            return other
        if not take.any():
            return self

        def pick(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return np.where(take.reshape(-1, *([1] * (x.ndim - 1))), y, x)

        depth = None
        if self.terms.depth is not None and other.terms.depth is not None:
            depth = pick(self.terms.depth, other.terms.depth)
        terms = _Terms(pick(self.terms.keypoints, other.terms.keypoints),
                       np.where(take[None, :, None], other.terms.cues, self.terms.cues), depth)
        return _State(pick(self.rot, other.rot), pick(self.transl, other.transl),
                      pick(self.log_scale, other.log_scale), pick(self.a, other.a), pick(self.o, other.o),
                      pick(self.kp, other.kp), terms, pick(self.prior_cost, other.prior_cost))


class _Problem:
    """One fit's data: observations in internal keypoint order, cue frames and directions, and the terms."""

    def __init__(self, f: CameraSpaceFitter, obs: KeypointObservation, scale_prior: np.ndarray,
                 scale_sd: float) -> None:
        self.f = f
        self.scale_prior, self.scale_sd = scale_prior, scale_sd
        b = obs.batch
        self.uv = np.asarray(obs.keypoints_uv, dtype=np.float64)
        self.weights = None if obs.weights is None else np.asarray(obs.weights, dtype=np.float64)
        self.uvt = self.uv[:, INTERNAL_TO_MP]
        w = np.ones((b, NUM_KEYPOINTS)) if self.weights is None else self.weights[:, INTERNAL_TO_MP]
        self.precision = w * f._kp_precision
        self.rest = f._rest1  # batch 1: broadcasts over the B hands
        self.cue_shapes = np.stack([cue_shape(name, obs.landmarks_25d, obs.world_m, gain)
                                    for name, gain in zip(CUES, f._cue_gains, strict=True)])  # (C, B, 21, 3)
        self.cue_frames = hand_frame(f._rest_palm, self.cue_shapes)  # (C, B, 3, 3)
        # each cue's bone directions in its own hand frame, laid out as the residual: (C, B, 60)
        self.cue_dirs = (bone_directions(self.cue_shapes) @ self.cue_frames).reshape(len(CUES), b, -1)
        self.scale = np.ones(b)
        # depth samples (internal order) and their precision: 1 / (sensor noise^2 + the model's surface error^2)
        self.depth: np.ndarray | None = None
        if obs.depth_m is not None:
            d = np.asarray(obs.depth_m, dtype=np.float64)[:, INTERNAL_TO_MP]
            valid = np.isfinite(d)
            self.depth = np.where(valid, d, 1.0)
            sigma2 = (f.depth_noise * self.depth**2) ** 2 + f.surface_sigma_m**2
            self.depth_precision = np.where(valid, 1.0 / sigma2, 0.0)
            self.offsets = f.surface_offsets[INTERNAL_TO_MP]

    def evaluate(self, rot: np.ndarray, transl: np.ndarray, log_scale: np.ndarray, first: bool = False) -> _State:
        """The solver's view of a pose; ``first`` also fixes the keypoint noise scale from its depth."""
        a, o, kp = forward(rot, transl, self.rest)
        if first:  # keypoint noise in normalised coordinates: sigma (hand lengths) x hand length / wrist depth
            self.scale = self.f._hand_length / np.maximum(kp[:, 0, 2], MIN_DEPTH_M)
        terms = self.terms(rot, kp, log_scale)
        return _State(rot, transl, log_scale, a, o, kp, terms, self.prior_cost(terms, rot, log_scale))

    def skin_depth(self, kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`_skin_depth` of internal-order keypoints (B, 21, 3) in the model's size."""
        return _skin_depth(kp, self.offsets)

    def depth_scale(self, rot: np.ndarray, transl: np.ndarray) -> np.ndarray:
        """(B,) the scale that best puts a posed hand's skin on the depth samples (median ratio; the prior's
        mean where a hand has fewer than 3 samples)."""
        if self.depth is None:
            return self.scale_prior
        skin, _ = self.skin_depth(forward(rot, transl, self.rest)[2])
        return _median_ratio(np.where(self.depth_precision > 0, self.depth, np.nan), skin, self.scale_prior, 3)

    def terms(self, rot: np.ndarray, kp: np.ndarray, log_scale: np.ndarray) -> _Terms:
        b = len(rot)
        r2 = (kp[..., :2] / kp[..., 2:3] - self.uvt) / self.scale[:, None, None]
        bones = kp.swapaxes(1, 2) @ self.f._bones  # (B, 3, 20)
        dirs = (rot[:, 0].swapaxes(1, 2) @ bones) / self.f._bone_len  # model bones in its root frame
        orient = matrix_to_axis_angle(self.cue_frames.swapaxes(-1, -2) @ rot[:, 0])  # (C, B, 3)
        local = dirs.swapaxes(1, 2).reshape(b, -1) - self.cue_dirs  # (C, B, 60)
        depth = None
        if self.depth is not None:
            depth = np.exp(log_scale)[:, None] * self.skin_depth(kp)[0] - self.depth
        return _Terms(r2, np.concatenate([orient, local], axis=-1) - self.f._cue_means[:, None], depth)

    def huber_weights(self, t: _Terms) -> tuple[np.ndarray, np.ndarray | None]:
        """(B, 21) precision of each keypoint, and of each depth sample (None without depth), with the Huber
        weight of its current residual."""
        kw = _huber(self.precision, (t.keypoints**2).sum(-1), self.f.huber)
        if t.depth is None:
            return kw, None
        return kw, _huber(self.depth_precision, t.depth**2, self.f.huber)

    def keypoint_rms(self, reprojection_mp: np.ndarray) -> np.ndarray:
        """(B,) RMS keypoint residual in standard deviations, from MediaPipe-order image errors."""
        r = reprojection_mp[:, MP_TO_INTERNAL] / self.scale[:, None]
        return np.sqrt((self.precision * r**2).sum(1) / NUM_KEYPOINTS)

    @staticmethod
    def keypoint_cost(t: _Terms, huber_w: np.ndarray, depth_w: np.ndarray | None) -> np.ndarray:
        """(B,) weighted sum of squared keypoint (and depth) residuals."""
        cost = (huber_w * (t.keypoints**2).sum(-1)).sum(1)
        if t.depth is not None and depth_w is not None:
            cost = cost + (depth_w * t.depth**2).sum(1)
        return cost

    def prior_cost(self, t: _Terms, rot: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
        """(B,) cue priors (Mahalanobis), pose prior, joint-limit violations and (with depth) the scale prior."""
        cues = ((t.cues[:, :, None] @ self.f._cue_precisions[:, None])[:, :, 0] * t.cues).sum((0, 2))
        cost = cues + self.f._prior.cost(rot)
        if self.depth is not None:
            cost = cost + ((log_scale - np.log(self.scale_prior)) / self.scale_sd) ** 2
        return cost

    def normal_equations(self, state: _State, huber_w: np.ndarray, depth_w: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Newton Hessian (B, P, P) and gradient (B, P) of the cost at ``state`` (P = 51, or 52 with
        depth: the log scale last)."""
        rot, a, o, kp, t = state.rot, state.a, state.o, state.kp, state.terms
        b = len(rot)
        jt = keypoint_jacobian_t(a, o, kp)  # d keypoints / d params (B, 51, 63), columns coordinate-major
        # keypoint reprojection: d(x/z, y/z) = (dx - u dz) / z, (dy - v dz) / z
        z = kp[..., 2][:, None]
        u, v = kp[..., 0][:, None] / z, kp[..., 1][:, None] / z
        sw = np.sqrt(huber_w)[:, None] / (self.scale[:, None, None] * z)
        jx, jy, jz = jt[:, :, :21], jt[:, :, 21:42], jt[:, :, 42:]
        j2 = np.concatenate([(jx - u * jz) * sw, (jy - v * jz) * sw], axis=2)  # (B, 51, 42)
        r2 = np.concatenate([t.keypoints[..., 0], t.keypoints[..., 1]], axis=1) * np.sqrt(
            np.concatenate([huber_w, huber_w], axis=1))
        hess = j2 @ j2.swapaxes(1, 2)
        grad = (j2 @ r2[..., None])[..., 0]
        # cue priors: the orientation residual moves with the root rotation (d/d delta_0 = I), the bone
        # directions in the root frame with joints 1-15 only (jdir); every cue has this same Jacobian
        jb = (jt[:, 3:48].reshape(b, 45, 3, 21) @ self.f._bones) / self.f._bone_len  # (B, 45, 3, 20)
        jdir = (np.swapaxes(rot[:, 0], 1, 2)[:, None] @ jb).swapaxes(2, 3).reshape(b, 45, 60)
        prec = self.f._cue_precision
        jp = jdir @ prec[3:]  # (B, 45, 63)
        hess[:, :3, :3] += prec[:3, :3]
        hess[:, 3:48, :3] += jp[:, :, :3]
        hess[:, :3, 3:48] += jp[:, :, :3].swapaxes(1, 2)
        hess[:, 3:48, 3:48] += jp[:, :, 3:] @ jdir.swapaxes(1, 2)
        g = (t.cues[:, :, None] @ self.f._cue_precisions[:, None])[:, :, 0].sum(0)
        grad[:, :3] += g[:, :3]
        grad[:, 3:48] += (jdir @ g[:, 3:, None])[..., 0]
        self.f._prior.add_normal_equations(rot, hess, grad)
        if self.depth is None or t.depth is None or depth_w is None:
            return hess, grad
        # depth: r = s * skin(kp) - d; dr/dparams = s * factor * dz/dparams, dr/dlog s = s * skin(kp)
        s = np.exp(state.log_scale)
        skin, factor = self.skin_depth(kp)
        jd = np.concatenate([jz * (s[:, None] * factor)[:, None, :], (s[:, None] * skin)[:, None, :]], axis=1)
        full = np.zeros((b, N_PARAMS + 1, N_PARAMS + 1))
        full[:, :N_PARAMS, :N_PARAMS] = hess
        full += (jd * depth_w[:, None, :]) @ jd.swapaxes(1, 2)
        full[:, N_PARAMS, N_PARAMS] += 1.0 / self.scale_sd**2
        g = np.zeros((b, N_PARAMS + 1))
        g[:, :N_PARAMS] = grad
        g += (jd @ (depth_w * t.depth)[..., None])[..., 0]
        g[:, N_PARAMS] += (state.log_scale - np.log(self.scale_prior)) / self.scale_sd**2
        return full, g


def _huber(precision: np.ndarray, squared: np.ndarray, h: float) -> np.ndarray:
    """``precision`` times the Huber weight of residuals whose squared norms are ``squared``: 1 up to ``h``
    standard deviations, ``h / e`` beyond."""
    e = np.sqrt(precision * squared)
    return precision * np.where(e <= h, 1.0, h / np.maximum(e, 1e-12))


def _skin_depth(kp: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, 21) depth of the skin in front of each keypoint (B, 21, 3) (the keypoint moved towards the camera
    along its ray by its surface offset (21,), same order and size), and the derivative factor d(skin z) /
    d(keypoint z) (taken at a fixed ray direction)."""
    factor = 1.0 - offsets / np.maximum(np.linalg.norm(kp, axis=-1), MIN_DEPTH_M)
    return kp[..., 2] * factor, factor


def _median_ratio(depth: np.ndarray, skin: np.ndarray, fallback: np.ndarray, min_samples: int) -> np.ndarray:
    """(B,) per hand the median of depth / skin over its samples (NaN depth: none), or ``fallback`` where it has
    fewer than ``min_samples`` or the median is not a positive number. (np.nanmedian costs 0.5 ms on one row.)"""
    out = np.asarray(fallback, dtype=np.float64).copy()
    valid = np.isfinite(depth) & (skin > 0)
    for i in np.nonzero(valid.sum(1) >= min_samples)[0]:
        ratio = float(np.median(depth[i, valid[i]] / skin[i, valid[i]]))
        if np.isfinite(ratio) and ratio > 0:
            out[i] = ratio
    return out


def _select(obs: KeypointObservation, index: np.ndarray) -> KeypointObservation:
    return KeypointObservation(obs.keypoints_uv[index], obs.landmarks_25d[index], obs.world_m[index],
                               None if obs.weights is None else obs.weights[index],
                               None if obs.depth_m is None else obs.depth_m[index])
