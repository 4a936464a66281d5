"""Process entry for our lifecycle nodes: init, optional autostart (configure + activate), spin, clean exit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import TransitionCallbackReturn


def run(make_node: Callable[[], Any]) -> int:
    rclpy.init(args=sys.argv)
    try:
        node = make_node()
    except ValueError as exc:  # a parameter refused at start-up (invalid, or removed): say why, exit 1
        print(f"[FATAL] cannot start: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 1
    code = 0
    try:
        if node.get_parameter("autostart").value:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().fatal("configuration failed; see the error above")
                return 1
            node.trigger_activate()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return code
