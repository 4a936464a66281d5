"""The two nodes as separate processes on loopback DDS, fed the real ASL video frame by frame."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.gpu.availability import probe

pytestmark = pytest.mark.ros
TENSORRT = pytest.mark.skipif(not probe("cuda:0").tensorrt_ready, reason="needs an NVIDIA GPU with TensorRT")

VIDEO = "mediapipe_reference/asl_hand.25fps.mp4"
FRAME = "asl_camera_optical_frame"


@pytest.fixture(scope="module", params=["onnxruntime", pytest.param("tensorrt", marks=TENSORRT)])
def node_run(request: pytest.FixtureRequest, shared_data: Path,  # type: ignore[no-untyped-def]
             tmp_path_factory: pytest.TempPathFactory):
    """Publish every frame of the video (waiting for each result) and collect all outputs, with the nodes on
    the backend of the parameter (TensorRT only where a GPU can run it; its engines are built first)."""
    rclpy = pytest.importorskip("rclpy")
    from hand_mesh_ros.geometry.camera import CameraModel
    from hand_mesh_ros.tools.frame_source import read_frames
    from hand_mesh_ros.tools.launcher import NodeProcesses
    from hand_mesh_ros.tools.local_dds import require_local_dds
    from hand_mesh_ros.tools.player import FramePlayer
    from hand_mesh_ros.tools.result_listener import ResultListener

    require_local_dds()
    backend = request.param
    if backend == "tensorrt":
        from hand_mesh_ros.perception.engines import engine_for

        for name in ("palm_detection_full", "hand_landmark_full"):
            engine_for(name, "fp16")
    frames = list(read_frames(shared_data / VIDEO))
    assert len(frames) == 325
    h, w = frames[0].shape[:2]
    camera = CameraModel.pinhole(w, h, float(h))
    log_dir = tmp_path_factory.mktemp("node_logs")
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("node_test_driver", context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    listener = ResultListener(node)
    player = FramePlayer(node, frame_id=FRAME)
    stamps, missing = [], 0
    params = {"detector_node": ["detection_mode:=on_demand", f"backend:={backend}"],
              "reconstruction_node": [f"backend:={backend}"]}
    with NodeProcesses(log_dir=log_dir, params=params) as procs:
        # Wait until both nodes answer: publish the first frame until a HandArray comes back.
        deadline = time.monotonic() + 120
        first = None
        while first is None and time.monotonic() < deadline and procs.alive():
            header = player.publish(frames[0], camera)
            first_stamp = (header.stamp.sec, header.stamp.nanosec)
            end = time.monotonic() + 2.0
            while first_stamp not in listener.received.hands and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.05)
            first = listener.received.hands.get(first_stamp)
        assert first is not None, "the nodes never answered:\n" + procs.logs()
        t0 = time.monotonic()
        base_ns = node.get_clock().now().nanoseconds
        for i, rgb in enumerate(frames):
            header = player.publish(rgb, camera, stamp_ns=base_ns + i * 40_000_000)  # 25 fps stamps
            stamp = (header.stamp.sec, header.stamp.nanosec)
            stamps.append(stamp)
            end = time.monotonic() + 10.0
            while stamp not in listener.received.hands and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.01)
            missing += stamp not in listener.received.hands
        elapsed = time.monotonic() - t0
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
        logs = procs.logs()
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)
    print(f"325 frames lock-step in {elapsed:.1f} s, {missing} unanswered")
    return {"stamps": stamps, "received": listener.received, "logs": logs, "missing": missing, "backend": backend}


def test_every_frame_answered_with_its_stamp_and_frame(node_run) -> None:  # type: ignore[no-untyped-def]
    received = node_run["received"]
    assert node_run["missing"] <= 3, node_run["logs"]
    for stamp in node_run["stamps"]:
        msg = received.hands.get(stamp)
        if msg is not None:
            assert msg.header.frame_id == FRAME
            assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == stamp


def test_one_hand_in_nearly_every_frame(node_run) -> None:  # type: ignore[no-untyped-def]
    msgs = [node_run["received"].hands[s] for s in node_run["stamps"] if s in node_run["received"].hands]
    one = sum(len(m.hands) == 1 for m in msgs)
    assert one >= 0.95 * len(node_run["stamps"]), f"{one} of {len(msgs)} frames with exactly one hand"
    ids = {h.id for m in msgs for h in m.hands}
    assert len(ids) <= 3, f"the single hand should keep its track id, got ids {sorted(ids)}"


def test_joints_finite_and_in_front_of_camera(node_run) -> None:  # type: ignore[no-untyped-def]
    msgs = [node_run["received"].hands[s] for s in node_run["stamps"] if s in node_run["received"].hands]
    for m in msgs:
        for hand in m.hands:
            joints = np.array([[p.x, p.y, p.z] for p in hand.joints])
            assert np.all(np.isfinite(joints))
            assert np.all(joints[:, 2] > 0.1) and np.all(joints[:, 2] < 3.0)
            assert 0.0 <= hand.confidence <= 1.0
            assert len(hand.vertices) % 3 == 0 and len(hand.vertices) > 0
            assert hand.model_name in ("open_hand", "mano")
            px = np.array([[p.x, p.y] for p in hand.joints_px])
            assert np.all(px[:, 0] > -50) and np.all(px[:, 0] < 620 + 50)


def test_markers_match_stamps_and_frame(node_run) -> None:  # type: ignore[no-untyped-def]
    markers = node_run["received"].markers
    stamps = set(node_run["stamps"])
    assert len(markers) >= 0.9 * len(stamps)
    meshes = 0
    for array in markers:
        for m in array.markers:
            assert m.header.frame_id == FRAME
            if (m.header.stamp.sec, m.header.stamp.nanosec) not in stamps:
                continue
            if m.ns == "hand_mesh" and m.action == m.ADD:
                meshes += 1
                assert len(m.points) % 3 == 0 and len(m.points) > 0
                assert m.lifetime.nanosec > 0 or m.lifetime.sec > 0
    assert meshes >= 0.9 * len(stamps)


def test_tf_tree_per_joint(node_run) -> None:  # type: ignore[no-untyped-def]
    transforms = node_run["received"].transforms
    stamps = set(node_run["stamps"])
    ours = [t for t in transforms if (t.header.stamp.sec, t.header.stamp.nanosec) in stamps]
    assert ours, "no TF on /tf"
    by_child = {t.child_frame_id: t for t in ours}
    roots = [t for t in ours if t.header.frame_id == FRAME]
    assert roots and all(t.child_frame_id.endswith("_wrist") for t in roots)
    side = roots[0].child_frame_id[len("hand_"):-len("_wrist")]
    expected = {f"hand_{side}_{n}" for n in ("wrist", "thumb_tip", "index_mcp", "index_tip", "pinky_tip")}
    assert expected <= set(by_child)
    tip = by_child[f"hand_{side}_index_tip"]
    assert tip.header.frame_id == f"hand_{side}_index_dip"
    for t in ours:
        q = t.transform.rotation
        assert math.isclose(q.x**2 + q.y**2 + q.z**2 + q.w**2, 1.0, rel_tol=1e-4)
        d = t.transform.translation
        assert math.sqrt(d.x**2 + d.y**2 + d.z**2) < (3.0 if t.header.frame_id == FRAME else 0.15)
