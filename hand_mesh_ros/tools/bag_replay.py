"""Replay the images and camera info of a recorded bag through the nodes and record their outputs.

    python -m hand_mesh_ros.tools.bag_replay INPUT_BAG OUTPUT_BAG [--image-topic T] [--info-topic T]
                                          [--storage mcap|sqlite3] [--limit N]

Input: a rosbag2 folder (sqlite3 or MCAP) with sensor_msgs/Image or sensor_msgs/CompressedImage (JPEG/PNG, as
image_transport's ``compressed`` plugin and the demo record them; a raw topic is preferred when the bag has
both) and sensor_msgs/CameraInfo. Each image is
published with its original stamp and frame, together with the latest camera info; the next image goes out
when its HandArray came back (or after a timeout), so the result does not depend on the machine's speed.
Output: a new bag with the inputs and every output topic (hands, hand_detections, hand_markers, /tf), plus
any /ground_truth/* topics copied from the input, ready for ``python -m hand_mesh_ros.evaluation.bag_report``.
Images are recorded in the input's form: compressed input stays compressed (JPEG) in the output.
A topic named with ``--image-topic``/``--info-topic`` that the bag lacks, or of the wrong type, is an error
(exit code 2) listing the bag's topics.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..bagfiles import BagReadError
from ..cli import DefaultsHelpFormatter
from ..geometry.camera import CameraModel
from ..ros.camera_info import camera_model_from_info
from ..ros.image_conversion import ImageConversionError, compressed_to_rgb, image_to_rgb
from .bag_io import BagRecorder, bag_topics, read_bag
from .local_dds import require_local_dds
from .session import PipelineSession

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"


def _listing(topics: dict[str, str]) -> str:
    return ", ".join(f"{t} ({ty})" for t, ty in sorted(topics.items())) or "no topics at all"


def pick_topic(bag: Path, topics: dict[str, str], wanted: str | None, msgtypes: Sequence[str]) -> str:
    """The topic to read: ``wanted`` (checked to exist with one of ``msgtypes``), else the only topic of the
    first of ``msgtypes`` the bag has. Raises :class:`BagReadError` listing the bag's topics otherwise."""
    kinds = " or ".join(msgtypes)
    if wanted:
        if wanted not in topics:
            raise BagReadError(f"bag {bag}: no topic {wanted} in this bag; it has: {_listing(topics)}")
        if topics[wanted] not in msgtypes:
            raise BagReadError(f"bag {bag}: topic {wanted} is {topics[wanted]}, not {kinds}")
        return wanted
    for msgtype in msgtypes:
        hits = sorted(t for t, ty in topics.items() if ty == msgtype)
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise BagReadError(f"bag {bag}: it has {len(hits)} {msgtype} topics ({', '.join(hits)}): "
                               "name one with --image-topic/--info-topic")
    raise BagReadError(f"bag {bag}: no {kinds} topic; it has: {_listing(topics)}")


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec)


def image_rgb(msg: Any, msgtype: str) -> np.ndarray:
    """RGB pixels of a sensor_msgs/Image or (JPEG/PNG) sensor_msgs/CompressedImage."""
    return compressed_to_rgb(msg) if msgtype == COMPRESSED else image_to_rgb(msg)


def replay(input_bag: Path, output_bag: Path, image_topic: str | None = None, info_topic: str | None = None,
           storage: str = "mcap", limit: int | None = None, wait_s: float = 5.0) -> int:
    """Returns the number of images replayed."""
    topics = bag_topics(input_bag)
    image_topic = pick_topic(input_bag, topics, image_topic, (IMAGE, COMPRESSED))
    info_topic = pick_topic(input_bag, topics, info_topic, (CAMERA_INFO,))
    image_type = topics[image_topic]
    truth_topics = [t for t in topics if t.startswith("/ground_truth/")]
    camera: CameraModel | None = None
    count = 0
    with BagRecorder(output_bag, storage) as out:
        session_cm = PipelineSession(recorder=out, log_dir=output_bag.parent / f"{output_bag.name}_logs",
                                     compress_images=image_type == COMPRESSED)
        with session_cm as session:
            ready = False
            held: Any = None  # an image recorded just before the first camera info (same stamp: kept)

            def feed(item: Any) -> bool:
                """Replay one image; False once ``limit`` images went out."""
                nonlocal count, ready
                assert camera is not None
                try:
                    rgb = image_rgb(item.msg, image_type)
                except ImageConversionError as exc:
                    print(f"[replay] image {count} on {image_topic} skipped: {exc}", file=sys.stderr)
                    return True
                session.player.frame_id = item.msg.header.frame_id or session.player.frame_id
                if not ready:
                    session.wait_ready(rgb, camera)
                    ready = True
                session.feed(count, rgb, camera, _stamp_ns(item.msg), wait_s)
                count += 1
                if count % 25 == 0:
                    print(f"[replay] {count} images", file=sys.stderr)
                return limit is None or count < limit

            for item in read_bag(input_bag, [image_topic, info_topic, *truth_topics]):
                if item.topic in truth_topics:
                    out.write(item.topic, item.msg, item.stamp_ns)
                    continue
                if item.topic == info_topic:
                    first = camera is None
                    camera = camera_model_from_info(item.msg)
                    session.frame_id = item.msg.header.frame_id or session.frame_id
                    if first and held is not None:
                        if _stamp_ns(held.msg) == _stamp_ns(item.msg):
                            if not feed(held):
                                break
                        else:
                            print("[replay] image before any camera info: skipped", file=sys.stderr)
                        held = None
                    continue
                if camera is None:
                    if held is not None:
                        print("[replay] image before any camera info: skipped", file=sys.stderr)
                    held = item
                    continue
                if not feed(item):
                    break
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hand_mesh_ros.tools.bag_replay",
                                     description=__doc__.split("\n\n")[0], formatter_class=DefaultsHelpFormatter)
    parser.add_argument("input_bag", type=Path, help="a rosbag2 folder or file (MCAP or sqlite3)")
    parser.add_argument("output_bag", type=Path, help="where to record the inputs and the nodes' outputs")
    parser.add_argument("--image-topic", help="raw or compressed image topic (default: the bag's only one)")
    parser.add_argument("--info-topic", help="CameraInfo topic (default: the bag's only one)")
    parser.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap", help="storage of the output bag")
    parser.add_argument("--limit", type=int, help="replay the first N images only")
    args = parser.parse_args(argv)
    require_local_dds()
    try:
        n = replay(args.input_bag, args.output_bag, args.image_topic, args.info_topic, args.storage, args.limit)
    except BagReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"replayed {n} images; outputs in {args.output_bag}")
    return 0 if n else 1


if __name__ == "__main__":
    raise SystemExit(main())
