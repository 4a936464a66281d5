"""A small diagnostics reporter (diagnostic_updater is not in the PyPI wheels): rates, latency, drops, errors."""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


class NodeHealth:
    """Counts what a node does and publishes it on /diagnostics once per period.

    ``frame_in()`` per received frame, ``frame_out(latency_s)`` per published result, ``dropped(n)`` for
    frames skipped, ``error(kind, detail)`` for each failure (the node goes on), ``event(kind, detail, n)`` for
    something a user should know that is not a failure (logged, counted, level unchanged). Level: OK, WARN when
    frames are dropped or errors happened in the last period, ERROR when no output for ``stale_s`` while
    input arrives.
    """

    def __init__(self, node: Any, name: str, period_s: float = 1.0, stale_s: float = 3.0) -> None:
        self._node = node
        self._name = f"{node.get_name()}: {name}"
        self._hardware_id = node.get_fully_qualified_name()
        self._pub = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._stale_s = stale_s
        self._inputs: deque[float] = deque(maxlen=300)
        self._outputs: deque[float] = deque(maxlen=300)
        self._latencies: deque[float] = deque(maxlen=300)
        self.errors: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self._period_errors = 0
        self._period_dropped = 0
        self.total_dropped = 0
        self.total_in = 0
        self.total_out = 0
        self.last_error = ""
        self.extra: dict[str, str] = {}
        self._timer = node.create_timer(period_s, self.publish)

    def frame_in(self) -> None:
        self._inputs.append(time.monotonic())
        self.total_in += 1

    def frame_out(self, latency_s: float) -> None:
        self._outputs.append(time.monotonic())
        self._latencies.append(latency_s)
        self.total_out += 1

    def dropped(self, n: int = 1) -> None:
        self._period_dropped += n
        self.total_dropped += n

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        self._period_errors += 1
        self.last_error = f"{kind}: {detail}"
        self._node.get_logger().warning(self.last_error, throttle_duration_sec=2.0)

    def event(self, kind: str, detail: str, n: int = 1) -> None:
        self.events[kind] += n
        self._node.get_logger().info(f"{kind}: {detail}", throttle_duration_sec=2.0)

    @staticmethod
    def _rate(stamps: deque[float], now: float, window: float = 5.0) -> float:
        recent = [t for t in stamps if now - t <= window]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def status(self) -> DiagnosticStatus:
        now = time.monotonic()
        lat = np.asarray(self._latencies, dtype=np.float64) * 1e3
        values = {
            "input rate (Hz)": f"{self._rate(self._inputs, now):.1f}",
            "output rate (Hz)": f"{self._rate(self._outputs, now):.1f}",
            "latency p50 (ms)": f"{np.percentile(lat, 50):.1f}" if lat.size else "n/a",
            "latency p95 (ms)": f"{np.percentile(lat, 95):.1f}" if lat.size else "n/a",
            "frames in": str(self.total_in),
            "frames out": str(self.total_out),
            "frames dropped": str(self.total_dropped),
            **{f"errors: {k}": str(v) for k, v in sorted(self.errors.items())},
            **{f"events: {k}": str(v) for k, v in sorted(self.events.items())},
            **self.extra,
        }
        level, message = DiagnosticStatus.OK, "ok"
        if self._period_errors or self._period_dropped:
            level = DiagnosticStatus.WARN
            message = f"{self._period_dropped} dropped, {self._period_errors} errors in the last period"
            if self.last_error:
                message += f" (last: {self.last_error})"
        stale_in = self._inputs and now - self._inputs[-1] < self._stale_s
        stale_out = not self._outputs or now - self._outputs[-1] > self._stale_s
        if stale_in and stale_out:
            level, message = DiagnosticStatus.ERROR, f"input arrives but no output for {self._stale_s:.0f} s"
        return DiagnosticStatus(
            level=level,
            name=self._name,
            message=message,
            hardware_id=self._hardware_id,
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )

    def publish(self) -> None:
        array = DiagnosticArray(status=[self.status()])
        array.header.stamp = self._node.get_clock().now().to_msg()
        self._pub.publish(array)
        self._period_errors = 0
        self._period_dropped = 0

    def destroy(self) -> None:
        self._node.destroy_timer(self._timer)
        self._node.destroy_publisher(self._pub)
