"""Benchmark the two nodes as a camera would drive them: 640x480 frames with one hand at 30 fps.

Prints output rate, image-to-HandArray latency p50/p95, dropped frames, backlog trend, the node processes'
memory after the run, and the ROS-free pipeline's own latency on the same frames for comparison.

    python benchmarks/bench_nodes.py [--seconds 120] [--fps 30]

Frames: the ASL video of ../shared/data (one real hand), letterboxed to 640x480, looped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.paths import data_dir
from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
from hand_mesh_ros.tools.frame_source import read_frames
from hand_mesh_ros.tools.local_dds import require_local_dds
from hand_mesh_ros.tools.session import PipelineSession

VIDEO = data_dir("mediapipe_reference/asl_hand.25fps.mp4")


def letterbox(rgb: np.ndarray, w: int = 640, h: int = 480) -> np.ndarray:
    s = min(w / rgb.shape[1], h / rgb.shape[0])
    small = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
    out = np.full((h, w, 3), 200, np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y:y + small.shape[0], x:x + small.shape[1]] = small
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def ros_free_latency(frames: list[np.ndarray], camera: CameraModel) -> np.ndarray:
    """Per-frame latency (ms) of the in-process core with its own palm detector (detect every 10th)."""
    rec = HandReconstructor(ReconstructionConfig(detect_every_n=10))
    times = []
    for i, rgb in enumerate(frames * 2):
        t = time.perf_counter()
        rec.process_frame(rgb, camera, i / 30.0)
        times.append((time.perf_counter() - t) * 1e3)
    return np.array(times[len(frames) // 2:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--single-node", action="store_true",
                        help="only the reconstruction node, with its own palm detector (external_detections false)")
    args = parser.parse_args()
    require_local_dds()
    frames = [letterbox(f) for f in read_frames(VIDEO)]
    camera = CameraModel.pinhole(640, 480, 480.0)
    core = ros_free_latency(frames[:150], camera)
    print(f"ROS-free core (same frames, in process): p50 {np.median(core):.1f} ms, "
          f"p95 {np.percentile(core, 95):.1f} ms")

    sent: dict[tuple[int, int], float] = {}
    diagnostics: dict[str, dict[str, str]] = {}
    # Listen to the hands only: deserializing markers and TF here would load the CPU the nodes share.
    with PipelineSession(single_node=args.single_node, listen=()) as session:
        session.wait_ready(frames[0], camera)
        from diagnostic_msgs.msg import DiagnosticArray

        def on_diag(msg: DiagnosticArray) -> None:
            for st in msg.status:
                diagnostics[st.name] = {kv.key: kv.value for kv in st.values}

        session.node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
        session.spin(1.0)
        procs = session._procs.procs
        mem_start = {n: rss_mb(p.pid) for n, p in procs.items()}
        period = 1.0 / args.fps
        total = int(args.seconds * args.fps)
        base = session.node.get_clock().now().nanoseconds
        start = time.monotonic()
        for i in range(total):
            header = session.player.publish(frames[i % len(frames)], camera, base + int(i * period * 1e9))
            sent[(header.stamp.sec, header.stamp.nanosec)] = time.monotonic()
            while (wait := start + (i + 1) * period - time.monotonic()) > 0:
                session.executor.spin_once(timeout_sec=wait)
        session.spin(1.0)
        elapsed = time.monotonic() - start
        mem_end = {n: rss_mb(p.pid) for n, p in procs.items()}
        got = session.listener.received
    lat = [(got.hands_time[s] - t0) * 1e3 for s, t0 in sent.items() if s in got.hands_time]
    order = [s for s in sent if s in got.hands_time]
    with_hand = sum(len(got.hands[s].hands) > 0 for s in order)
    lat_a = np.array(lat)
    q = max(1, len(lat_a) // 4)
    print(f"published {total} frames at {args.fps:.0f} fps over {elapsed:.0f} s")
    print(f"output rate            {len(lat) / elapsed:.1f} HandArray/s ({with_hand} with a hand)")
    print(f"dropped frames         {total - len(lat)} ({100.0 * (total - len(lat)) / total:.1f} %)")
    print(f"latency image->hands   p50 {np.median(lat_a):.1f} ms, p95 {np.percentile(lat_a, 95):.1f} ms "
          f"(ROS-free core p50 {np.median(core):.1f} ms: +{np.median(lat_a) - np.median(core):.1f} ms)")
    print(f"backlog trend          p50 first quarter {np.median(lat_a[:q]):.1f} ms, "
          f"last quarter {np.median(lat_a[-q:]):.1f} ms")
    for n in procs:
        print(f"memory {n:<20} {mem_start[n]:.0f} MB -> {mem_end[n]:.0f} MB RSS")
    for name, values in sorted(diagnostics.items()):
        print(f"diagnostics {name}: in-node latency p50 {values.get('latency p50 (ms)')} ms, "
              f"p95 {values.get('latency p95 (ms)')} ms; frames in {values.get('frames in')}, "
              f"out {values.get('frames out')}, dropped {values.get('frames dropped')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
