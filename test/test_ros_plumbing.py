"""Node plumbing without models: stamp matching, detection schedule, parameters, diagnostics, TF maths."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest

from hand_mesh_ros.perception.tracker import DetectionSchedule
from hand_mesh_ros.settings import setting, settings_of, validate


def _msg(sec: int, nsec: int = 0, tag: str = "") -> SimpleNamespace:
    return SimpleNamespace(header=SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=nsec)), tag=tag)


class _Matcher:
    """A StampSynchronizer on (image, detections) that records matches and drops."""

    def __init__(self, queue_size: int = 3) -> None:
        from hand_mesh_ros.ros.stamp_sync import StampSynchronizer

        self.pairs: list[tuple[str, str]] = []
        self.drops: list[tuple[str, str]] = []
        self.sync = StampSynchronizer(["image", "hand_detections"], lambda a, b: self.pairs.append((a.tag, b.tag)),
                                      queue_size, on_drop=self._dropped)

    def _dropped(self, slots: list[SimpleNamespace | None], reason: str) -> None:
        self.drops += [(m.tag, reason) for m in slots if m is not None]

    def image(self, sec: int, tag: str, nsec: int = 0) -> None:
        self.sync.add(0, _msg(sec, nsec, tag))

    def detections(self, sec: int, tag: str, nsec: int = 0) -> None:
        self.sync.add(1, _msg(sec, nsec, tag))


def test_stamp_sync_matches_and_bounds_memory() -> None:
    m = _Matcher(queue_size=3)
    m.image(1, "img1")
    m.image(2, "img2")
    m.detections(2, "det2")  # matches 2; 1 can never complete in order
    assert m.pairs == [("img2", "det2")] and m.drops == [("img1", "stale")]
    m.detections(1, "late det1")  # its topic stepped back: a restart of that topic, then nothing to match
    for s in range(3, 10):  # images without detections: the queue stays bounded, the oldest goes first
        m.image(s, f"img{s}")
    assert len(m.sync._pending) == 3
    assert [d for d in m.drops if d[1] == "queue_full"] == [
        ("late det1", "queue_full"), ("img3", "queue_full"), ("img4", "queue_full"), ("img5", "queue_full"),
        ("img6", "queue_full")]
    m.detections(9, "det9")
    assert m.pairs[-1] == ("img9", "det9")
    assert m.sync.dropped == {"stale": 3, "queue_full": 5}  # img1; img7, img8 given up by the match of 9


def test_stamp_sync_matches_equal_stamps_in_order() -> None:
    """A driver that leaves header.stamp at 0: every image has the same stamp, each is matched with the
    detections of the same position, none is lost."""
    m = _Matcher(queue_size=5)
    for i in range(4):
        m.image(0, f"img{i}")
        m.detections(0, f"det{i}")
    assert m.pairs == [(f"img{i}", f"det{i}") for i in range(4)] and not m.drops
    m.image(0, "img4")
    m.image(0, "img5")  # two images before their detections (the detector is behind)
    m.detections(0, "det4")
    m.detections(0, "det5")
    assert m.pairs[-2:] == [("img4", "det4"), ("img5", "det5")] and not m.drops


def test_stamp_sync_restarts_when_a_short_loop_repeats_its_stamps() -> None:
    """`ros2 bag play -l` of a 0.3 s clip: every pass repeats the stamps of the first. Each pass is matched;
    what was pending from the previous pass is dropped with reason 'restart'."""
    m = _Matcher(queue_size=5)
    clip = [0, 100_000_000, 200_000_000, 300_000_000]  # ns
    for loop in range(3):
        for k, ns in enumerate(clip):
            m.image(10, f"L{loop}img{k}", ns)
        for k, ns in enumerate(clip[:-1]):  # the last frame's detections come after the next pass started
            m.detections(10, f"L{loop}det{k}", ns)
    assert [p for p in m.pairs if p[0].startswith("L2")] == [(f"L2img{k}", f"L2det{k}") for k in range(3)]
    assert len(m.pairs) == 9 and m.sync.restarts == 4  # the image topic and the detection topic, passes 2 and 3
    assert ("L0img3", "restart") in m.drops and ("L1img3", "restart") in m.drops


def test_stream_clock_times_repeated_stamps_by_arrival_and_reports_each_kind() -> None:
    from hand_mesh_ros.ros.stamp_sync import StreamClock

    events: list[str] = []
    now = [100.0]
    clock = StreamClock("image", on_event=lambda kind, detail: events.append(kind), now=lambda: now[0])
    times = []
    for _ in range(3):  # stamps left at zero, 30 fps arrival
        times.append(clock.seconds(_msg(0)))
        now[0] += 0.033
    assert times[0] == 0.0 and np.allclose(np.diff(times), 0.033) and events == ["repeated_stamps"]
    assert clock.seconds(_msg(5)) == 5.0 and not clock.repeated and not clock.stepped_back
    assert clock.seconds(_msg(4, 500_000_000)) == 4.5 and clock.stepped_back
    assert events == ["repeated_stamps", "stamps_stepped_back"]


def test_scheduler_on_demand_follows_tracking() -> None:
    s = DetectionSchedule("on_demand", every_n=3, max_hands=2, timeout_s=0.5)
    assert s.should_detect(0.0)  # nothing tracked yet
    s.report_tracked(2, 0.0)
    assert not any(s.should_detect(0.04 * i) for i in range(1, 8))  # both hands tracked: never
    s.report_tracked(1, 0.3)
    runs = [s.should_detect(0.3 + 0.04 * i) for i in range(1, 7)]
    assert runs.count(True) == 2  # one hand tracked: look for the second every 3rd frame
    assert s.should_detect(2.0)  # tracking report is stale: detect
    s.report_tracked(0, 2.0)
    assert s.should_detect(2.04)
    s.report_tracked(2, 2.04)
    assert not s.should_detect(2.08)
    assert s.should_detect(0.5)  # stamps jumped back (a bag restarted): nothing counts as tracked
    s.report_tracked(1, 0.5)  # reports of the restarted stream are taken
    assert not s.should_detect(0.54)


def test_scheduler_restarts_on_any_step_back() -> None:
    """A 0.2 s clip looped: the second pass is detected although its stamps are within a second of the
    first's, and a late report from the first pass does not block it."""
    s = DetectionSchedule("on_demand", every_n=10, max_hands=2, timeout_s=0.5)
    clip = [0.0, 0.05, 0.1, 0.15, 0.2]
    for t in clip:
        s.should_detect(t)
        s.report_tracked(2, t)
    assert s.should_detect(0.0)  # the loop restarted: due at once
    s.report_tracked(2, 0.2)  # late report of the first pass: ignored
    assert s.should_detect(0.05)
    s.report_tracked(2, 0.05)  # the new pass tracks both hands
    assert not s.should_detect(0.1)


