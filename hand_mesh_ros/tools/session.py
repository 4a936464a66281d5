"""Drive the two nodes from one process: start them, feed frames as a camera would, collect the results.

The demo, the bag replay and the benchmark use this; so does the node test. Everything stays on loopback
DDS (the nodes are started with :class:`~.launcher.NodeProcesses`, which refuses otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor

from ..geometry.camera import CameraModel
from ..ros.camera_info import camera_info_from_model
from .bag_io import BagRecorder, type_name
from .launcher import NodeProcesses
from .player import FramePlayer
from .result_listener import OUTPUT_TOPICS, ResultListener

# where the fed frames are recorded
IMAGE_TOPIC = "/camera/image_raw"
COMPRESSED_IMAGE_TOPIC = f"{IMAGE_TOPIC}/compressed"
CAMERA_INFO_TOPIC = "/camera/camera_info"


@dataclass(frozen=True)
class FrameOutcome:
    """What came back for one fed frame: the HandArray (None when none arrived in time) and the latency
    from publishing the image to receiving its HandArray, seconds."""

    index: int
    stamp_ns: int
    hands: Any | None
    latency_s: float | None


class PipelineSession:
    """Context manager: nodes running, a driver node publishing ``image``/``camera_info`` and listening.

    ``recorder``: inputs and outputs are written to it (bag time = the image stamp for inputs and
    stamped outputs). ``params``: per-executable ROS parameters (``name:=value`` strings).
    ``single_node``: run only the reconstruction node, with its own palm detector. ``listen``: the output
    topics to subscribe to besides ``hands`` (fewer = less work for this process). ``remaps``: ROS remappings
    for both nodes (e.g. ``image:=/camera/image_raw`` to run on a live camera instead of this driver).
    ``compress_images``: record the fed images as JPEG sensor_msgs/CompressedImage on ``IMAGE_TOPIC +
    "/compressed"`` (as image_transport names it; ~20-50x smaller) instead of raw sensor_msgs/Image on
    ``IMAGE_TOPIC``. The nodes always get raw images.
    """

    def __init__(self, frame_id: str = "camera_optical_frame", recorder: BagRecorder | None = None,
                 params: dict[str, Sequence[str]] | None = None, params_file: Path | None = None,
                 log_dir: Path | None = None, keep_markers: bool = False, single_node: bool = False,
                 listen: tuple[str, ...] = OUTPUT_TOPICS, remaps: Sequence[str] = (),
                 compress_images: bool = False) -> None:
        self.frame_id = frame_id
        self.recorder = recorder
        self.compress_images = compress_images
        self._recording = False  # outputs are recorded from the first fed frame on, not during the warm-up
        params = dict(params or {})
        nodes: tuple[str, ...] = ("detector_node", "reconstruction_node")
        if single_node:  # palm detection inside the reconstruction node
            params["reconstruction_node"] = [*params.get("reconstruction_node", ()), "external_detections:=false"]
            nodes = ("reconstruction_node",)
        self._procs = NodeProcesses(params_file=params_file, remaps=remaps, params=params, log_dir=log_dir,
                                    nodes=nodes)
        self._keep_markers = keep_markers
        self._listen = listen
        self.outcomes: list[FrameOutcome] = []

    def __enter__(self) -> PipelineSession:
        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("hand_mesh_driver", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.player = FramePlayer(self.node, self.frame_id)
        self.listener = ResultListener(self.node, self._keep_markers, self._record_output, self._listen)
        if self.recorder is not None:
            self._record_raw()
        self._procs.__enter__()
        return self

    def _record_raw(self) -> None:
        """Record the output topics nobody here reads as they arrive, without deserializing them (a mesh
        MarkerArray costs ~10 ms to turn into Python objects); bag time = arrival time, as ros2 bag does."""
        from diagnostic_msgs.msg import DiagnosticArray
        from tf2_msgs.msg import TFMessage
        from visualization_msgs.msg import MarkerArray

        from hand_mesh_ros.msg import HandDetectionArray, MeshTopology

        from ..ros.qos import LATCHED, RESULTS, TF

        for topic, msg_type, qos in (("hand_markers", MarkerArray, RESULTS), ("/tf", TFMessage, TF),
                                     ("hand_detections", HandDetectionArray, RESULTS),
                                     ("tracked_hands", HandDetectionArray, RESULTS),
                                     ("hand_mesh_topology", MeshTopology, LATCHED),
                                     ("/diagnostics", DiagnosticArray, 10)):
            if topic in self._listen:
                continue
            name = type_name(msg_type())
            bag_topic = topic if topic.startswith("/") else f"/{topic}"

            def write(data: bytes, bag_topic: str = bag_topic, name: str = name,
                      latched: bool = qos is LATCHED) -> None:
                assert self.recorder is not None
                if self._recording or latched:  # the mesh topology comes once, during the warm-up
                    self.recorder.write_serialized(bag_topic, name, data, self.node.get_clock().now().nanoseconds)

            self.node.create_subscription(msg_type, topic, write, qos, raw=True)

    def _record_output(self, topic: str, msg: Any) -> None:
        if self.recorder is None or not self._recording:
            return
        if hasattr(msg, "header"):
            stamp = msg.header.stamp
        elif hasattr(msg, "markers") and msg.markers:
            stamp = msg.markers[0].header.stamp
        elif hasattr(msg, "transforms") and msg.transforms:
            stamp = msg.transforms[0].header.stamp
        else:
            return
        self.recorder.write(topic if topic.startswith("/") else f"/{topic}", msg, stamp.sec * 10**9 + stamp.nanosec)

    def spin(self, seconds: float) -> None:
        """Process incoming messages for ``seconds`` (or until a node process exits)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and self._procs.alive():
            self.executor.spin_once(timeout_sec=min(0.02, max(0.0, end - time.monotonic())))

    def start_recording(self) -> None:
        """Record the nodes' outputs from now on (wait_ready does it after the warm-up)."""
        self._recording = True

    def wait_ready(self, rgb: np.ndarray, camera: CameraModel, timeout_s: float = 120.0,
                   with_header: Callable[[Any], None] | None = None) -> float:
        """Publish ``rgb`` until the nodes answer (models loaded); returns the seconds it took. ``with_header``
        is called with each warm-up image's header (e.g. to publish the depth image that goes with it)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            if not self._procs.alive():
                break
            header = self.player.publish(rgb, camera)
            if with_header is not None:
                with_header(header)
            stamp = (header.stamp.sec, header.stamp.nanosec)
            end = time.monotonic() + 2.0
            while stamp not in self.listener.received.hands and time.monotonic() < end:
                self.executor.spin_once(timeout_sec=0.05)
            if stamp in self.listener.received.hands:
                self.spin(0.3)  # the warm-up frames' last outputs: not recorded
                self.listener.received.hands.clear()
                self.start_recording()
                return time.monotonic() - start
        raise RuntimeError("the nodes did not answer (see their logs below)\n" + self._procs.logs())

    def feed(self, index: int, rgb: np.ndarray, camera: CameraModel, stamp_ns: int, wait_s: float) -> FrameOutcome:
        """Publish one frame (and record it) and wait up to ``wait_s`` for its HandArray."""
        sent = time.monotonic()
        header = self.player.publish(rgb, camera, stamp_ns)
        stamp = (header.stamp.sec, header.stamp.nanosec)
        if self.recorder is not None:
            from ..ros.image_conversion import rgb_to_compressed, rgb_to_image

            # camera info first, as it is published: a reader in bag order has it when the image comes
            self.recorder.write(CAMERA_INFO_TOPIC, camera_info_from_model(camera, header), stamp_ns)
            if self.compress_images:
                self.recorder.write(COMPRESSED_IMAGE_TOPIC, rgb_to_compressed(rgb, header), stamp_ns)
            else:
                self.recorder.write(IMAGE_TOPIC, rgb_to_image(rgb, header), stamp_ns)
        end = sent + wait_s
        while stamp not in self.listener.received.hands and time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.005)
        msg = self.listener.received.hands.get(stamp)
        arrived = self.listener.received.hands_time.get(stamp)
        outcome = FrameOutcome(index, stamp_ns, msg, (arrived - sent) if arrived is not None else None)
        self.outcomes.append(outcome)
        return outcome

    def logs(self) -> str:
        return self._procs.logs()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.spin(0.5)
        finally:
            self._procs.__exit__(et, ev, tb)
            self.executor.shutdown()
            self.node.destroy_node()
            rclpy.shutdown(context=self.context)
