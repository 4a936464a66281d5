"""When the palm detector should run on a frame (the detector node's policy; no ROS)."""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("on_demand", "every_frame", "every_n")
JUMP_BACK_S = 1.0  # image stamps this much older than the last report: the stream restarted


@dataclass
class DetectionScheduler:
    """``every_frame``: always. ``every_n``: every n-th frame. ``on_demand`` (MediaPipe's behaviour, the
    default): when fewer than ``max_hands`` hands are tracked: at once when none is tracked, else every
    n-th frame to look for more; never while ``max_hands`` are tracked. Tracking reports older than
    ``timeout_s`` (the reconstruction stopped answering) count as "none tracked". Times are image stamps.
    """

    mode: str = "on_demand"
    every_n: int = 10
    max_hands: int = 2
    timeout_s: float = 0.5
    _tracked: int = 0
    _tracked_stamp: float | None = None
    _since_detection: int = 10**9

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"detection mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.every_n < 1:
            raise ValueError(f"every_n must be >= 1, got {self.every_n}")

    def report_tracked(self, count: int, stamp_s: float) -> None:
        """The reconstruction tracks ``count`` hands into the frame after ``stamp_s``."""
        if self._tracked_stamp is None or stamp_s >= self._tracked_stamp - JUMP_BACK_S:
            self._tracked, self._tracked_stamp = int(count), float(stamp_s)

    def should_detect(self, stamp_s: float) -> bool:
        """Decide for the frame at ``stamp_s`` (and count it)."""
        self._since_detection += 1
        if self._tracked_stamp is not None and stamp_s < self._tracked_stamp - JUMP_BACK_S:
            self._tracked, self._tracked_stamp = 0, None  # a replay or loop restarted: nothing is tracked
        if self.mode == "every_frame":
            run = True
        elif self.mode == "every_n":
            run = self._since_detection >= self.every_n
        else:
            stale = self._tracked_stamp is None or stamp_s - self._tracked_stamp > self.timeout_s
            tracked = 0 if stale else self._tracked
            run = tracked == 0 or (tracked < self.max_hands and self._since_detection >= self.every_n)
        if run:
            self._since_detection = 0
        return run
