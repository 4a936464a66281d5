"""Online hand-size calibration from depth frames (``hand_size_mode: depth``).

One camera cannot observe scale: a monocular fit places a hand of the configured length, and depth is
proportional to that length. A depth image can: each confident frame with enough depth on the hand gives the
scale that makes the fitted hand agree with the depth surface, i.e. an estimate of the hand's length. The
calibrator collects those estimates per side, locks the size once they agree, and keeps it when depth goes
away, so the monocular frames after it are metric too.

Lock rule: at least ``min_samples`` estimates, and the medians of the older and the newer half of the last
``window`` estimates agree within ``agreement`` (relative); the locked size is the median of that window.
Until then the median of the estimates so far is used ("calibrating").
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..handmodel.hand_length import MAX_HAND_LENGTH_M, MIN_HAND_LENGTH_M
from .types import HandSize

MIN_SAMPLES = 20  # depth frames before the size may lock (2/3 s at 30 fps)
WINDOW = 40  # the lock looks at the last this many estimates
AGREEMENT = 0.01  # relative difference between the halves' medians to lock


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
        if (not self.enabled or self._locked is not None or not np.isfinite(length_m)
                or not MIN_HAND_LENGTH_M <= length_m <= MAX_HAND_LENGTH_M):  # not a hand's length: ignored
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

    @property
    def length_m(self) -> float:
        """The length hands of this side are placed with now, metres."""
        if self._locked is not None:
            return self._locked
        if self._estimates:
            return float(np.median(np.asarray(self._estimates)))
        return self.configured_m

    def state(self) -> HandSize:
        if self._locked is not None:
            return HandSize(self.side, self._locked, "calibrated", self._count)
        if self._estimates:
            return HandSize(self.side, self.length_m, "calibrating", self._count)
        return HandSize(self.side, self.configured_m, "configured", 0)
