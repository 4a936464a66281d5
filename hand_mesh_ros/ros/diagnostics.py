"""A small diagnostics reporter (diagnostic_updater is not in the PyPI wheels): rates, latency, drops, errors,
and in every non-OK status the reason."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


class NodeHealth:
    """Counts what a node does and publishes it on /diagnostics once per period.

    ``frame_in()`` per received frame, ``frame_out(latency_s)`` per published result, ``dropped(n, reason)`` for
    frames given up (warning logged, counted per reason), ``error(kind, detail)`` for each failure (the node goes
    on), ``event(kind, detail, n, warn)`` for something a user should know that is not a failure (logged,
    counted, level unchanged; ``warn``: logged once as a warning instead of as throttled information),
    ``degraded(kind, detail)`` for a frame answered with less than it should have had (e.g. without its depth
    image: throttled warning, status WARN; the caller counts it). ``add_values(provider)`` adds the key/values a
    callable returns to every status. ``watch(topic, type_name)`` names an input subscription; ``set_active()``
    follows the lifecycle.

    Level and message: OK while inactive or working; WARN when frames were dropped, errors happened or frames were
    degraded in the last period (with the last reason), or when no input arrived for ``stale_s`` (naming the
    topics; ERROR if a watched
    topic carries another message type than the one subscribed); ERROR when input arrives but no output for
    ``stale_s``, with the last error or drop reason as the cause.
    """

    LOG_PERIOD_S = 2.0

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
        self.drops: Counter[str] = Counter()
        self._warned: set[str] = set()
        self._logged: dict[str, float] = {}  # key -> when it was last logged
        self._watched: list[tuple[str, str]] = []
        self._active_since: float | None = None
        self._period_errors = 0
        self._period_dropped = 0
        self._period_degraded = 0
        self._last_degraded = ""
        self._values: list[Callable[[], dict[str, str]]] = []
        self.total_dropped = 0
        self.total_in = 0
        self.total_out = 0
        self.last_error = ""
        self._last_problem: tuple[float, str] | None = None  # (when, what) of the last error or drop
        self.extra: dict[str, str] = {}
        self._timer = node.create_timer(period_s, self.publish)

    # ---- counting ---------------------------------------------------------------------------------------
    def frame_in(self) -> None:
        self._inputs.append(time.monotonic())
        self.total_in += 1

    def frame_out(self, latency_s: float) -> None:
        self._outputs.append(time.monotonic())
        self._latencies.append(latency_s)
        self.total_out += 1

    def dropped(self, n: int, reason: str, detail: str) -> None:
        """``n`` frames given up unanswered, for ``reason`` (a short key) explained by ``detail``."""
        self._period_dropped += n
        self.total_dropped += n
        self.drops[reason] += n
        self._last_problem = (time.monotonic(), f"frames dropped ({reason}): {detail}")
        self._log("warning", f"dropped:{reason}", f"dropped {n} frame(s), {reason}: {detail}")

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        self._period_errors += 1
        self.last_error = f"{kind}: {detail}"
        self._last_problem = (time.monotonic(), self.last_error)
        self._log("warning", f"error:{kind}", self.last_error)

    def degraded(self, kind: str, detail: str) -> None:
        """A frame was answered, but with less than it should have had, for ``kind`` (a short key) explained by
        ``detail`` (say the fix): a warning at most once per :attr:`LOG_PERIOD_S` per kind, status WARN."""
        self._period_degraded += 1
        self._last_degraded = f"{kind}: {detail}"
        self._log("warning", f"degraded:{kind}", self._last_degraded)

    def add_values(self, provider: Callable[[], dict[str, str]]) -> None:
        """Add ``provider()``'s key/values (called when a status is built) to every status."""
        self._values.append(provider)

    def event(self, kind: str, detail: str, n: int = 1, warn: bool = False) -> None:
        self.events[kind] += n
        if not warn:
            self._log("info", f"event:{kind}", f"{kind}: {detail}")
        elif kind not in self._warned:
            self._warned.add(kind)
            self._node.get_logger().warning(f"{kind}: {detail} (reported once; counted in diagnostics)")

    def _log(self, level: str, key: str, message: str) -> None:
        """Log at most once per :attr:`LOG_PERIOD_S` per key (rclpy's own throttle is per call site, so one
        kind would silence the others). One call site per severity: rclpy refuses a call site whose severity
        changes between calls (ValueError)."""
        now = time.monotonic()
        if now - self._logged.get(key, -math.inf) < self.LOG_PERIOD_S:
            return
        self._logged[key] = now
        logger = self._node.get_logger()
        if level == "info":
            logger.info(message)
        elif level == "warning":
            logger.warning(message)
        else:
            logger.error(message)

    # ---- inputs and lifecycle ---------------------------------------------------------------------------
    def watch(self, topic: str, type_name: str) -> None:
        """An input this node subscribes: ``topic`` (resolved name) of ``type_name`` (e.g. sensor_msgs/msg/Image)."""
        self._watched.append((topic, type_name))

    def set_active(self, active: bool) -> None:
        self._active_since = time.monotonic() if active else None
        if not active:
            self._watched = []

    def input_problem(self) -> tuple[Any, str] | None:
        """(level, message) when the publishers of a watched input topic publish another type, or there are none."""
        silent: list[str] = []
        for topic, type_name in self._watched:
            types = sorted({info.topic_type for info in self._node.get_publishers_info_by_topic(topic)})
            if types and type_name not in types:
                return (DiagnosticStatus.ERROR, f"{topic} is published as {', '.join(types)} but this node "
                        f"subscribes {type_name}: nothing can be received (wrong topic, or image_transport setting?)")
            if not types:
                silent.append(topic)
        if silent:
            return DiagnosticStatus.WARN, f"no publisher on {', '.join(silent)}"
        return None

    # ---- status -----------------------------------------------------------------------------------------
    @staticmethod
    def _rate(stamps: deque[float], now: float, window: float = 5.0) -> float:
        recent = [t for t in stamps if now - t <= window]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def _level(self, now: float) -> tuple[Any, str]:
        if self._active_since is None:
            return DiagnosticStatus.OK, "inactive (lifecycle): not subscribed to any input"
        inputs_recent = bool(self._inputs) and now - self._inputs[-1] < self._stale_s
        outputs_stale = not self._outputs or now - self._outputs[-1] > self._stale_s
        if inputs_recent and outputs_stale:
            cause = "no error or drop recorded (processing slower than the stale time?)"
            if self._last_problem is not None and now - self._last_problem[0] <= self._stale_s:
                cause = self._last_problem[1]
            return DiagnosticStatus.ERROR, f"input arrives but no output for {self._stale_s:.0f} s: {cause}"
        if not inputs_recent and now - self._active_since > self._stale_s:
            problem = self.input_problem()
            if problem is not None and problem[0] == DiagnosticStatus.ERROR:
                self._log("error", "input_type", problem[1])
                return problem
            what = ", ".join(t for t, _ in self._watched) or "the inputs"
            message = f"no input on {what} for {self._stale_s:.0f} s" + (f" ({problem[1]})" if problem else "")
            return DiagnosticStatus.WARN, message
        if self._period_errors or self._period_dropped:
            message = f"{self._period_dropped} dropped, {self._period_errors} errors in the last period"
            if self._last_problem is not None:
                message += f" (last: {self._last_problem[1]})"
            if self._period_degraded:
                message += f"; {self._period_degraded} degraded (last: {self._last_degraded})"
            return DiagnosticStatus.WARN, message
        if self._period_degraded:
            return DiagnosticStatus.WARN, (f"{self._period_degraded} frames degraded in the last period "
                                           f"(last: {self._last_degraded})")
        return DiagnosticStatus.OK, "ok"

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
            **{f"dropped: {k}": str(v) for k, v in sorted(self.drops.items())},
            **{f"errors: {k}": str(v) for k, v in sorted(self.errors.items())},
            **{f"events: {k}": str(v) for k, v in sorted(self.events.items())},
            **self.extra,
        }
        for provider in self._values:
            values.update(provider())
        level, message = self._level(now)
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
        self._period_degraded = 0

    def destroy(self) -> None:
        self._node.destroy_timer(self._timer)
        self._node.destroy_publisher(self._pub)
