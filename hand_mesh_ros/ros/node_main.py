"""Process entry for our lifecycle nodes: init, optional autostart (configure + activate), spin, clean exit.

Stopping: SIGINT or SIGTERM (Ctrl-C in a terminal, ``ros2 launch`` forwarding it, ``kill``) ends the process
with exit code 0 and no traceback, whenever it arrives and however often. rclpy's own signal handler shuts
the context down (which wakes the executor) and then calls the Python handler that was there before
``rclpy.init``; Python's default one raises ``KeyboardInterrupt``, which a second signal (a terminal sends
SIGINT to the whole process group and ``ros2 launch`` forwards it again) would raise inside
``destroy_node()``. So before ``rclpy.init`` the Python handlers are replaced by ones that only note the
request; they stay in place until the process exits, so a late signal during teardown changes nothing.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.exceptions import InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import TransitionCallbackReturn

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """Python-level SIGINT/SIGTERM handler that records the request instead of raising."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def __call__(self, signum: int, frame: Any) -> None:
        self.received.append(signum)

    def install(self) -> bool:
        """Install for SIGINT and SIGTERM (main thread only; elsewhere Python allows no handlers)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for sig in STOP_SIGNALS:
            signal.signal(sig, self)
        return True

    @property
    def requested(self) -> bool:
        return bool(self.received)


def run(make_node: Callable[[], Any]) -> int:
    stop = StopRequests()
    stop.install()
    rclpy.init(args=sys.argv)
    node = None
    try:
        try:
            node = make_node()
        except (ValueError, InvalidParameterValueException) as exc:  # a parameter refused at start-up (invalid,
            # out of its declared range, or removed): say why, exit 1
            if stop.requested:
                return 0
            print(f"[FATAL] cannot start: {exc}", file=sys.stderr, flush=True)
            return 1
        if node.get_parameter("autostart").value and not stop.requested:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                if stop.requested:  # stopped while the models loaded
                    return 0
                node.get_logger().fatal("configuration failed; see the error above")
                return 1
            if not stop.requested:
                node.trigger_activate()
        if not stop.requested:
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        # Start-up steps that run into a context shut down by a stop request fail; that is the stop, not an
        # error. Anything else is.
        if not stop.requested:
            raise
    finally:
        _teardown(node)
        if stop.requested and threading.current_thread() is threading.main_thread():
            # Python resets handled signals to their default action while it finalizes; a signal arriving
            # then would kill the process (exit code -2). Ignored signals stay ignored.
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
    return 0


def _teardown(node: Any) -> None:
    """Destroy the node and shut rclpy down; a KeyboardInterrupt here (handlers not ours) is ignored."""
    steps = ([node.destroy_node] if node is not None else []) + [rclpy.try_shutdown]
    for step in steps:
        with contextlib.suppress(KeyboardInterrupt):
            step()
