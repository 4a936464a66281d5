"""Depth input of the reconstruction node: depth messages -> DepthImage, the depth buffer that matches them to
colour stamps, and the node in this process fed colour + depth (good, late, missing and bad depth): every colour
image is answered with its own stamp, depth is used when it can be and counted by reason when not."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from perception_fixtures import converted_models  # noqa: F401 - fixture

DEPTH_TOPIC = "camera/aligned_depth_to_color/image_raw"
T0 = 10**9  # first stamp, ns
PERIOD = 40_000_000  # 25 fps, ns


# ---- conversion ---------------------------------------------------------------------------------------------------
def _depth_msg(values: np.ndarray, encoding: str, pad: int = 0, big_endian: bool = False) -> Any:
    """A depth sensor_msgs/Image holding ``values`` (uint16 or float32), rows padded by ``pad`` bytes."""
    from sensor_msgs.msg import Image

    h, w = values.shape
    stored = values.astype(values.dtype.newbyteorder(">" if big_endian else "<"))
    rows = stored.view(np.uint8).reshape(h, -1)
    if pad:
        rows = np.concatenate([rows, np.full((h, pad), 0xAB, np.uint8)], axis=1)
    return Image(height=h, width=w, encoding=encoding, is_bigendian=int(big_endian), step=rows.shape[1],
                 data=rows.tobytes())


@pytest.mark.ros
@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("encoding", ["16UC1", "mono16", "32FC1"])
def test_depth_conversion_with_row_padding_and_byte_order(encoding: str, big_endian: bool) -> None:
    pytest.importorskip("sensor_msgs")
    from hand_mesh_ros.ros.image_conversion import depth_image_from_msg

    rng = np.random.default_rng(3)
    mm = rng.integers(300, 3000, (5, 7)).astype(np.uint16)
    mm[1, 2] = 0  # no depth
    if encoding == "32FC1":
        values = (mm / 1000.0).astype(np.float32)
        values[1, 2], values[3, 3], values[4, 6] = np.nan, np.inf, 0.0
    else:
        values = mm
    depth = depth_image_from_msg(_depth_msg(values, encoding, pad=6, big_endian=big_endian))
    assert depth.metres.shape == (5, 7) and depth.metres.dtype == np.float32
    expected = (mm / 1000.0).astype(np.float32)
    invalid = np.zeros((5, 7), bool)
    invalid[1, 2] = True
    if encoding == "32FC1":
        invalid[3, 3] = invalid[4, 6] = True
    assert np.array_equal(np.isnan(depth.metres), invalid)
    np.testing.assert_allclose(depth.metres[~invalid], expected[~invalid], rtol=1e-6)


@pytest.mark.ros
def test_bad_depth_messages_give_clear_errors() -> None:
    pytest.importorskip("sensor_msgs")
    from sensor_msgs.msg import Image

    from hand_mesh_ros.geometry.depth import DepthImageError
    from hand_mesh_ros.ros.image_conversion import depth_image_from_msg

    good = _depth_msg(np.full((4, 6), 800, np.uint16), "16UC1")
    short = Image(height=4, width=6, encoding="16UC1", step=12, data=bytes(good.data)[:-2])
    with pytest.raises(DepthImageError, match=r"data has 46 bytes, expected step\*height = 12 \* 4 = 48"):
        depth_image_from_msg(short)
    long = Image(height=4, width=6, encoding="16UC1", step=12, data=bytes(good.data) + b"\0\0")
    with pytest.raises(DepthImageError, match="data has 50 bytes"):
        depth_image_from_msg(long)
    with pytest.raises(DepthImageError, match="step 10 is shorter than a row of 12 bytes"):
        depth_image_from_msg(Image(height=4, width=6, encoding="16UC1", step=10, data=b"\0" * 40))
    with pytest.raises(DepthImageError, match="empty image"):
        depth_image_from_msg(Image(height=0, width=6, encoding="32FC1", step=24))
    with pytest.raises(DepthImageError, match=r"'rgb8' \(a colour image, not depth.*16UC1"):
        depth_image_from_msg(Image(height=1, width=1, encoding="rgb8", step=3, data=b"\0" * 3))
    with pytest.raises(DepthImageError, match="'16SC1' is not supported"):
        depth_image_from_msg(Image(height=1, width=1, encoding="16SC1", step=2, data=b"\0" * 2))


# ---- the depth buffer --------------------------------------------------------------------------------------------
class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_depth_buffer_nearest_within_tolerance_and_bounded() -> None:
    from hand_mesh_ros.ros.stamp_sync import DepthBuffer

    clock = _Clock()
    buf: DepthBuffer[str] = DepthBuffer(capacity=4, now=clock)
    assert not buf.may_still_come(1.0, 0.01)  # no depth stream yet: nothing to wait for
    for stamp, tag in ((1.000, "a"), (1.033, "b"), (1.040, "c")):
        buf.add(stamp, tag)
    assert buf.peek(1.037, 0.01) == "c" and buf.peek(1.0365, 0.0) is None  # the nearest (3 ms, not 4 ms)
    assert buf.peek(1.020, 0.01) is None  # 13 ms from both neighbours
    buf.add(1.040, "c2")
    assert buf.peek(1.040, 0.01) == "c2"  # equal stamps: the newest arrival
    assert buf.take(1.034, 0.01) == "b" and len(buf) == 3  # "a" can serve no later colour image: let go
    assert dict(buf.unmatched) == {"no_colour_image": 1}
    assert buf.may_still_come(1.060, 0.01) and not buf.may_still_come(1.020, 0.01)  # depth is past 1.02 + 0.01
    clock.t += 1.5
    assert buf.silent() and not buf.may_still_come(1.060, 0.01)  # a stopped depth stream: do not wait
    for k in range(10):  # depth without colour: the buffer stays bounded, the oldest goes first
        buf.add(2.0 + k * 0.033, f"d{k}")
    assert len(buf) == 4 and buf.unmatched["buffer_full"] == 8  # c, c2 and d0..d5 (b was used: not counted)
    assert buf.offset(2.0) == pytest.approx(6 * 0.033)


def test_depth_buffer_counts_late_depth_and_restarts() -> None:
    from hand_mesh_ros.ros.stamp_sync import DepthBuffer

    buf: DepthBuffer[str] = DepthBuffer(capacity=10, now=_Clock())
    buf.add(0.9, "early")
    assert buf.take(1.0, 0.01) is None  # its depth has not come: processed without
    buf.add(1.001, "late")  # ... and comes after
    assert buf.take(1.040, 0.01) is None
    buf.add(1.040, "x")  # late too: the colour image of 1.040 went without it
    assert buf.take(1.080, 0.01) is None  # and 40 ms too early for this one
    assert dict(buf.unmatched) == {"no_colour_image": 1, "late": 2}
    buf.add(1.5, "y")
    buf.add(0.2, "loop")  # stamps stepped back: a new pass
    assert buf.restarts == 1 and buf.unmatched["restart"] == 1
    assert buf.take(0.2, 0.01) == "loop"


# ---- diagnostics ------------------------------------------------------------------------------------------------
@pytest.mark.ros
def test_degraded_frames_warn_with_the_reason_and_values_are_added(ros_context) -> None:  # type: ignore[no-untyped-def]
    import rclpy

    from hand_mesh_ros.ros.diagnostics import NodeHealth

    node = rclpy.create_node("health_depth_test", context=ros_context)
    try:
        health = NodeHealth(node, "test")
        health.set_active(True)
        health.frame_in()
        health.frame_out(0.01)
        health.add_values(lambda: {"depth frames used": "7"})
        assert health.status().message == "ok"
        health.degraded("depth_missing", "no depth image; the fix")
        health.error("bad_image", "a warning of the same severity")  # the real logger accepts both call sites
        health.degraded("depth_rejected_field_of_view", "use the aligned stream")
        status = health.status()
        assert status.level == status.WARN
        assert "2 degraded (last: depth_rejected_field_of_view: use the aligned stream)" in status.message
        assert {kv.key: kv.value for kv in status.values}["depth frames used"] == "7"
        health.publish()  # a new period
        health.degraded("depth_missing", "again")
        assert health.status().message == "1 frames degraded in the last period (last: depth_missing: again)"
        health.destroy()
    finally:
        node.destroy_node()


# ---- the node ------------------------------------------------------------------------------------------------------
def _plane(shape: tuple[int, int], metres: float, encoding: str) -> np.ndarray:
    """A depth image of a surface ``metres`` away, with a strip without depth, in the encoding's units."""
    if encoding == "32FC1":
        values = np.full(shape, metres, np.float32)
        values[:, :5] = np.nan
        return values
    values = np.full(shape, round(metres * 1000), np.uint16)
    values[:, :5] = 0
    return values


