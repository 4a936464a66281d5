"""The demo on a live camera: both nodes on existing image/camera_info topics for a while, outputs recorded.

Latency here is the age of each HandArray when it arrives (now - image stamp), which assumes the camera
stamps with this machine's clock.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor

from .bag_io import BagRecorder
from .launcher import NodeProcesses
from .result_listener import ResultListener


def run_live(image_topic: str, info_topic: str, seconds: float, out: Path) -> int:
    remaps = [f"image:={image_topic}", f"camera_info:={info_topic}"]
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("hand_mesh_live_recorder", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    ages: list[float] = []
    counts: list[int] = []
    with BagRecorder(out / f"live_bag_{int(time.time())}") as bag:
        def record(topic: str, msg: object) -> None:
            header = getattr(msg, "header", None)
            if header is None:
                return
            ns = header.stamp.sec * 10**9 + header.stamp.nanosec
            bag.write(f"/{topic}" if not topic.startswith("/") else topic, msg, ns)
            if topic == "hands":
                ages.append(node.get_clock().now().nanoseconds * 1e-9 - ns * 1e-9)
                counts.append(len(msg.hands))  # type: ignore[attr-defined]

        ResultListener(node, keep_markers=False, on_message=record)
        with NodeProcesses(remaps=remaps, log_dir=out / "logs") as procs:
            end = time.monotonic() + seconds
            while time.monotonic() < end and procs.alive():
                executor.spin_once(timeout_sec=0.05)
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)
    if not ages:
        print(f"no HandArray arrived in {seconds:.0f} s: are {image_topic} and {info_topic} published?")
        return 1
    a = np.array(ages) * 1e3
    print(f"{len(ages)} HandArray messages in {seconds:.0f} s ({len(ages) / seconds:.1f} Hz), "
          f"{sum(c > 0 for c in counts)} with hands; age p50 {np.percentile(a, 50):.1f} ms, "
          f"p95 {np.percentile(a, 95):.1f} ms; bag in {out}")
    return 0
