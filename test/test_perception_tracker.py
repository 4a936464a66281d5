"""HandTracker's loop (schedule, association, next-frame regions, track ids, external palms) with stand-in networks.

The stand-ins see a scene of hands at known centres: the palm "detector" returns a palm at each centre, the
landmark "network" returns the hand nearest to the middle of the region it is given (presence 0 when none is
near), so every decision of the tracker can be checked exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.perception.landmark_model import RegionLandmarks
from hand_mesh_ros.perception.regions import region_from_landmarks, region_from_palm, region_iou
from hand_mesh_ros.perception.tracker import ASSOCIATION_IOU, HandTracker
from hand_mesh_ros.perception.types import HandRegion, PalmDetection

# An upright hand (fingers up) around its centre, px: wrist, thumb, index, middle, ring, pinky.
HAND = np.array([(0, 60), (-20, 50), (-35, 35), (-45, 20), (-52, 8), (-15, 10), (-17, -10), (-18, -25), (-19, -38),
                 (0, 8), (0, -14), (0, -30), (0, -44), (14, 10), (15, -8), (16, -22), (17, -34), (26, 15), (29, 0),
                 (31, -10), (33, -20)], dtype=np.float64)
IMAGE = np.zeros((480, 640, 3), np.uint8)


def landmarks_at(centre: np.ndarray) -> np.ndarray:
    return np.c_[HAND + centre, np.zeros(21)]


def palm_at(centre: np.ndarray, score: float = 0.9) -> PalmDetection:
    keypoints = HAND[[0, 5, 9, 13, 17, 1, 2]] + centre
    return PalmDetection(score, np.r_[keypoints.min(axis=0), keypoints.max(axis=0)], keypoints)


class Scene:
    def __init__(self, *centres: tuple[float, float]) -> None:
        self.centres = [np.array(c, dtype=np.float64) for c in centres]
        self.palm_offset = np.zeros(2)
        self.p_right = 0.9  # every hand's probability of being a right hand


class StandInPalms:
    def __init__(self, scene: Scene) -> None:
        self.scene, self.runs = scene, 0

    def detect(self, image: np.ndarray, min_score: float = 0.5, region: HandRegion | None = None
               ) -> list[PalmDetection]:
        assert region is None  # the tracker's default searches the whole image only
        self.runs += 1
        return [palm_at(c + self.scene.palm_offset) for c in self.scene.centres]


class StandInLandmarks:
    def __init__(self, scene: Scene) -> None:
        self.scene, self.calls = scene, []  # type: tuple[Scene, list[list[HandRegion]]]

    def process_regions(self, image: np.ndarray, regions: list[HandRegion]) -> list[RegionLandmarks]:
        self.calls.append(list(regions))
        return [self._one(r) for r in regions]

    def _one(self, region: HandRegion) -> RegionLandmarks:
        near = [c for c in self.scene.centres if np.hypot(c[0] - region.cx, c[1] - region.cy) < region.w / 2]
        if not near:
            return RegionLandmarks(landmarks_at(np.zeros(2)), np.zeros((21, 3)), 0.0, 0.5)
        centre = min(near, key=lambda c: float(np.hypot(c[0] - region.cx, c[1] - region.cy)))
        return RegionLandmarks(landmarks_at(centre), np.zeros((21, 3)), 0.99, self.scene.p_right)


def make(scene: Scene, with_palms: bool = True, **options: object) -> tuple[HandTracker, StandInPalms,
                                                                            StandInLandmarks]:
    palms, landmarks = StandInPalms(scene), StandInLandmarks(scene)
    tracker = HandTracker(palms if with_palms else None, landmarks, **options)  # type: ignore[arg-type]
    return tracker, palms, landmarks


def test_ids_schedule_and_association_follow_the_hands() -> None:
    scene = Scene((150, 200), (450, 200))
    tracker, palms, landmarks = make(scene, max_hands=2, detect_every_n=1)
    first = tracker.step(IMAGE, 0.0)
    assert first.detector_ran and [h.track_id for h in first.hands] == [1, 2]
    assert all(h.palm is not None for h in first.hands) and first.lost == []
    for k, hand in enumerate(first.hands):  # next frame's region comes from this frame's landmarks
        assert first.tracked[hand.track_id] == region_from_landmarks(landmarks_at(scene.centres[k]))

    second = tracker.step(IMAGE, 1 / 30)  # both hands tracked: no detection, regions from the last frame
    assert not second.detector_ran and palms.runs == 1
    assert [h.track_id for h in second.hands] == [1, 2] and all(h.palm is None for h in second.hands)
    assert landmarks.calls[-1] == list(first.tracked.values())

    scene.centres.pop()  # the second hand leaves
    third = tracker.step(IMAGE, 2 / 30)
    assert [h.track_id for h in third.hands] == [1] and third.lost == [2] and not third.detector_ran

    fourth = tracker.step(IMAGE, 3 / 30)  # one of two tracked: look for more; the palm on hand 1 is that hand
    assert fourth.detector_ran and palms.runs == 2
    assert [(h.track_id, h.palm) for h in fourth.hands] == [(1, None)]
    assert landmarks.calls[-1] == list(third.tracked.values())  # the palm's region never reached the network

    scene.centres.append(np.array([450.0, 230.0]))  # a hand comes in: a new id
    fifth = tracker.step(IMAGE, 4 / 30)
    assert [h.track_id for h in fifth.hands] == [1, 3] and fifth.hands[1].palm is not None


def test_a_hand_found_twice_in_one_frame_is_one_hand() -> None:
    """A palm whose region overlaps the tracked one too little to be associated, but whose landmarks land
    on the tracked hand, does not start a second track."""
    scene = Scene((150, 200))
    tracker, _, landmarks = make(scene, max_hands=2)
    tracked = tracker.step(IMAGE, 0.0).tracked[1]
    scene.palm_offset = np.array([60.0, 0.0])
    palm_region = region_from_palm(palm_at(scene.centres[0] + scene.palm_offset).box,
                                   palm_at(scene.centres[0] + scene.palm_offset).keypoints)
    assert region_iou(palm_region, tracked) <= ASSOCIATION_IOU  # not associated before the landmarks
    frame = tracker.step(IMAGE, 1 / 30)
    assert len(landmarks.calls[-1]) == 2  # tracked region and palm region both went through the network
    assert [h.track_id for h in frame.hands] == [1] and frame.lost == [] and list(frame.tracked) == [1]


def test_tracks_that_converge_on_one_hand_merge() -> None:
    scene = Scene((150, 200), (220, 200))  # close, but far enough apart to be two hands
    tracker, _, _ = make(scene, max_hands=2)
    assert [h.track_id for h in tracker.step(IMAGE, 0.0).hands] == [1, 2]
    scene.centres.pop()  # the second region now holds the first hand
    frame = tracker.step(IMAGE, 1 / 30)
    assert [h.track_id for h in frame.hands] == [1]
    assert frame.merged == [2] and frame.lost == [] and list(frame.tracked) == [1]


def test_a_hand_lost_moments_ago_keeps_its_id_if_it_is_the_same_side() -> None:
    scene = Scene((150, 200))
    tracker, _, _ = make(scene, max_hands=1, reattach_s=0.3)
    tracker.step(IMAGE, 0.0)
    hand = scene.centres.pop()
    assert tracker.step(IMAGE, 0.1).lost == [1]
    scene.centres.append(hand + 10.0)  # back near where it was lost, same side
    back = tracker.step(IMAGE, 0.2)
    assert [(h.track_id, h.palm is not None) for h in back.hands] == [(1, True)]

    scene.centres.pop()
    tracker.step(IMAGE, 0.3)
    scene.p_right = 0.1  # a left hand where the right one was lost: another hand
    scene.centres.append(hand)
    assert [h.track_id for h in tracker.step(IMAGE, 0.4).hands] == [2]
    scene.centres.pop()
    tracker.step(IMAGE, 0.5)
    scene.centres.append(hand)
    assert [h.track_id for h in tracker.step(IMAGE, 0.9).hands] == [3]  # lost too long ago

    other = Scene((150, 200))
    lone, _, _ = make(other, max_hands=1)  # reattach_s 0 (the default): never
    lone.step(IMAGE, 0.0)
    gone = other.centres.pop()
    lone.step(IMAGE, 0.1)
    other.centres.append(gone)
    assert [h.track_id for h in lone.step(IMAGE, 0.2).hands] == [2]


def test_external_palms_cap_restart_and_single_images() -> None:
    scene = Scene((150, 200), (450, 200))
    tracker, _, _ = make(scene, with_palms=False, max_hands=1)
    assert tracker.step(IMAGE, 0.0).hands == []  # no palm detector and no palms: nothing to start from
    frame = tracker.step(IMAGE, 1 / 30, palms=[palm_at(c) for c in scene.centres])
    assert frame.detector_ran and [h.track_id for h in frame.hands] == [1]  # max_hands
    frame = tracker.step(IMAGE, 2 / 30)
    assert not frame.detector_ran and [h.track_id for h in frame.hands] == [1]

    frame = tracker.step(IMAGE, 1.5 / 30)  # stamps stepped back: the stream restarted (a looping bag)
    assert frame.restarted and frame.hands == [] and frame.tracked == {} and frame.lost == [1]

    with pytest.raises(ValueError, match="no palm detector"):
        tracker.detect(IMAGE)
    full, _, _ = make(scene, max_hands=2)
    full.step(IMAGE, 0.0)
    before = full.tracked
    single = full.detect(IMAGE)
    assert [h.track_id for h in single] == [None, None] and full.tracked == before


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_hands"):
        make(Scene(), max_hands=0)
    with pytest.raises(ValueError, match="detection mode"):
        make(Scene(), detection_mode="sometimes")