@pytest.fixture()
def depth_node(ros_context, ros_messages, converted_models, prepared) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]  # noqa: F811
    """A reconstruction node (its own palm detector) with depth_image set, in a harness that also publishes
    depth; ``make(**parameter_overrides)``."""
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from test_ros_hardening import Harness

    from hand_mesh_ros.ros.qos import SENSOR
    from hand_mesh_ros.ros.reconstruction_node import ReconstructionNode

    made: list[Harness] = []

    def make(**overrides: Any) -> Harness:
        overrides = {"external_detections": False, "depth_image": DEPTH_TOPIC, "depth_wait_s": 0.5, **overrides}
        node = ReconstructionNode(context=ros_context,
                                  parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
        h = Harness(ros_context, node)
        h.depth_pub = h.driver.create_publisher(Image, DEPTH_TOPIC, SENSOR)
        made.append(h)
        h.start()
        h.spin(1.0, lambda: h.depth_pub.get_subscription_count() > 0)
        return h

    yield make
    for h in made:
        h.close()


def _send_depth(h: Any, values: np.ndarray, encoding: str, stamp_ns: int) -> None:
    """Publish a depth image of ``values`` stamped ``stamp_ns``, until the node holds it."""
    _deliver(h, _depth_msg(values, encoding), stamp_ns)


def _deliver(h: Any, msg: Any, stamp_ns: int) -> None:
    """Publish a depth message stamped ``stamp_ns`` until the node holds it (best effort can lose a large
    message on loopback; the tests are about what the node does with what it receives)."""
    msg.header = h.header(stamp_ns, "cam")
    for _ in range(5):
        h.depth_pub.publish(msg)
        h.spin(0.5, lambda: _held(h, stamp_ns))
        if _held(h, stamp_ns):
            return
    raise AssertionError(f"the node never received the depth image stamped {stamp_ns}")


def _held(h: Any, stamp_ns: int) -> bool:
    return h.node._depth.peek(stamp_ns * 1e-9, 1e-6) is not None


def _values(h: Any) -> dict[str, str]:
    return {kv.key: kv.value for kv in h.node._health.status().values}


def _stamp(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec)


@pytest.mark.ros
def test_depth_16uc1_32fc1_and_half_size_are_used(depth_node, hand_frames) -> None:  # type: ignore[no-untyped-def]
    h = depth_node()
    frames, camera, n = hand_frames.frames, hand_frames.camera, hand_frames.hands
    shape = (camera.height, camera.width)
    sent: list[int] = []
    answers = []
    for i, encoding in enumerate(["16UC1", "16UC1", "32FC1", "32FC1"]):
        stamp = T0 + i * PERIOD
        _send_depth(h, _plane(shape, 0.7, encoding), encoding, stamp + 2_000_000)  # 2 ms off: within tolerance
        answers.append(h.send(frames[i], camera, stamp))
        sent.append(stamp)
    # The depth comes after its colour image (aligned depth often does): the colour image waits for it.
    stamp = T0 + 4 * PERIOD
    from hand_mesh_ros.ros.camera_info import camera_info_from_model
    from hand_mesh_ros.ros.image_conversion import rgb_to_image

    header = h.header(stamp, "cam")
    h.info_pub.publish(camera_info_from_model(camera, header))
    h.spin(0.02)
    before = len(h.hands)
    h.image_pub.publish(rgb_to_image(frames[4], header))
    h.spin(0.1)
    assert len(h.hands) == before, "processed before its depth came (depth_wait_s is 0.5 s)"
    _send_depth(h, _plane(shape, 0.7, "16UC1"), "16UC1", stamp)
    h.spin(3.0, lambda: len(h.hands) > before)
    answers.append(h.hands[-1] if len(h.hands) > before else None)
    sent.append(stamp)
    # Half the size, same field of view (a depth stream at a lower resolution): resized and used.
    stamp = T0 + 5 * PERIOD
    _send_depth(h, _plane((shape[0] // 2, shape[1] // 2), 0.7, "16UC1"), "16UC1", stamp)
    answers.append(h.send(frames[5], camera, stamp))
    sent.append(stamp)

    assert all(a is not None for a in answers)
    assert [_stamp(a) for a in answers] == sent  # every output keeps its colour image's stamp
    assert all(a.header.frame_id == "cam" for a in answers) and len(answers[-1].hands) == n
    values = _values(h)
    assert values["depth frames used"] == "6" and values["depth frames missing"] == "0"
    assert all(values[f"depth frames rejected: {k}"] == "0" for k in
               ("unsupported_encoding", "field_of_view", "bad_message"))
    assert values["depth image"] == f"/{DEPTH_TOPIC}"
    assert int(values["depth keypoints (last frame)"]) >= 12 * n  # the plane under every hand's keypoints
    sides = {k.split(":")[0] for k in values if k.startswith("hand size ")}
    assert sides, "no hand size in the diagnostics"
    assert sides == {"hand size left", "hand size right"}
    for side in sides:
        assert 0.1 <= float(values[f"{side}: length (m)"]) <= 0.3
        assert values[f"{side}: source"] in ("configured", "calibrating", "calibrated")
    # the depth frames estimated the size of the hands they saw (6 frames: not enough to lock)
    assert any(values[f"{s}: source"] == "calibrating" and int(values[f"{s}: samples"]) > 0 for s in sides)


@pytest.mark.ros
def test_bad_missing_and_unmatched_depth_never_cost_a_frame(  # type: ignore[no-untyped-def]
        depth_node, hand_frames, capfd) -> None:
    h = depth_node(depth_wait_s=0.2)
    h.capture_log(capfd)
    frames, camera, n = hand_frames.frames, hand_frames.camera, hand_frames.hands
    shape = (camera.height, camera.width)
    stamps = [T0 + i * PERIOD for i in range(6)]
    # another field of view (a square depth image for a portrait or landscape colour image)
    side = min(shape)
    _send_depth(h, _plane((side, side) if shape[0] != shape[1] else (side, 2 * side), 0.7, "16UC1"), "16UC1",
                stamps[0])
    first = h.send(frames[0], camera, stamps[0])
    # an encoding that is not depth
    not_depth = _depth_msg(np.zeros((shape[0], shape[1] * 3 // 2), np.uint16), "16UC1")
    not_depth.encoding = "rgb8"
    _deliver(h, not_depth, stamps[1])
    second = h.send(frames[1], camera, stamps[1])
    # a broken message: its data is shorter than step * height
    broken = _depth_msg(np.full(shape, 700, np.uint16), "16UC1")
    broken.data = bytes(broken.data)[: len(broken.data) // 2]
    _deliver(h, broken, stamps[2])
    third = h.send(frames[2], camera, stamps[2])
    # colour without depth: answered once depth_wait_s is over, without depth
    started = time.monotonic()
    fourth = h.send(frames[3], camera, stamps[3])
    waited = time.monotonic() - started
    answers = [first, second, third, fourth]
    assert all(a is not None and len(a.hands) == n for a in answers), [a and len(a.hands) for a in answers]
    assert [_stamp(a) for a in answers] == stamps[:4]
    values = _values(h)
    assert values["depth frames rejected: field_of_view"] == "1"
    assert values["depth frames rejected: unsupported_encoding"] == "1"
    assert values["depth frames rejected: bad_message"] == "1"
    assert values["depth frames missing"] == "1" and values["depth frames used"] == "0"
    assert 0.15 < waited < 3.0  # it waited depth_wait_s for its depth
    log = "\n".join(h.log_lines())
    assert "depth_rejected_field_of_view" in log and "aligned_depth_to_color" in log
    assert "depth_rejected_unsupported_encoding" in log and "'rgb8'" in log
    assert "depth_rejected_bad_message" in log and "depth_missing" in log

    # depth without colour: nothing is published, the buffer stays bounded, the unused depth is counted
    before = len(h.hands)
    plane = _depth_msg(_plane(shape, 0.7, "16UC1"), "16UC1")
    for k in range(14):
        plane.header = h.header(stamps[4] + k * PERIOD, "cam")
        h.depth_pub.publish(plane)
        h.spin(0.05)
    h.spin(0.3)
    arrived = len(h.node._depth) + int(_values(h)["depth frames unmatched: buffer_full"])
    assert len(h.hands) == before and len(h.node._depth) == 10 and arrived >= 11  # (loopback may lose one)
    assert _values(h)["depth frames unmatched: buffer_full"] == str(arrived - 10)
    # the node goes on: the next colour image with its depth uses it
    last = stamps[4] + 14 * PERIOD
    _send_depth(h, _plane(shape, 0.7, "16UC1"), "16UC1", last)
    answer = h.send(frames[4], camera, last)
    assert answer is not None and _stamp(answer) == last and len(answer.hands) == n
    values = _values(h)
    assert values["depth frames used"] == "1"
    unmatched = sum(int(v) for k, v in values.items() if k.startswith("depth frames unmatched: "))
    assert unmatched == arrived  # all the depth images without a colour image


@pytest.mark.ros
def test_depth_in_the_wrong_units_is_refused_and_the_frame_answered(  # type: ignore[no-untyped-def]
        depth_node, hand_frames, capfd) -> None:
    """Millimetres published as 32FC1 metres (a classic conversion slip): the hands' depth is refused as
    implausible, the frame is answered without it, and the warning says to check the units."""
    h = depth_node()
    h.capture_log(capfd)
    frames, camera, n = hand_frames.frames, hand_frames.camera, hand_frames.hands
    shape = (camera.height, camera.width)
    _send_depth(h, _plane(shape, 700.0, "32FC1"), "32FC1", T0)
    answer = h.send(frames[0], camera, T0)
    assert answer is not None and _stamp(answer) == T0 and len(answer.hands) == n
    z = [hand.joints[0].z for hand in answer.hands]
    assert all(0.1 < v < 3.0 for v in z), z  # placed from the image, not 700 m away
    values = _values(h)
    assert values["depth frames rejected: implausible"] == "1" and values["depth frames used"] == "0"
    log = "\n".join(h.log_lines())
    assert "depth_rejected_implausible" in log and "units" in log


@pytest.mark.ros
def test_depth_with_external_detections(depth_node, hand_frames) -> None:  # type: ignore[no-untyped-def]
    """With the detector node's detections: an image waits for its detections, then for its depth."""
    from hand_mesh_ros.msg import HandDetectionArray

    from hand_mesh_ros.ros.detection_msgs import regions_to_msg
    from hand_mesh_ros.ros.qos import RESULTS

    h = depth_node(external_detections=True)
    detections = h.driver.create_publisher(HandDetectionArray, "hand_detections", RESULTS)
    h.spin(1.0, lambda: detections.get_subscription_count() > 0)
    frames, camera = hand_frames.frames, hand_frames.camera
    shape = (camera.height, camera.width)
    _send_depth(h, _plane(shape, 0.7, "32FC1"), "32FC1", T0 - PERIOD)  # the depth stream is running
    answers = []
    for i in range(3):
        stamp = T0 + i * PERIOD
        assert h.send(frames[i], camera, stamp, wait_s=0.05) is None  # waits for its detections
        detections.publish(regions_to_msg(h.header(stamp, "cam"), []))  # the detector found no palm
        h.spin(0.05)
        before = len(h.hands)
        _send_depth(h, _plane(shape, 0.7, "32FC1"), "32FC1", stamp)
        h.spin(3.0, lambda before=before: len(h.hands) > before)
        answers.append(h.hands[-1] if len(h.hands) > before else None)
    assert [a is not None and _stamp(a) for a in answers] == [T0 + i * PERIOD for i in range(3)]
    assert _values(h)["depth frames used"] == "3"


@pytest.mark.ros
def test_without_depth_image_nothing_changes(depth_node, hand_frames) -> None:  # type: ignore[no-untyped-def]
    off = depth_node(depth_image="")
    assert not any("depth" in sub.topic_name for sub in off.node._subs)
    assert not any(k.startswith("depth frames") for k in _values(off))
    assert _values(off)["depth image"].startswith("off")
    assert off.send(hand_frames.frames[0], hand_frames.camera, T0) is not None


# ---- launch ------------------------------------------------------------------------------------------------------
def test_launch_passes_depth_image_only_when_set() -> None:
    """`depth_image:=TOPIC` reaches the reconstruction node as its parameter (a string); left empty, the config
    file's value stands. Exactly one reconstruction node is started either way."""
    pytest.importorskip("launch_ros")
    import importlib.util

    from ament_index_python.packages import PackageNotFoundError
    from launch.actions import DeclareLaunchArgument
    from launch_ros.actions import Node
    from launch_ros.utilities import evaluate_parameters
    from test_launch_static import LAUNCH

    from launch import LaunchContext

    spec = importlib.util.spec_from_file_location("hand_mesh_launch", LAUNCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except PackageNotFoundError:
        pytest.skip("hand_mesh_ros is not in the ament index (source tools/env.sh)")
    description = module.generate_launch_description()
    arguments = [e for e in description.entities if isinstance(e, DeclareLaunchArgument)]
    assert "depth_image" in {a.name for a in arguments}
    topic = "/camera/camera/aligned_depth_to_color/image_raw"
    for value in ("", topic):
        context = LaunchContext()
        for a in arguments:
            context.launch_configurations[a.name] = "".join(s.perform(context) for s in a.default_value)
        assert context.launch_configurations["depth_image"] == ""  # the default
        context.launch_configurations["depth_image"] = value
        started = [e for e in description.entities if isinstance(e, Node) and e.node_executable ==
                   "reconstruction_node" and (e.condition is None or e.condition.evaluate(context))]
        assert len(started) == 1
        given: dict[str, Any] = {}
        for p in evaluate_parameters(context, [p for p in started[0]._Node__parameters if isinstance(p, dict)]):
            given.update(p)
        assert given.get("depth_image") == (value or None)