def test_scheduler_modes() -> None:
    every = DetectionSchedule("every_frame")
    assert all(every.should_detect(i) for i in range(5))
    nth = DetectionSchedule("every_n", every_n=4)
    assert [nth.should_detect(i) for i in range(8)] == [True, False, False, False, True, False, False, False]
    with pytest.raises(ValueError, match="detection mode"):
        DetectionSchedule("sometimes")


@dataclass(frozen=True)
class _Cfg:
    rate: float = setting(2.5, "A rate.", 0.0, 10.0)
    mode: str = setting("a", "A mode.", choices=("a", "b"))
    count: int = setting(3, "A count.", 1, 5)
    flag: bool = setting(True, "A flag.")


def test_settings_validate() -> None:
    assert [s.name for s in settings_of(_Cfg)] == ["rate", "mode", "count", "flag"]
    validate(_Cfg())
    with pytest.raises(ValueError, match=r"rate must be <= 10\.0.*mode must be one of a, b"):
        validate(_Cfg(rate=11.0, mode="c"))
    spec = settings_of(_Cfg)[2]
    assert spec.check(2.0) == "count must be int, got float 2.0"
    assert settings_of(_Cfg)[0].check(3) is None  # an int is fine for a float


@pytest.mark.ros
def test_parameters_declared_with_ranges_and_validated(ros_context) -> None:  # type: ignore[no-untyped-def]
    import rclpy
    from rclpy.parameter import Parameter

    from hand_mesh_ros.ros import params

    node = rclpy.create_node("params_test", context=ros_context)
    try:
        params.declare(node, _Cfg)
        desc = node.describe_parameter("rate")
        assert desc.description == "A rate. Applied live (on the next frame)."
        assert desc.floating_point_range[0].to_value == 10.0
        assert "One of: a, b" in node.describe_parameter("mode").description
        bad = node.set_parameters([Parameter("mode", value="z")])[0]
        assert not bad.successful and "mode must be one of" in bad.reason
        good = node.set_parameters([Parameter("count", value=4)])[0]
        assert good.successful
        assert params.read(node, _Cfg) == _Cfg(count=4)
    finally:
        node.destroy_node()


