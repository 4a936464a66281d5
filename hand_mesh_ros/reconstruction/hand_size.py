"""Online hand-size calibration from depth frames (``hand_size_mode: depth``).

One camera cannot observe scale: a monocular fit places a hand of the configured length, and depth is
proportional to that length. A depth image can: each confident frame with enough depth on the hand gives the
scale that makes the fitted hand agree with the depth surface, i.e. an estimate of the hand's length. The
calibrator collects those estimates per side, locks the size once they agree, and keeps it when depth goes
away, so the monocular frames after it are metric too.

Lock rule: at least ``min_samples`` estimates, and the medians of the older and the newer half of the last
``window`` estimates agree within ``agreement`` (relative); the locked size is the median of that window.
Until then hands are placed with the configured length; the median of the estimates so far is only reported
("calibrating"), so that a few wrong estimates cannot move the monocular frames. Estimates more than
``SIZE_TOLERANCE`` from the configured length are not a hand's size (:meth:`HandSizeCalibrator.plausible`:
depth in the wrong units, or not registered to the image) and are refused.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..handmodel.hand_length import MAX_HAND_LENGTH_M, MIN_HAND_LENGTH_M
from .types import HandSize

MIN_SAMPLES = 20  # depth frames before the size may lock (2/3 s at 30 fps)
WINDOW = 40  # the lock looks at the last this many estimates
AGREEMENT = 0.01  # relative difference between the halves' medians to lock
# A depth estimate of the hand length is plausible within this factor of hand_length_m (the adult range
# 0.16-0.21 m lies within it of the default 0.187 m, and so do a landmark network's 10 % short fingers).
SIZE_TOLERANCE = 1.3


class HandSizeCalibrator:
    """The hand length of one side: configured, calibrating from depth, or calibrated (locked).

    ``configured_m``: the ``hand_length_m`` setting; ``enabled``: False for ``hand_size_mode: fixed``
    (estimates are ignored and the size stays configured).
    """

    def __init__(self, side: str, configured_m: float, enabled: bool, min_samples: int = MIN_SAMPLES,
                 window: int = WINDOW, agreement: float = AGREEMENT) -> None:
        if min_samples < 2 or window < min_samples or agreement <= 0:
            raise ValueError("need min_samples >= 2, window >= min_samples and agreement > 0")
        self.side, self.configured_m, self.enabled = side, float(configured_m), bool(enabled)
        self.min_samples, self.agreement = min_samples, agreement
        self._estimates: deque[float] = deque(maxlen=window)
        self._count = 0
        self._locked: float | None = None

    @property
    def locked(self) -> bool:
        return self._locked is not None

    def add(self, length_m: float) -> bool:
        """One depth frame's estimate of the hand length (metres). Returns True when this estimate locked the
        size (the caller then rebuilds its hand model at :attr:`length_m`)."""
        if not self.enabled or self._locked is not None or not self.plausible(length_m):
            return False
        self._estimates.append(float(length_m))
        self._count += 1
        n = len(self._estimates)
        if self._count < self.min_samples:
            return False
        values = np.asarray(self._estimates)
        older, newer = np.median(values[: n // 2]), np.median(values[n // 2:])
        if abs(newer - older) > self.agreement * 0.5 * (newer + older):
            return False
        self._locked = float(np.median(values))
        return True

    def plausible(self, length_m: float) -> bool:
        """Whether a depth-measured hand length (metres) can be this hand's: within :data:`SIZE_TOLERANCE` of the
        configured length and inside the ``hand_length_m`` setting's range."""
        return bool(np.isfinite(length_m) and MIN_HAND_LENGTH_M <= length_m <= MAX_HAND_LENGTH_M
                    and self.configured_m / SIZE_TOLERANCE <= length_m <= self.configured_m * SIZE_TOLERANCE)

    @property
    def length_m(self) -> float:
        """The length hands of this side are placed with now, metres: the locked size, else the configured."""
        return self._locked if self._locked is not None else self.configured_m

    def state(self) -> HandSize:
        """What to report: the locked size, the median of the estimates so far (not used yet), or the
        configured length."""
        if self._locked is not None:
            return HandSize(self.side, self._locked, "calibrated", self._count)
        if self._estimates:
            return HandSize(self.side, float(np.median(np.asarray(self._estimates))), "calibrating", self._count)
        return HandSize(self.side, self.configured_m, "configured", 0)
