"""Interacting multiple model (IMM) filter of constant-velocity Kalman filters, one bank per coordinate.

Each coordinate of the signal is tracked by M constant-velocity Kalman filters (state: position, velocity)
that differ only in their process noise, a white acceleration of standard deviation ``accel_std[m]``: a quiet
model smooths hard while the signal is still or moves steadily, a manoeuvre model follows sudden starts and
stops. Every frame the models are mixed by their probabilities (Markov switching), each is updated with the
measurement, and their probabilities are re-weighted by how well each predicted it (Blom and Bar-Shalom,
IEEE TAC 1988; Bar-Shalom, Li and Kirubarajan, *Estimation with Applications to Tracking and Navigation*,
2001, ch. 11). The output is the probability-weighted mean position.

A constant-velocity model has no steady-state lag on motion at constant speed (unlike a low-pass filter such
as One Euro), and the manoeuvre model takes over within a frame or two when the motion changes, so a hand that
stops dead does not overshoot by more than the measurement allows.

Units: stamps in seconds; positions in the signal's units (metres, normalised image units, ...); ``sigma``
(measurement noise) in the same units; ``accel_std`` in those units per s^2.

Stamps: a repeated stamp, or one stepping back by less than ``max_gap_s``, returns the previous estimate; a
gap longer than ``max_gap_s`` either way restarts the filter at the new sample. Non-finite measurement entries
are not used (those coordinates are predicted only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

DEFAULT_MODEL_DWELL_S = 3.0  # mean time the motion stays in one model before switching, seconds
_INITIAL_SPEED_STD = 1.0  # prior spread of the velocity of a new track, signal units per second
# Predictions use the velocity of the filter's own output, smoothed with this time constant (seconds), not the
# models' velocity states: a model whose acceleration noise dwarfs the measurement noise is an alpha-beta filter
# with beta near 2, whose velocity rings (+v, -v, +v, ...) for several frames after a dead stop while its
# position stays put.
OUTPUT_VELOCITY_TAU_S = 0.01


class ConstantVelocityIMM:
    """Filters arrays of ``D`` coordinates. ``accel_std``: the models' acceleration standard deviations
    (signal units / s^2, at least one; ascending by convention)."""

    def __init__(self, accel_std: Sequence[float], max_gap_s: float = 0.5,
                 model_dwell_s: float = DEFAULT_MODEL_DWELL_S) -> None:
        acc = np.asarray(accel_std, dtype=np.float64).reshape(-1)
        if acc.size < 1 or not np.all(np.isfinite(acc)) or np.any(acc <= 0):
            raise ValueError(f"accel_std needs positive finite values, got {accel_std}")
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s must be positive seconds, got {max_gap_s}")
        if not model_dwell_s > 0:
            raise ValueError(f"model_dwell_s must be positive seconds, got {model_dwell_s}")
        self.accel_std = acc
        self.max_gap_s = float(max_gap_s)
        self.model_dwell_s = float(model_dwell_s)
        # per model and coordinate: position, velocity and the covariance's three entries (written out: the
        # 2x2 algebra on (M, D) arrays costs a fraction of batched 2x2 matrices)
        self._x: np.ndarray | None = None  # (M, D) position
        self._v: np.ndarray | None = None  # (M, D) velocity
        self._p: np.ndarray | None = None  # (3, M, D) covariance: var(x), cov(x, v), var(v)
        self._mu: np.ndarray | None = None  # (M, D) model probabilities
        self._t: float | None = None
        self._out: np.ndarray | None = None  # (D,) the last output
        self._out_velocity: np.ndarray | None = None  # (D,) the output's smoothed velocity (for predictions)

    @property
    def initialised(self) -> bool:
        return self._x is not None

    @property
    def num_models(self) -> int:
        return int(self.accel_std.size)

    def reset(self) -> None:
        self._x = self._v = self._p = self._mu = None
        self._out = self._out_velocity = None
        self._t = None

    def estimate(self) -> tuple[np.ndarray, np.ndarray]:
        """The current position and velocity estimates, each (D,). Raises RuntimeError before the first
        sample."""
        if self._x is None or self._v is None or self._mu is None:
            raise RuntimeError("the filter has no sample yet")
        return (self._mu * self._x).sum(0), (self._mu * self._v).sum(0)

    def model_probabilities(self) -> np.ndarray:
        """(M, D) probability of each model per coordinate (for diagnostics and tests)."""
        if self._mu is None:
            raise RuntimeError("the filter has no sample yet")
        return self._mu.copy()

    def predict(self, stamp_s: float, damping_s: float = math.inf) -> np.ndarray:
        """Where the signal is expected at ``stamp_s`` without a new measurement (D,): the output's recent
        velocity (:data:`OUTPUT_VELOCITY_TAU_S`) carried forward from the last output, fading with time constant
        ``damping_s`` (inf: constant velocity), so a prediction never travels further than
        ``speed * damping_s``. Does not change the filter. Raises RuntimeError before the first sample."""
        if self._out is None or self._out_velocity is None or self._t is None:
            raise RuntimeError("the filter has no sample yet")
        dt = max(0.0, float(stamp_s) - self._t)
        reach = dt if math.isinf(damping_s) else damping_s * (1.0 - math.exp(-dt / damping_s))
        return self._out + self._out_velocity * reach

    def __call__(self, stamp_s: float, value: np.ndarray, sigma: np.ndarray | float,
                 accel_scale: float = 1.0) -> np.ndarray:
        """Update with a measurement (D,) of standard deviation ``sigma`` (scalar or (D,), > 0) taken at
        ``stamp_s``; ``accel_scale`` multiplies every model's acceleration (e.g. 1 / depth for a signal in
        normalised image units). Returns the filtered position (D,)."""
        z = np.asarray(value, dtype=np.float64).reshape(-1)
        if not math.isfinite(stamp_s):
            raise ValueError(f"stamp must be a finite number of seconds, got {stamp_s}")
        r = np.broadcast_to(np.asarray(sigma, dtype=np.float64), z.shape) ** 2
        if not np.all(r > 0):
            raise ValueError("measurement noise sigma must be positive")
        if self._x is not None and z.shape[0] != self._x.shape[1]:
            raise ValueError(f"value size changed from {self._x.shape[1]} to {z.shape[0]}; call reset() first")
        seen = np.isfinite(z)
        if self._x is None or self._t is None:
            return self._start(stamp_s, z, r, seen)
        dt = float(stamp_s) - self._t
        if dt > self.max_gap_s or dt < -self.max_gap_s:
            self.reset()
            return self._start(stamp_s, z, r, seen)
        if dt <= 0.0:
            return self.estimate()[0]
        assert self._v is not None and self._p is not None and self._mu is not None
        m = self.num_models
        # 1. mixing: each model starts from a blend of all models' states, weighted by the switching odds
        switch = 1.0 - math.exp(-dt / self.model_dwell_s)
        trans = np.full((m, m), switch / max(m - 1, 1))
        np.fill_diagonal(trans, 1.0 - switch if m > 1 else 1.0)
        prior = trans.T @ self._mu  # (M, D)
        w = trans[:, :, None] * self._mu[:, None, :] / np.maximum(prior[None], 1e-300)  # (from, to, D)
        x0 = (w * self._x[:, None]).sum(0)
        v0 = (w * self._v[:, None]).sum(0)
        dx = self._x[:, None] - x0[None]
        dv = self._v[:, None] - v0[None]
        p00 = (w * (self._p[0][:, None] + dx * dx)).sum(0)
        p01 = (w * (self._p[1][:, None] + dx * dv)).sum(0)
        p11 = (w * (self._p[2][:, None] + dv * dv)).sum(0)
        # 2. predict with the constant-velocity model and each model's white acceleration (noise gain g)
        q = ((self.accel_std * accel_scale) ** 2)[:, None]
        g0, g1 = 0.5 * dt * dt, dt
        xp = x0 + dt * v0
        p00 = p00 + dt * (2.0 * p01 + dt * p11) + q * (g0 * g0)
        p01 = p01 + dt * p11 + q * (g0 * g1)
        p11 = p11 + q * (g1 * g1)
        # 3. update the coordinates that were measured; the others keep their prediction
        s = p00 + r[None]
        nu = np.where(seen[None], np.nan_to_num(z)[None] - xp, 0.0)
        k0 = np.where(seen[None], p00 / s, 0.0)
        k1 = np.where(seen[None], p01 / s, 0.0)
        self._x = xp + k0 * nu
        self._v = v0 + k1 * nu
        self._p = np.stack([p00 - k0 * p00, p01 - k0 * p01, p11 - k1 * p01])
        # 4. model probabilities from each model's predictive likelihood (log domain for stability)
        loglik = np.where(seen[None], -0.5 * (nu * nu / s + np.log(2.0 * np.pi * s)), 0.0)
        logpost = np.log(np.maximum(prior, 1e-300)) + loglik
        logpost -= logpost.max(axis=0, keepdims=True)
        post = np.exp(logpost)
        self._mu = post / post.sum(axis=0, keepdims=True)
        self._t = float(stamp_s)
        out = self.estimate()[0]
        assert self._out is not None and self._out_velocity is not None
        blend = 1.0 - math.exp(-dt / OUTPUT_VELOCITY_TAU_S)
        self._out_velocity += blend * ((out - self._out) / dt - self._out_velocity)
        self._out = out
        return out.copy()

    def _start(self, stamp_s: float, z: np.ndarray, r: np.ndarray, seen: np.ndarray) -> np.ndarray:
        if not np.all(seen):
            raise ValueError("first sample after a reset must be finite")
        m, d = self.num_models, z.shape[0]
        self._x = np.repeat(z[None], m, axis=0)
        self._v = np.zeros((m, d))
        self._p = np.zeros((3, m, d))
        self._p[0] = r
        self._p[2] = _INITIAL_SPEED_STD**2
        self._mu = np.full((m, d), 1.0 / m)
        self._t = float(stamp_s)
        self._out = z.copy()
        self._out_velocity = np.zeros(d)
        return z.copy()
