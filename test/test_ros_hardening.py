"""The reconstruction and detector nodes in this process, fed bad or changing input: every kind ends in a
published answer, or a logged and counted reason, and never poisons the frames after it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from perception_fixtures import converted_models  # noqa: F401 - fixture

pytestmark = pytest.mark.ros

class Harness:
    """One of our nodes, a driver node that plays frames to it and collects its outputs, one executor."""

    def __init__(self, context: Any, node: Any, namespace: str = "") -> None:
        import rclpy
        from hand_mesh_ros.msg import HandArray
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image
        from tf2_msgs.msg import TFMessage
        from visualization_msgs.msg import MarkerArray

        from hand_mesh_ros.ros.qos import RESULTS, SENSOR, TF

        self.node = node
        self.driver = rclpy.create_node("hardening_test_driver", namespace=namespace, context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(node)
        self.executor.add_node(self.driver)
        self.hands: list[Any] = []
        self.markers: list[Any] = []
        self.tf: list[Any] = []
        self.driver.create_subscription(HandArray, "hands", self.hands.append, RESULTS)
        self.driver.create_subscription(MarkerArray, "hand_markers", self.markers.append, RESULTS)
        self.driver.create_subscription(TFMessage, "/tf", self.tf.append, TF)
        self.image_pub = self.driver.create_publisher(Image, "image", SENSOR)
        self.compressed_pub = self.driver.create_publisher(CompressedImage, "image/compressed", SENSOR)
        self.info_pub = self.driver.create_publisher(CameraInfo, "camera_info", SENSOR)
        self.logged: list[str] = []

    def capture_log(self, capfd: pytest.CaptureFixture[str]) -> None:
        """Read the node's log from stderr as rcutils writes it (the real logger: rclpy's own checks apply)."""
        self._capfd = capfd

    def log_lines(self) -> list[str]:
        self.logged += self._capfd.readouterr().err.splitlines()
        return self.logged

    def spin(self, seconds: float, until: Callable[[], bool] = lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            self.executor.spin_once(timeout_sec=0.02)

    def start(self) -> None:
        from rclpy.lifecycle import TransitionCallbackReturn

        assert self.node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert self.node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        self.spin(1.0, lambda: self.image_pub.get_subscription_count() + self.compressed_pub.get_subscription_count()
                  > 0 and self.info_pub.get_subscription_count() > 0)
        self.spin(0.3)

    def header(self, stamp_ns: int, frame_id: str) -> Any:
        from builtin_interfaces.msg import Time
        from std_msgs.msg import Header

        return Header(frame_id=frame_id, stamp=Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9))

    def send(self, rgb: np.ndarray, camera: Any, stamp_ns: int, frame_id: str = "cam", compressed: bool = False,
             wait_s: float = 3.0) -> Any | None:
        """Publish camera info and one image; the HandArray that answers it, or None."""
        from hand_mesh_ros.geometry.camera import CameraModel
        from hand_mesh_ros.ros.camera_info import camera_info_from_model
        from hand_mesh_ros.ros.image_conversion import rgb_to_compressed, rgb_to_image

        header = self.header(stamp_ns, frame_id)
        if isinstance(camera, CameraModel):
            camera = camera_info_from_model(camera, header)
        camera.header = header
        self.info_pub.publish(camera)
        self.spin(0.02)
        before = len(self.hands)
        if compressed:
            self.compressed_pub.publish(rgb_to_compressed(rgb, header))
        else:
            self.image_pub.publish(rgb_to_image(rgb, header))
        self.spin(wait_s, lambda: len(self.hands) > before)
        return self.hands[-1] if len(self.hands) > before else None

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.driver.destroy_node()


@pytest.fixture()
def reconstruction(ros_context, ros_messages, converted_models, prepared) -> Iterator[Callable[..., Harness]]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Make a reconstruction node (its own palm detector unless told otherwise) with parameter overrides."""
    from rclpy.parameter import Parameter

    from hand_mesh_ros.ros.reconstruction_node import ReconstructionNode

    made: list[Harness] = []

    def make(**overrides: Any) -> Harness:
        overrides = {"external_detections": False, **overrides}
        node = ReconstructionNode(context=ros_context,
                                  parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
        made.append(Harness(ros_context, node))
        return made[-1]

    yield make
    for h in made:
        h.close()


def _wrist_depth(msg: Any) -> float:
    """The mean depth of the wrists of the hands in a HandArray, metres."""
    return float(np.mean([h.joints[0].z for h in msg.hands]))


def _ids(msg: Any) -> set[int]:
    return {h.id for h in msg.hands}


def _status(node: Any) -> Any:
    """The node's diagnostics now, as if it had been active for 10 s (stale after 2 s instead of 3 s)."""
    node._health._stale_s = 2.0
    node._health._active_since = time.monotonic() - 10.0
    return node._health.status()


def test_empty_frame_id_skips_tf_and_markers_until_camera_frame_is_set(  # type: ignore[no-untyped-def]
        reconstruction, hand_frames, capfd) -> None:
    h = reconstruction()
    h.capture_log(capfd)
    h.start()
    asl, camera, n = hand_frames.frames, hand_frames.camera, hand_frames.hands
    answers = [h.send(rgb, camera, 10**9 + i * 40_000_000, frame_id="") for i, rgb in enumerate(asl[:4])]
    assert all(a is not None and a.header.frame_id == "" for a in answers)  # hands keep the input header
    assert all(len(a.hands) == n for a in answers)
    h.spin(0.3)
    assert h.markers == [] and h.tf == []  # tf2 and RViz reject an empty frame: nothing sent
    assert h.node._health.events["image_without_frame_id"] == 4
    assert sum("image_without_frame_id" in m for m in h.log_lines()) == 1  # warned once

    from rclpy.parameter import Parameter

    assert h.node.set_parameters([Parameter("camera_frame", value="fallback_optical_frame")])[0].successful
    answer = h.send(asl[4], camera, 10**9 + 4 * 40_000_000, frame_id="")
    h.spin(0.3)
    assert answer is not None and answer.header.frame_id == ""
    assert h.markers and all(m.header.frame_id == "fallback_optical_frame" for m in h.markers[-1].markers)
    assert h.tf and any(t.header.frame_id == "fallback_optical_frame" for t in h.tf[-1].transforms)


def test_camera_changes_reset_tracking_and_absurd_intrinsics_are_refused(  # type: ignore[no-untyped-def]
        reconstruction, hand_frames, capfd) -> None:
    from hand_mesh_ros.geometry.camera import CameraModel
    from hand_mesh_ros.ros.camera_info import camera_info_from_model

    h = reconstruction()
    h.capture_log(capfd)
    h.start()
    asl, camera, n = hand_frames.frames, hand_frames.camera, hand_frames.hands
    t = 10**9
    before = [h.send(rgb, camera, t + i * 40_000_000) for i, rgb in enumerate(asl[:6])]
    depth = _wrist_depth(before[-1])
    first_ids = _ids(before[-1])
    # One CameraInfo with a plumb_bob k1 of 1e6: refused, and its frame is not answered (counted instead).
    bad = camera_info_from_model(CameraModel(camera.width, camera.height, camera.k), h.header(0, "cam"))
    bad.d = [1e6, 0.0, 0.0, 0.0, 0.0]
    assert h.send(asl[6], bad, t + 6 * 40_000_000, wait_s=1.0) is None
    assert h.node._health.errors["invalid_intrinsics"] == 1
    assert any("camera_info_refused" in m and "implausible" in m for m in h.log_lines())
    # The good camera again: tracking starts over, and the hand is placed where it was (no carried state).
    after = h.send(asl[7], camera, t + 7 * 40_000_000)
    assert after is not None and len(after.hands) == n
    assert not _ids(after) & first_ids
    assert _wrist_depth(after) == pytest.approx(depth, rel=0.1)
    assert h.node._health.events["camera_changed"] == 2
    # A switch of resolution: the first frame at the new size is detected anew and answered with its hand.
    small = [np.ascontiguousarray(rgb[::2, ::2]) for rgb in asl[8:10]]
    half = CameraModel.pinhole(small[0].shape[1], small[0].shape[0], camera.fx / 2, cx=(camera.cx - 0.5) / 2,
                               cy=(camera.cy - 0.5) / 2)
    switched = h.send(small[0], half, t + 8 * 40_000_000)
    assert switched is not None and len(switched.hands) == n
    assert _wrist_depth(switched) == pytest.approx(depth, rel=0.15)
    assert h.node._health.events["camera_changed"] == 3


def test_compressed_images_are_decoded_and_bad_ones_counted(  # type: ignore[no-untyped-def]
        reconstruction, hand_frames, capfd) -> None:
    from sensor_msgs.msg import CompressedImage

    h = reconstruction(image_transport="compressed")
    h.capture_log(capfd)
    h.start()
    asl, camera, n = hand_frames.frames, hand_frames.camera, hand_frames.hands
    answers = [h.send(rgb, camera, 10**9 + i * 40_000_000, compressed=True) for i, rgb in enumerate(asl[:3])]
    assert all(a is not None and len(a.hands) == n for a in answers)
    garbage = CompressedImage(header=h.header(2 * 10**9, "cam"), format="jpeg", data=b"\xff\xd8not a jpeg\xff\xd9")
    h.compressed_pub.publish(garbage)
    h.spin(1.0, lambda: h.node._health.errors["bad_image"] > 0)
    assert h.node._health.errors["bad_image"] == 1
    assert any("bad_image" in m and "jpeg" in m for m in h.log_lines())
    again = h.send(asl[3], camera, 3 * 10**9, compressed=True)  # the next good frame is answered as before
    assert again is not None and len(again.hands) == n


def test_an_input_of_the_wrong_type_is_an_error_with_the_reason(reconstruction) -> None:  # type: ignore[no-untyped-def]
    h = reconstruction()  # subscribes sensor_msgs/Image on /image
    h.start()
    h.driver.destroy_publisher(h.image_pub)  # only the wrong type is published on /image
    # Another process publishes CompressedImage on /image (e.g. a compressed stream remapped there; DDS refuses
    # two types on one topic within one process).
    script = ("import rclpy, time; from sensor_msgs.msg import CompressedImage; rclpy.init(); "
              "n = rclpy.create_node('wrong_type_publisher'); n.create_publisher(CompressedImage, '/image', 1); "
              "time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        h.spin(20.0, lambda: bool(h.node.get_publishers_info_by_topic("/image")))
        status = _status(h.node)
    finally:
        proc.kill()
        proc.wait()
    assert status.level == status.ERROR
    assert "/image is published as sensor_msgs/msg/CompressedImage but this node subscribes " \
           "sensor_msgs/msg/Image" in status.message


def test_diagnostics_errors_say_why(reconstruction, hand_frames) -> None:  # type: ignore[no-untyped-def]
    """Input arrives but nothing goes out: the status names the cause, not only the symptom."""
    from sensor_msgs.msg import CameraInfo

    h = reconstruction(external_detections=True, sync_queue_size=2)  # no detector node runs
    h.start()
    asl, camera = hand_frames.frames, hand_frames.camera
    for i, rgb in enumerate(asl[:5]):
        assert h.send(rgb, camera, 10**9 + i * 40_000_000, wait_s=0.1) is None
    status = _status(h.node)
    assert status.level == status.ERROR
    assert "frames dropped (stamp_matcher_queue_full)" in status.message and "detector node" in status.message
    values = {kv.key: kv.value for kv in status.values}
    assert values["dropped: stamp_matcher_queue_full"] == "3"  # 5 images, 2 still waiting

    h2 = reconstruction()  # no camera info at all
    h2.start()
    h2.info_pub = h2.driver.create_publisher(CameraInfo, "unused_camera_info", 1)
    assert h2.send(asl[0], camera, 10**9, wait_s=0.5) is None
    status = _status(h2.node)
    assert status.level == status.ERROR and "no_camera_info" in status.message


def test_parameters_apply_live_or_are_refused_with_the_reason(reconstruction, hand_frames) -> None:  # type: ignore[no-untyped-def]
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    h = reconstruction()
    h.start()
    asl, camera, n = hand_frames.frames, hand_frames.camera, hand_frames.hands
    t = 10**9
    for i in range(3):
        last = h.send(asl[i], camera, t + i * 40_000_000)
    assert last is not None and len(last.hands) == n
    depth = _wrist_depth(last)

    def set_one(name: str, value: Any) -> Any:
        return h.node.set_parameters([Parameter(name, value=value)])[0]

    # live: the hand length, on the next frame (depth scales with it); marker settings likewise
    assert set_one("hand_length_m", 0.187 * 1.2).successful
    scaled = h.send(asl[3], camera, t + 3 * 40_000_000)
    assert h.node._rec.config.hand_length_m == pytest.approx(0.187 * 1.2)
    assert _wrist_depth(scaled) == pytest.approx(1.2 * depth, rel=0.05)
    assert set_one("mesh_alpha", 0.3).successful and set_one("fit_iterations", 4).successful
    h.send(asl[4], camera, t + 4 * 40_000_000)
    assert h.node.node_cfg.mesh_alpha == 0.3 and h.node._rec.fitters["right"].warm_iterations == 4
    # refused: out of range, one that applies at configure, one fixed at start-up
    assert "out of range" in set_one("hand_length_m", 0.5).reason
    result = set_one("model_variant", "lite")
    assert not result.successful and "applies at configure" in result.reason
    assert h.node.get_parameter("model_variant").value == "full"
    assert not set_one("autostart", False).successful
    # at configure: accepted while unconfigured, applied by the next configure
    assert h.node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    assert h.node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
    assert "mano_dir is empty" in set_one("hand_model", "mano").reason  # a combination the settings refuse
    assert set_one("model_variant", "lite").successful
    h.start()
    assert h.node._rec.config.model_variant == "lite"
    assert h.send(asl[5], camera, t + 5 * 40_000_000) is not None


def test_reactivated_node_answers_its_first_frame_with_fresh_tracks(reconstruction, hand_frames) -> None:  # type: ignore[no-untyped-def]
    from rclpy.lifecycle import TransitionCallbackReturn

    h = reconstruction()
    h.start()
    asl, camera, n = hand_frames.frames, hand_frames.camera, hand_frames.hands
    t = 10**9
    first = [h.send(asl[i], camera, t + i * 40_000_000) for i in range(3)]
    assert all(a is not None and len(a.hands) == n for a in first)
    assert h.node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    assert h.send(asl[3], camera, t + 3 * 40_000_000, wait_s=0.5) is None  # inactive: silent
    assert h.node.trigger_activate() == TransitionCallbackReturn.SUCCESS
    activated = time.monotonic()
    resumed = h.send(asl[4], camera, t + 4 * 40_000_000)
    print(f"reactivated node: first answer {time.monotonic() - activated:.3f} s after activation")
    assert resumed is not None and len(resumed.hands) == n and time.monotonic() - activated < 1.0
    assert not _ids(resumed) & _ids(first[-1])  # a new stream: tracks start over


def test_detector_restarts_its_schedule_on_loops_size_changes_and_live_settings(  # type: ignore[no-untyped-def]
        ros_context, ros_messages, converted_models, hand_frames, capfd) -> None:  # noqa: F811
    from hand_mesh_ros.msg import HandDetectionArray
    from rclpy.parameter import Parameter

    from hand_mesh_ros.perception.types import HandRegion
    from hand_mesh_ros.ros.detection_msgs import regions_to_msg
    from hand_mesh_ros.ros.detector_node import DetectorNode
    from hand_mesh_ros.ros.qos import RESULTS

    node = DetectorNode(context=ros_context, parameter_overrides=[Parameter("detection_mode", value="on_demand")])
    h = Harness(ros_context, node)
    try:
        h.capture_log(capfd)
        detections: list[Any] = []
        h.driver.create_subscription(HandDetectionArray, "hand_detections", detections.append, RESULTS)
        report = h.driver.create_publisher(HandDetectionArray, "tracked_hands", RESULTS)
        h.start()
        asl, camera = hand_frames.frames, hand_frames.camera

        def frame(rgb: np.ndarray, stamp_ns: int, tracked: int) -> bool:
            """Publish one image; return whether the detector ran on it; then report ``tracked`` hands."""
            before = len(detections)
            h.send(rgb, camera, stamp_ns, wait_s=0.0)
            h.spin(3.0, lambda: len(detections) > before)
            ran = bool(detections[-1].detector_ran)
            region = HandRegion(100.0, 100.0, 80.0, 80.0, 0.0)
            report.publish(regions_to_msg(h.header(stamp_ns, "cam"), [region] * tracked))
            h.spin(0.1)
            return ran

        clip = [10**9 + k * 40_000_000 for k in range(4)]  # a 0.16 s clip, looped
        assert [frame(asl[k], s, 2) for k, s in enumerate(clip)] == [True, False, False, False]
        assert [frame(asl[k], s, 2) for k, s in enumerate(clip)] == [True, False, False, False]  # loop 2
        assert node._health.events["stamps_stepped_back"] == 1
        small = np.ascontiguousarray(asl[0][::2, ::2])
        assert frame(small, 2 * 10**9, 2)  # a new image size: searched at once
        assert node._health.events["image_size_changed"] == 1
        assert node.set_parameters([Parameter("detection_mode", value="every_frame")])[0].successful
        assert frame(small, 2 * 10**9 + 40_000_000, 2) and frame(small, 2 * 10**9 + 80_000_000, 2)
        assert any("parameters applied" in m for m in h.log_lines())
    finally:
        h.close()


def test_repeated_stamps_are_answered_logged_and_counted(  # type: ignore[no-untyped-def]
        reconstruction, hand_frames, capfd) -> None:
    """Stamps left at zero: every image answered with its hands, one `repeated_stamps` log line, the event
    counted."""
    h = reconstruction()
    h.capture_log(capfd)
    h.start()
    asl, camera, n = hand_frames.frames, hand_frames.camera, hand_frames.hands
    answers = [h.send(rgb, camera, 0) for rgb in asl[:4]]
    assert all(a is not None and len(a.hands) == n for a in answers)
    assert h.node._health.events["repeated_stamps"] == 1  # one run of equal stamps
    assert sum("]: repeated_stamps: consecutive messages on image" in m for m in h.log_lines()) == 1


def test_detector_roi_outside_the_image_is_an_error_with_the_reason(  # type: ignore[no-untyped-def]
        ros_context, ros_messages, converted_models, hand_frames, capfd) -> None:  # noqa: F811
    """A detection_roi in pixels beyond the image (set for a bigger camera): the image gets no detections, and
    the reason is logged and counted as a `detection_roi` error."""
    from hand_mesh_ros.msg import HandDetectionArray
    from rclpy.parameter import Parameter

    from hand_mesh_ros.ros.detector_node import DetectorNode
    from hand_mesh_ros.ros.qos import RESULTS

    width = hand_frames.frames[0].shape[1]
    node = DetectorNode(context=ros_context, parameter_overrides=[
        Parameter("detection_roi", value=f"{width + 10},0,{width + 100},100")])
    h = Harness(ros_context, node)
    try:
        h.capture_log(capfd)
        detections: list[Any] = []
        h.driver.create_subscription(HandDetectionArray, "hand_detections", detections.append, RESULTS)
        h.start()
        h.send(hand_frames.frames[0], hand_frames.camera, 10**9, wait_s=0.0)
        h.spin(3.0, lambda: node._health.errors["detection_roi"] > 0)
        assert node._health.errors["detection_roi"] == 1 and not detections
        assert any("detection_roi: detection_roi" in m and "covers less than a pixel" in m for m in h.log_lines())
    finally:
        h.close()
