"""Publish frames as a camera would: Image + CameraInfo with equal stamps, sensor-data QoS, real time.

Used by the demo, the tests and the benchmark; also a command for trying the nodes on a video file:

    python -m hand_mesh_ros.tools.player VIDEO_OR_FOLDER [--fps 25] [--focal PX] [--frame camera_optical_frame] \
        [--ros-args -r image:=/camera/image_raw -r camera_info:=/camera/camera_info -r __ns:=/robot1]

It publishes ``image`` and ``camera_info``; ROS arguments after ``--ros-args`` remap them (the launch file's
defaults are ``/camera/image_raw`` and ``/camera/camera_info``).

(the pinhole camera assumed for a video has f = image height and the principal point at the centre
unless --focal is given.)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from rclpy.executors import ExternalShutdownException
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from ..cli import DefaultsHelpFormatter
from ..geometry.camera import CameraModel
from ..ros.camera_info import camera_info_from_model
from ..ros.image_conversion import rgb_to_image
from ..ros.qos import SENSOR
from .frame_source import read_frames, video_fps
from .local_dds import require_local_dds


class FramePlayer:
    """Publishes ``image`` and ``camera_info`` on ``node``; :meth:`publish` sends one frame."""

    def __init__(self, node: Any, frame_id: str = "camera_optical_frame", image_topic: str = "image",
                 info_topic: str = "camera_info") -> None:
        self.node = node
        self.frame_id = frame_id
        self.image_pub = node.create_publisher(Image, image_topic, SENSOR)
        self.info_pub = node.create_publisher(CameraInfo, info_topic, SENSOR)

    def publish(self, rgb: np.ndarray, camera: CameraModel, stamp_ns: int | None = None) -> Header:
        """Publish one frame stamped ``stamp_ns`` (default: now); returns the header used."""
        ns = self.node.get_clock().now().nanoseconds if stamp_ns is None else int(stamp_ns)
        header = Header(frame_id=self.frame_id, stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9))
        self.info_pub.publish(camera_info_from_model(camera, header))
        self.image_pub.publish(rgb_to_image(rgb, header))
        return header


def play(node: Any, frames: Iterable[np.ndarray], fps: float, focal: float | None = None,
         frame_id: str = "camera_optical_frame") -> int:
    """Publish ``frames`` at ``fps`` in real time (spinning ``node`` in between); returns the count."""
    player = FramePlayer(node, frame_id)
    period = 1.0 / fps
    start = time.monotonic()
    count = 0
    for count, rgb in enumerate(frames, start=1):
        h, w = rgb.shape[:2]
        camera = CameraModel.pinhole(w, h, float(focal or h))
        player.publish(rgb, camera)
        while (wait := start + count * period - time.monotonic()) > 0:
            rclpy.spin_once(node, timeout_sec=wait)
    return count


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m hand_mesh_ros.tools.player",
                                     description=__doc__.split("\n\n")[0], formatter_class=DefaultsHelpFormatter)
    parser.add_argument("source", help="video file or folder of images")
    parser.add_argument("--fps", type=float, default=0.0, help="frames per second (default: the video's)")
    parser.add_argument("--focal", type=float, default=None, help="focal length in px (default: height)")
    parser.add_argument("--frame", default="camera_optical_frame", help="frame_id of the images")
    parser.add_argument("--loop", action="store_true", help="start again at the end")
    args = parser.parse_args(remove_ros_args(sys.argv)[1:])
    require_local_dds()
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("hand_mesh_player")
    fps = args.fps or video_fps(args.source)
    try:
        while True:
            n = play(node, read_frames(args.source), fps, args.focal, args.frame)
            node.get_logger().info(f"published {n} frames at {fps:.1f} fps")
            if not args.loop:
                break
    except (KeyboardInterrupt, ExternalShutdownException):  # Ctrl-C
        pass
    finally:
        with contextlib.suppress(Exception):  # a context already shut down by the interrupt
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
