"""The demo on a live camera: both nodes on existing image/camera_info topics for a while, outputs recorded.

Latency here is the age of each HandArray when it arrives (arrival time - image stamp), which assumes the
camera stamps with this machine's clock.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .bag_io import BagRecorder
from .session import PipelineSession


def run_live(image_topic: str, info_topic: str, seconds: float, out: Path) -> int:
    remaps = [f"image:={image_topic}", f"camera_info:={info_topic}"]
    bag_path = out / f"live_bag_{int(time.time())}"
    with BagRecorder(bag_path) as bag, PipelineSession(recorder=bag, remaps=remaps, log_dir=out / "logs",
                                                        listen=()) as session:
        session.start_recording()  # a live camera has no warm-up frames of ours
        session.spin(seconds)
        got = session.listener.received
    ages = np.array([(got.hands_wall_ns[s] - (s[0] * 10**9 + s[1])) / 1e6 for s in got.hands_wall_ns])
    if not ages.size:
        print(f"no HandArray arrived in {seconds:.0f} s: are {image_topic} and {info_topic} published?")
        return 1
    with_hands = sum(len(m.hands) > 0 for m in got.hands.values())
    print(f"{ages.size} HandArray messages in {seconds:.0f} s ({ages.size / seconds:.1f} Hz), {with_hands} with "
          f"hands; age p50 {np.percentile(ages, 50):.1f} ms, p95 {np.percentile(ages, 95):.1f} ms; bag in {bag_path}")
    return 0
