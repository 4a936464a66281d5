"""Replay the images and camera info of a recorded bag through the nodes and record their outputs.

    python -m hand_mesh_ros.tools.bag_replay INPUT_BAG OUTPUT_BAG [--image-topic T] [--info-topic T]
                                          [--storage mcap|sqlite3] [--limit N]

Input: a rosbag2 folder (sqlite3 or MCAP) with sensor_msgs/Image and sensor_msgs/CameraInfo. Each image is
published with its original stamp and frame, together with the latest camera info; the next image goes out
when its HandArray came back (or after a timeout), so the result does not depend on the machine's speed.
Output: a new bag with the inputs and every output topic (hands, hand_detections, hand_markers, /tf), plus
any /ground_truth/* topics copied from the input, ready for ``python -m hand_mesh_ros.evaluation.bag_report``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..bagfiles import BagReadError
from ..geometry.camera import CameraModel
from ..ros.camera_info import camera_model_from_info
from ..ros.image_conversion import image_to_rgb
from .bag_io import BagRecorder, bag_topics, read_bag
from .local_dds import require_local_dds
from .session import PipelineSession


def _pick(topics: dict[str, str], wanted: str | None, msgtype: str) -> str:
    if wanted:
        if wanted not in topics:
            raise SystemExit(f"topic {wanted} not in the bag; it has: {', '.join(sorted(topics))}")
        return wanted
    hits = [t for t, ty in topics.items() if ty == msgtype]
    if len(hits) != 1:
        raise SystemExit(f"the bag has {len(hits)} {msgtype} topics ({', '.join(hits)}): name one")
    return hits[0]


def replay(input_bag: Path, output_bag: Path, image_topic: str | None = None, info_topic: str | None = None,
           storage: str = "mcap", limit: int | None = None, wait_s: float = 5.0) -> int:
    """Returns the number of images replayed."""
    topics = bag_topics(input_bag)
    image_topic = _pick(topics, image_topic, "sensor_msgs/msg/Image")
    info_topic = _pick(topics, info_topic, "sensor_msgs/msg/CameraInfo")
    truth_topics = [t for t in topics if t.startswith("/ground_truth/")]
    camera: CameraModel | None = None
    count = 0
    with BagRecorder(output_bag, storage) as out:
        session_cm = PipelineSession(recorder=out, log_dir=output_bag.parent / f"{output_bag.name}_logs")
        with session_cm as session:
            ready = False
            for item in read_bag(input_bag, [image_topic, info_topic, *truth_topics]):
                if item.topic in truth_topics:
                    out.write(item.topic, item.msg, item.stamp_ns)
                    continue
                if item.topic == info_topic:
                    camera = camera_model_from_info(item.msg)
                    session.frame_id = item.msg.header.frame_id or session.frame_id
                    continue
                if camera is None:
                    print("[replay] image before any camera info: skipped", file=sys.stderr)
                    continue
                rgb = image_to_rgb(item.msg)
                session.player.frame_id = item.msg.header.frame_id or session.player.frame_id
                if not ready:
                    session.wait_ready(rgb, camera)
                    ready = True
                stamp = item.msg.header.stamp
                session.feed(count, rgb, camera, stamp.sec * 10**9 + stamp.nanosec, wait_s)
                count += 1
                if count % 25 == 0:
                    print(f"[replay] {count} images", file=sys.stderr)
                if limit is not None and count >= limit:
                    break
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hand_mesh_ros.tools.bag_replay",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("input_bag", type=Path)
    parser.add_argument("output_bag", type=Path)
    parser.add_argument("--image-topic")
    parser.add_argument("--info-topic")
    parser.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    parser.add_argument("--limit", type=int)
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
