"""One Euro filter (Casiez, Roussel and Vogel, CHI 2012) on arrays, driven by image stamps.

An exponential smoother whose cut-off frequency rises with the signal's speed: slow motion is smoothed hard
(low jitter), fast motion passes with little lag. Per element:
``cutoff = min_cutoff + beta * |filtered derivative|``, ``alpha = 1 / (1 + 1 / (2 pi cutoff dt))``.
Units: stamps in seconds, cut-offs in Hz, ``beta`` in 1 / (units of the signal) (so it depends on whether the
signal is in metres or pixels).

Stamps: a repeated stamp returns the previous output unchanged; a stamp going backwards by less than
``max_gap_s`` is ignored (previous output); a larger jump either way (or a gap longer than ``max_gap_s``)
resets the filter to the new sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroParams:
    """``min_cutoff`` Hz (lower = smoother at rest), ``beta`` (higher = less lag in motion),
    ``d_cutoff`` Hz."""

    min_cutoff: float = 1.0
    beta: float = 0.0
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        if not (self.min_cutoff > 0 and self.d_cutoff > 0 and self.beta >= 0):
            raise ValueError(f"need min_cutoff > 0, d_cutoff > 0, beta >= 0; got {self}")


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters arrays of a fixed shape. Call with ``(stamp_s, value)``; returns the filtered array."""

    def __init__(self, params: OneEuroParams | None = None, max_gap_s: float = 0.5) -> None:
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s must be positive seconds, got {max_gap_s}")
        self.params = params or OneEuroParams()
        self.max_gap_s = float(max_gap_s)
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    @property
    def initialised(self) -> bool:
        return self._x is not None

    def reset(self) -> None:
        self._x = self._dx = None
        self._t = None

    def __call__(self, stamp_s: float, value: np.ndarray) -> np.ndarray:
        x = np.asarray(value, dtype=np.float64)
        if not math.isfinite(stamp_s):
            raise ValueError(f"stamp must be a finite number of seconds, got {stamp_s}")
        if self._x is not None and x.shape != self._x.shape:
            raise ValueError(f"value shape changed from {self._x.shape} to {x.shape}; call reset() first")
        if not np.all(np.isfinite(x)):
            # A hole in the measurement: keep the previous estimate where the input is not finite.
            if self._x is None:
                raise ValueError("first sample after a reset must be finite")
            x = np.where(np.isfinite(x), x, self._x)
        if self._x is None or self._t is None or self._dx is None:
            return self._init(stamp_s, x)
        dt = float(stamp_s) - self._t
        if dt > self.max_gap_s or dt < -self.max_gap_s:
            return self._init(stamp_s, x)
        if dt <= 0.0:
            return self._x.copy()
        p = self.params
        dx = (x - self._x) / dt
        dx_hat = self._dx + _alpha(p.d_cutoff, dt) * (dx - self._dx)
        cutoff = p.min_cutoff + p.beta * np.abs(dx_hat)
        a = _alpha(cutoff, dt)
        self._x = self._x + a * (x - self._x)
        self._dx = dx_hat
        self._t = float(stamp_s)
        return self._x.copy()

    def _init(self, stamp_s: float, x: np.ndarray) -> np.ndarray:
        self._x = x.copy()
        self._dx = np.zeros_like(x)
        self._t = float(stamp_s)
        return x.copy()