@pytest.mark.ros
def test_invalid_start_parameter_is_refused(ros_context) -> None:  # type: ignore[no-untyped-def]
    import rclpy
    from rclpy.exceptions import InvalidParameterValueException
    from rclpy.parameter import Parameter

    from hand_mesh_ros.ros import params

    for override, error, match in (
        (Parameter("mode", value="z"), ValueError, "mode must be one of a, b"),
        (Parameter("count", value=9), InvalidParameterValueException, "out of range"),  # rclpy's range check
    ):
        node = rclpy.create_node("params_test_bad", context=ros_context, parameter_overrides=[override])
        try:
            with pytest.raises(error, match=match):
                params.declare(node, _Cfg)
        finally:
            node.destroy_node()


@pytest.mark.ros
def test_removed_parameter_is_refused_with_its_replacement(ros_context) -> None:  # type: ignore[no-untyped-def]
    """An old YAML that sets hand_size_m (a palm size) must not start a node that silently ignores it."""
    import rclpy
    from rclpy.parameter import Parameter

    from hand_mesh_ros.reconstruction.config import REMOVED_SETTINGS, ReconstructionConfig
    from hand_mesh_ros.ros import params

    node = rclpy.create_node("params_test_removed", context=ros_context,
                             parameter_overrides=[Parameter("hand_size_m", value=0.09)])
    try:
        with pytest.raises(ValueError, match=r"'hand_size_m' is no longer supported: .*hand_length_m"):
            params.declare(node, ReconstructionConfig, removed=REMOVED_SETTINGS)
    finally:
        node.destroy_node()
    node = rclpy.create_node("params_test_current", context=ros_context)
    try:
        params.declare(node, ReconstructionConfig, removed=REMOVED_SETTINGS)  # nothing removed is set: fine
        assert params.read(node, ReconstructionConfig).hand_length_m == pytest.approx(0.187)
        assert "Removed" in node.describe_parameter("hand_size_m").description
        # ... and at run time (`ros2 param set`) too, with the same text
        result = node.set_parameters([Parameter("hand_size_m", value=0.1)])[0]
        assert not result.successful and "hand_length_m" in result.reason
        assert node.get_parameter("hand_size_m").value is None
        assert "Applied live" in node.describe_parameter("hand_length_m").description
    finally:
        node.destroy_node()


