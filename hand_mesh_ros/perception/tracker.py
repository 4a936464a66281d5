"""HandTracker: MediaPipe's hand-tracking loop in one place. No ROS.

Per frame: the palm detector runs when the :class:`DetectionSchedule` says so (or the caller passes palms
found elsewhere, e.g. by the detector node) -> each hand is looked for in the region its landmarks gave in
the previous frame, and new palms become regions unless they overlap a tracked one -> the landmark network
runs on the regions -> hands below the presence threshold are dropped, a hand found on top of another found
this frame is the same hand -> each hand's landmarks give its region in the next frame. Every hand keeps a
track id while it is tracked; a hand that starts from a palm gets a new one, unless a hand of the same side
was lost at the same place moments ago (``reattach_s``): then it continues that track.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from .image_checks import check_rgb_image
from .landmark_model import LandmarkModel, RegionLandmarks
from .palm_model import PalmModel
from .palm_search import PalmSearch
from .regions import region_from_landmarks, region_from_palm, region_iou
from .types import Handedness, HandObservation, HandRegion, PalmDetection

MODES = ("on_demand", "every_frame", "every_n")
ASSOCIATION_IOU = 0.5  # two regions overlapping this much (intersection over union) hold the same hand
REATTACH_IOU = 0.3  # a new hand overlapping a just-lost hand of its side this much continues its track


class DetectionSchedule:
    """When the palm detector runs. Times are image stamps in seconds.

    ``on_demand`` (MediaPipe's behaviour, the default): at once when no hand is tracked; every ``every_n``-th
    frame while some but fewer than ``max_hands`` are tracked (to look for more); never while ``max_hands``
    are. ``every_frame``: always. ``every_n``: every ``every_n``-th frame. A tracking report older than
    ``timeout_s`` (whoever tracks stopped answering) counts as "none tracked". Image stamps that step back (by
    any amount: a bag looping a short clip repeats its stamps) restart the schedule: the report is forgotten
    and the frame is due; until a report for an image of the new stream arrives, reports for stamps newer than
    the newest image scheduled are ignored (they come from before the restart). Raises ValueError for an
    unknown mode or ``every_n < 1``.
    """

    def __init__(self, mode: str = "on_demand", every_n: int = 1, max_hands: int = 2,
                 timeout_s: float = math.inf) -> None:
        if mode not in MODES:
            raise ValueError(f"detection mode must be one of {', '.join(MODES)}, got {mode!r}")
        if every_n < 1:
            raise ValueError(f"every_n must be >= 1, got {every_n}")
        self.mode, self.every_n, self.max_hands, self.timeout_s = mode, every_n, max_hands, timeout_s
        self.reset()

    def reset(self) -> None:
        """Nothing tracked, no detection yet (the next frame is due in every mode)."""
        self._tracked = 0
        self._reported = False
        self._tracked_stamp: float | None = None
        self._image_stamp: float | None = None
        self._restarted = False  # stamps stepped back and no report of the new stream arrived yet
        self._since_detection = 10**9

    def report_tracked(self, count: int, stamp_s: float | None = None) -> None:
        """``count`` hands are tracked into the frame after the one at ``stamp_s``. A report older than the last
        one (reports arrive late) is ignored, and after a restart one newer than the newest image scheduled."""
        if stamp_s is not None:
            if self._tracked_stamp is not None and stamp_s < self._tracked_stamp:
                return
            if self._restarted and self._image_stamp is not None and stamp_s > self._image_stamp:
                return
            self._restarted = False
        self._tracked, self._reported = int(count), True
        self._tracked_stamp = None if stamp_s is None else float(stamp_s)

    def due(self, stamp_s: float | None = None) -> bool:
        """Whether the palm detector should run on the frame at ``stamp_s`` (count it with :meth:`record`).

        Restarts on a step back of the stamps and forgets a stale report, so call it once per frame."""
        if stamp_s is not None:
            if self._image_stamp is not None and stamp_s < self._image_stamp:  # the stream restarted
                self.reset()
                self._restarted = True
            self._image_stamp = float(stamp_s)
        if self.mode == "every_frame":
            return True
        next_period = self._since_detection + 1 >= self.every_n
        if self.mode == "every_n":
            return next_period
        if stamp_s is not None and self._tracked_stamp is not None and stamp_s - self._tracked_stamp > self.timeout_s:
            self._reported = False  # the report is stale
        tracked = self._tracked if self._reported else 0
        return tracked == 0 or (tracked < self.max_hands and next_period)

    @property
    def tracked(self) -> int:
        """Hands reported tracked (0 when the report went stale at the last :meth:`due`)."""
        return self._tracked if self._reported else 0

    def should_detect(self, stamp_s: float | None = None) -> bool:
        """Decide for the frame at ``stamp_s`` and count it (for a caller that always follows the decision)."""
        run = self.due(stamp_s)
        self.record(run)
        return run

    def record(self, detected: bool) -> None:
        """Count one frame; ``detected``: the palm detector ran on it."""
        self._since_detection = 0 if detected else self._since_detection + 1


@dataclass(frozen=True, eq=False)
class TrackedFrame:
    """What the tracker found in one frame.

    hands: the hands found, each with its ``track_id`` (a hand whose ``palm`` is set started from a palm this
    frame and has a new id, or continues a track lost moments ago); tracked: track id -> the region each hand
    is looked for in the next frame; lost: the ids that were tracked into this frame and not found (on a
    restart: every id tracked before it); merged: the ids whose region converged on another hand found this
    frame (the same hand seen twice; not in ``lost``); detector_ran: palms were detected (here or by the
    caller) for this frame; restarted: the stamps stepped back, every track was dropped before this frame;
    detection_ms / landmarks_ms: time in the palm detector and in the landmark stage (with overlapped networks
    the two run at once and landmarks_ms is the wait after the detector).
    """

    hands: list[HandObservation]
    tracked: dict[int, HandRegion]
    lost: list[int]
    merged: list[int]
    detector_ran: bool
    restarted: bool = False
    detection_ms: float = 0.0
    landmarks_ms: float = 0.0


class DetectedImage(NamedTuple):
    """What :meth:`HandTracker.detect_image` found in one image: the hands (no track ids), the region each
    hand's landmarks give (``regions[i]`` belongs to ``hands[i]``), and milliseconds in the palm detector and
    in the landmark network."""

    hands: list[HandObservation]
    regions: list[HandRegion]
    detection_ms: float
    landmarks_ms: float


class HandTracker:
    """Detect and track up to ``max_hands`` hands over the frames of one camera.

    ``palm_model`` None: palms only come from the caller (:meth:`step`'s ``palms``). ``overlap_networks``:
    when both networks run on a frame, the tracked hands' landmarks are computed in a worker thread while the
    palm detector runs on the calling thread (same results, lower latency on two or more cores).
    ``reattach_s``: for how long (stamp seconds) a lost hand's track can be continued by a new hand of the same
    side at the same place (IoU > :data:`REATTACH_IOU`; 0: never). The frames are the tracker's own and come
    in order, so any step back in their stamps is a restart of the stream: every track is dropped.
    """

    def __init__(self, palm_model: PalmModel | None, landmark_model: LandmarkModel, *, max_hands: int = 2,
                 min_detection_score: float = 0.5, min_presence: float = 0.5, detection_mode: str = "on_demand",
                 detect_every_n: int = 1, overlap_networks: bool = False, reattach_s: float = 0.0,
                 small_hands: str = "off", detection_roi: str = "") -> None:
        if max_hands < 1:
            raise ValueError(f"max_hands must be >= 1, got {max_hands}")
        self.landmark_model = landmark_model
        self.search = None if palm_model is None else PalmSearch(palm_model, small_hands, detection_roi)
        self.max_hands, self.min_detection_score, self.min_presence = max_hands, min_detection_score, min_presence
        self.schedule = DetectionSchedule(detection_mode, detect_every_n, max_hands)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hand-landmarks") \
            if overlap_networks else None
        self.reattach_s = reattach_s
        self._tracked: dict[int, HandRegion] = {}
        self._sides: dict[int, Handedness] = {}  # side of each tracked hand in its last frame
        self._recent: dict[int, tuple[HandRegion, Handedness, float]] = {}  # lost: region, side, stamp
        self._next_id = 1
        self._last_stamp: float | None = None

    @property
    def palm_model(self) -> PalmModel | None:
        """The palm detector (run through :attr:`search`), or None when palms come from the caller."""
        return None if self.search is None else self.search.model

    @palm_model.setter
    def palm_model(self, model: PalmModel | None) -> None:
        if model is None:
            self.search = None
        elif self.search is None:
            self.search = PalmSearch(model)
        else:
            self.search.model = model

    @property
    def tracked(self) -> dict[int, HandRegion]:
        """Track id -> region of each hand tracked into the next frame."""
        return dict(self._tracked)

    def reset(self) -> None:
        """Forget every tracked and recently lost hand (track ids keep counting up)."""
        self._tracked, self._sides, self._recent = {}, {}, {}
        self._last_stamp = None
        self.schedule.reset()
        if self.search is not None:
            self.search.reset()

    def close(self) -> None:
        """Stop the worker thread of ``overlap_networks`` (the tracker cannot overlap the networks after it)."""
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    def step(self, image_rgb: np.ndarray, stamp_s: float | None = None,
             palms: list[PalmDetection] | None = None) -> TrackedFrame:
        """Track the hands into one HxWx3 uint8 RGB frame taken at ``stamp_s`` seconds (None: no stamps).

        ``palms``: palms found for this frame by the caller (an empty list: none), or None to run the palm
        detector when the schedule says so. Raises TypeError/ValueError for an invalid image.
        """
        image = check_rgb_image(image_rgb, "image_rgb")
        restarted = stamp_s is not None and self._last_stamp is not None and stamp_s < self._last_stamp
        before = list(self._tracked)
        if restarted:
            self.reset()
        if stamp_s is not None:
            self._last_stamp = float(stamp_s)
        detect = palms is None and self.palm_model is not None and self.schedule.due(stamp_s)
        found, merged, detection_ms, landmarks_ms = self._find(image, self._tracked, palms, detect)
        self.schedule.record(palms is not None or detect)
        self._forget_recent(stamp_s)
        hands: list[HandObservation] = []
        tracked: dict[int, HandRegion] = {}
        for hand, region in found:
            if hand.track_id is None:
                hand = replace(hand, track_id=self._continued(hand, region))
            assert hand.track_id is not None
            hands.append(hand)
            tracked[hand.track_id] = region
        lost = before if restarted else [i for i in self._tracked if i not in tracked and i not in merged]
        for i in lost:
            if not restarted and stamp_s is not None and self.reattach_s > 0:
                self._recent[i] = (self._tracked[i], self._sides[i], float(stamp_s))
        self._tracked = tracked
        self._sides = {h.track_id: h.handedness for h in hands if h.track_id is not None}
        self.schedule.report_tracked(len(tracked), stamp_s)
        return TrackedFrame(hands, dict(tracked), lost, merged, palms is not None or detect, restarted,
                            detection_ms, landmarks_ms)

    def detect(self, image_rgb: np.ndarray) -> list[HandObservation]:
        """Hands in one unrelated HxWx3 uint8 RGB image: the palm detector always runs, tracking state is
        neither used nor changed, and the hands have no track id. Raises ValueError without a palm model."""
        return self.detect_image(image_rgb).hands

    def detect_image(self, image_rgb: np.ndarray) -> DetectedImage:
        """:meth:`detect`, with each hand's landmark region and the time spent in each network."""
        if self.palm_model is None:
            raise ValueError("this tracker has no palm detector: pass palms to step()")
        image = check_rgb_image(image_rgb, "image_rgb")
        found, _, detection_ms, landmarks_ms = self._find(image, {}, None, True, all_tiles=True)
        return DetectedImage([h for h, _ in found], [r for _, r in found], detection_ms, landmarks_ms)

    def _continued(self, hand: HandObservation, region: HandRegion) -> int:
        """The id of a new hand: the just-lost track of its side it overlaps most, else a new id."""
        best, best_iou = None, REATTACH_IOU
        for i, (last, side, _) in self._recent.items():
            iou = region_iou(region, last)
            if side == hand.handedness and iou > best_iou:
                best, best_iou = i, iou
        if best is not None:
            del self._recent[best]
            return best
        self._next_id += 1
        return self._next_id - 1

    def _forget_recent(self, stamp_s: float | None) -> None:
        if stamp_s is None:
            self._recent = {}
        else:
            self._recent = {i: r for i, r in self._recent.items() if stamp_s - r[2] <= self.reattach_s}

    # ------------------------------------------------------------------------------------------------ pieces
    def _find(self, image: np.ndarray, tracked: dict[int, HandRegion], palms: list[PalmDetection] | None,
              detect: bool, all_tiles: bool = False
              ) -> tuple[list[tuple[HandObservation, HandRegion]], list[int], float, float]:
        """Associate, run the landmarks, dedupe: (hand, next frame's region) pairs, tracked hands first, and
        the tracked ids that converged on a hand found before them."""
        ids = list(tracked)
        regions = list(tracked.values())
        pending: Future[list[RegionLandmarks]] | None = None
        t0 = time.perf_counter()
        if detect and regions and self._worker is not None:
            pending = self._worker.submit(self.landmark_model.process_regions, image, regions)
        if detect:
            assert self.search is not None
            # a single photo (all_tiles) pays for its tiles only when the whole image shows no palm at all
            wanted = 1 if all_tiles else self.max_hands - len(regions)
            palms = self.search.detect(image, self.min_detection_score, wanted, all_tiles,
                                       alternate=not regions and not all_tiles)
        t1 = time.perf_counter()
        new: list[tuple[HandRegion, PalmDetection]] = []
        for palm in palms or []:
            if len(regions) + len(new) >= self.max_hands:
                break
            region = region_from_palm(palm.box, palm.keypoints)
            if all(region_iou(region, r) <= ASSOCIATION_IOU for r in regions + [r for r, _ in new]):
                new.append((region, palm))
        if pending is None:
            results = self.landmark_model.process_regions(image, regions + [r for r, _ in new])
        else:
            fresh = self.landmark_model.process_regions(image, [r for r, _ in new])
            results = pending.result() + fresh
        candidates: list[tuple[int | None, HandRegion, PalmDetection | None]] = [
            (i, r, None) for i, r in zip(ids, regions, strict=True)] + [(None, r, p) for r, p in new]
        out: list[tuple[HandObservation, HandRegion]] = []
        merged: list[int] = []
        for (track_id, region, palm), res in zip(candidates, results, strict=True):
            if res.presence < self.min_presence:
                continue
            # A palm may overlap a tracked hand too little to be associated before the landmarks ran, and two
            # tracks may converge on one hand: a hand on top of one already found this frame is that hand.
            following = region_from_landmarks(res.landmarks_px)
            if any(region_iou(following, r) > ASSOCIATION_IOU for _, r in out):
                if track_id is not None:
                    merged.append(track_id)
                continue
            out.append((_observation(region, palm, res, track_id), following))
        return out, merged, (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3


def _observation(region: HandRegion, palm: PalmDetection | None, res: RegionLandmarks,
                 track_id: int | None) -> HandObservation:
    right = res.p_true_right > 0.5
    return HandObservation(
        region=region,
        landmarks_px=res.landmarks_px,
        world_landmarks_m=res.world_m,
        presence=res.presence,
        handedness="right" if right else "left",
        handedness_score=res.p_true_right if right else 1.0 - res.p_true_right,
        palm=palm,
        track_id=track_id,
    )