@pytest.mark.ros
def test_quaternion_and_tf_tree(ros_messages) -> None:  # type: ignore[no-untyped-def]
    from hand_mesh_ros.ros.hand_msgs import JOINT_PARENTS, quaternion_from_matrix

    rng = np.random.default_rng(3)
    for _ in range(50):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        x, y, z, w = q
        r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                      [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                      [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
        got = quaternion_from_matrix(r)
        assert np.allclose(got, q) or np.allclose(got, -q)
    assert JOINT_PARENTS[0] == -1 and all(JOINT_PARENTS[j] < j for j in range(1, 21))
    assert [JOINT_PARENTS[t] for t in (4, 8, 12, 16, 20)] == [3, 7, 11, 15, 19]


def _fake_hand(track_id: int, side: str, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    from hand_mesh_ros.perception.types import HandRegion
    from hand_mesh_ros.reconstruction.types import ReconstructedHand

    joints = rng.normal(scale=0.03, size=(21, 3)) + np.array([0.0, 0.0, 0.5])
    return ReconstructedHand(
        track_id=track_id, handedness=side, handedness_score=0.9, confidence=0.7,  # type: ignore[arg-type]
        joint_confidences=np.full(21, 0.5, np.float32), held=False, joints=joints,
        joints_px=rng.uniform(0, 400, size=(21, 2)), keypoints_px=rng.uniform(0, 400, size=(21, 2)),
        joint_frames=np.tile(np.eye(3), (21, 1, 1)),
        frame_names=tuple(f"j{i}" for i in range(21)), wrist_position=joints[0], wrist_rotation=np.eye(3),
        pose=np.zeros(48, np.float32), shape=np.zeros(10, np.float32), model_name="open_hand",
        vertices=rng.normal(scale=0.05, size=(50, 3)).astype(np.float32),
        faces=rng.integers(0, 50, size=(80, 3)).astype(np.int32), region=HandRegion(1.0, 2.0, 3.0, 3.0, 0.0),
        palm_score=None)


@pytest.mark.ros
def test_fast_marker_serialization_equals_slow_path(ros_messages) -> None:  # type: ignore[no-untyped-def]
    from rclpy.serialization import deserialize_message, serialize_message
    from std_msgs.msg import Header
    from visualization_msgs.msg import MarkerArray

    from hand_mesh_ros.ros.hand_msgs import hand_markers, hand_markers_cdr

    rng = np.random.default_rng(7)
    hands = [_fake_hand(1, "left", rng), _fake_hand(2, "right", rng)]
    header = Header(frame_id="cam")
    header.stamp.sec = 5
    for gone in ([], [9, 11]):
        fast = deserialize_message(hand_markers_cdr(header, hands, gone, 0.25, 0.8, True), MarkerArray)
        slow = deserialize_message(serialize_message(hand_markers(header, hands, gone, 0.25, 0.8, True)),
                                   MarkerArray)
        assert fast == slow
        mesh = next(m for m in fast.markers if m.ns == "hand_mesh" and m.id == 2)
        corners = hands[1].vertices[hands[1].faces.reshape(-1)]
        assert len(mesh.points) == 240 and mesh.points[5].y == pytest.approx(float(corners[5, 1]))
        assert sum(m.action == m.DELETE for m in fast.markers) == 2 * len(gone)


@pytest.mark.ros
def test_tf_transforms_rebuild_joint_positions(ros_messages) -> None:  # type: ignore[no-untyped-def]
    from std_msgs.msg import Header

    from hand_mesh_ros.ros.hand_msgs import JOINT_PARENTS, hand_transforms

    rng = np.random.default_rng(8)
    hands = [_fake_hand(1, "left", rng), _fake_hand(5, "left", rng)]
    tfs = hand_transforms(Header(frame_id="cam"), hands, "hand_")
    assert len(tfs) == 42
    names = {t.child_frame_id for t in tfs}
    assert "hand_left_j0" in names and "hand_left2_j0" in names  # second hand of a side: 'left2'
    first = {t.child_frame_id: t for t in tfs[:21]}
    # Frames are identity rotations here, so chaining translations must give back the joints.
    for j in range(21):
        pos, k = np.zeros(3), j
        while k >= 0:
            tr = first[f"hand_left_j{k}"].transform.translation
            pos += [tr.x, tr.y, tr.z]
            k = JOINT_PARENTS[k]
        assert np.allclose(pos, hands[0].joints[j])


@pytest.mark.ros
def test_health_logs_every_kind_with_the_real_logger(ros_context) -> None:  # type: ignore[no-untyped-def]
    """Events (info), drops and errors (warnings) and one-time warnings in any order, through rclpy's real logger
    (which refuses a call site whose severity changes): all counted, none raises."""
    import rclpy

    from hand_mesh_ros.ros.diagnostics import NodeHealth

    node = rclpy.create_node("health_logging_test", context=ros_context)
    try:
        health = NodeHealth(node, "test")
        for _ in range(2):
            health.event("repeated_stamps", "info first")
            health.error("bad_image", "then a warning")
            health.dropped(1, "stamp_matcher_stale", "then a drop")
            health.event("image_without_frame_id", "a one-time warning", warn=True)
            health.event("camera_changed", "info again")
            health.error("invalid_intrinsics", "and another warning")
        assert health.events == {"repeated_stamps": 2, "image_without_frame_id": 2, "camera_changed": 2}
        assert health.errors == {"bad_image": 2, "invalid_intrinsics": 2}
        assert health.drops == {"stamp_matcher_stale": 2} and health.total_dropped == 2
        health.destroy()
    finally:
        node.destroy_node()
