"""HandReconstructor: image + camera in, metric hands in the camera frame out. No ROS.

Per frame: regions (tracked from the previous frame's landmarks, plus new palms from the detector) ->
landmark network -> camera-space fit of the hand model (at the configured hand length) to the 2D keypoints
through the camera, with MediaPipe's depth cues as a prior (``handmodel.camera_fit``) -> confidence (2D
keypoints vs the projected fit) -> hold-on-doubt -> temporal filter -> refit to the filtered joints (so mesh
and joints agree). Palms come from the caller (the detector node) or from the built-in palm detector.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from ..geometry.camera import CameraModel
from ..handmodel.camera_fit import CameraFit, CameraSpaceFitter, KeypointObservation
from ..handmodel.cues import PALM
from ..handmodel.factory import load_hand_model_data
from ..handmodel.fit import HandFitter
from ..handmodel.hand_length import at_hand_length
from ..handmodel.model import HandModel
from ..perception.image_checks import check_rgb_image
from ..perception.landmark_model import LandmarkModel, RegionLandmarks
from ..perception.palm_model import PalmModel
from ..perception.regions import region_from_landmarks, region_from_palm, region_iou
from ..perception.types import HandRegion, PalmDetection
from ..tracking.confidence import hand_confidence
from ..tracking.filtering import HandState
from ..tracking.hold import TrackState
from .config import ReconstructionConfig
from .track import Track
from .types import FrameResult, ReconstructedHand, StageTimes

ASSOCIATION_IOU = 0.5  # a new palm overlapping a tracked region this much is the same hand
REATTACH_IOU = 0.3
STAMP_JUMP_BACK_S = 1.0  # a new palm overlapping a held (lost) track's last region continues that track


class HandReconstructor:
    """Reconstructs and tracks hands over a stream of frames of one camera."""

    def __init__(self, config: ReconstructionConfig | None = None, with_palm_detector: bool = True,
                 allow_convert: bool = False, log: Callable[[str], None] | None = None) -> None:
        """``log``: where TensorRT engine builds report progress (default: stderr)."""
        self.config = cfg = config or ReconstructionConfig()
        common = {"variant": cfg.model_variant, "backend": cfg.backend, "device": cfg.device,
                  "precision": cfg.precision, "allow_convert": allow_convert, "log": log}
        self.palm_model = PalmModel(**common) if with_palm_detector else None  # type: ignore[arg-type]
        self.landmark_model = LandmarkModel(**common)  # type: ignore[arg-type]
        mano_dir = cfg.mano_dir if cfg.hand_model in ("auto", "mano") else None
        self.models: dict[str, HandModel] = {
            side: HandModel(at_hand_length(load_hand_model_data(side, mano_dir or None), cfg.hand_length_m))
            for side in ("right", "left")
        }
        self.fitters = {s: CameraSpaceFitter(m, warm_iterations=cfg.fit_iterations) for s, m in self.models.items()}
        self.refitters = {s: HandFitter(m, iterations=1) for s, m in self.models.items()}
        self.tracks: list[Track] = []
        self._next_id = 1
        self._frames_since_detection = 0
        self._last_stamp: float | None = None

    @property
    def model_name(self) -> str:
        return self.models["right"].name

    def reset(self) -> None:
        """Forget every track (e.g. after a jump in the image stream)."""
        self.tracks = []
        self._frames_since_detection = 0

    def wants_detection(self) -> bool:
        """Whether a palm detection would be used on the next frame (fewer than max_hands tracked)."""
        tracked = sum(t.region is not None for t in self.tracks)
        return tracked < self.config.max_hands

    # ------------------------------------------------------------------------------------------------ frame
    def process(self, image_rgb: np.ndarray, camera: CameraModel, stamp_s: float,
                palms: Sequence[PalmDetection] | None = None) -> FrameResult:
        """Reconstruct the hands in one HxWx3 uint8 RGB frame taken at ``stamp_s`` (seconds).

        ``palms``: the detector's palms for this frame (an empty list: it ran and found none), or None to
        use the built-in palm detector when one is due (or not at all when constructed without one).
        Raises ValueError/TypeError for an invalid image or an image size that does not match the camera.
        """
        t0 = time.perf_counter()
        image = check_rgb_image(image_rgb, "image_rgb")
        camera.check_image_size(image.shape[1], image.shape[0])
        cfg = self.config
        if self._last_stamp is not None and stamp_s < self._last_stamp - STAMP_JUMP_BACK_S:
            self.reset()  # the stream restarted (a looping bag or video): tracks and filters start over
        self._last_stamp = float(stamp_s)
        detector_ran = palms is not None
        if palms is None and self.palm_model is not None and self._detection_due():
            palms = self.palm_model.detect(image, cfg.min_detection_score)
            detector_ran = True
        self._frames_since_detection = 0 if detector_ran else self._frames_since_detection + 1
        t1 = time.perf_counter()

        candidates = self._candidates(list(palms or []))
        results = self.landmark_model.process_regions(image, [region for _, region, _ in candidates])
        t2 = time.perf_counter()

        seen: set[int] = set()
        geometry_s = fit_s = 0.0
        hands: list[ReconstructedHand] = []
        found: list[HandRegion] = []  # landmark regions of this frame's hands
        for (track, _, palm), res in zip(candidates, results, strict=True):
            if res.presence < cfg.min_presence:
                continue
            # A palm region may overlap a tracked hand too little to be associated before the landmarks
            # ran, and two tracks may converge on one hand; after the landmarks, a hand on top of one
            # already found this frame is the same hand (the later track is dropped as lost).
            region = region_from_landmarks(res.landmarks_px)  # where this hand is tracked next frame
            if any(region_iou(region, r) > ASSOCIATION_IOU for r in found):
                continue
            if track is None:
                track = self._attach(res, region, palm)
            seen.add(track.track_id)
            track.region = region
            found.append(region)
            g, f, hand = self._update_track(track, res, palm, camera, stamp_s)
            geometry_s += g
            fit_s += f
            if hand is not None:
                hands.append(hand)
        # Tracks not seen this frame: lost; they may still hold their last result for a while.
        for track in self.tracks:
            if track.track_id not in seen:
                track.lose()
                out = track.hold.update(stamp_s, None, 0.0)
                if out.value is not None:
                    hands.append(_as_held(out.value))
        self.tracks = [t for t in self.tracks if t.region is not None or t.hold.state is TrackState.HOLDING]
        t3 = time.perf_counter()
        times = StageTimes(detection=(t1 - t0) * 1e3, landmarks=(t2 - t1) * 1e3, geometry=geometry_s * 1e3,
                           fit=fit_s * 1e3, total=(t3 - t0) * 1e3)
        regions = [t.region for t in self.tracks if t.region is not None]
        return FrameResult(float(stamp_s), hands, regions, detector_ran, times)

    # ----------------------------------------------------------------------------------------------- pieces
    def _detection_due(self) -> bool:
        if not self.wants_detection():
            return False
        tracked = any(t.region is not None for t in self.tracks)
        return not tracked or self._frames_since_detection + 1 >= self.config.detect_every

    def _candidates(self, palms: list[PalmDetection]
                    ) -> list[tuple[Track | None, HandRegion, PalmDetection | None]]:
        out: list[tuple[Track | None, HandRegion, PalmDetection | None]] = [
            (t, t.region, None) for t in self.tracks if t.region is not None
        ]
        for palm in palms:
            if len(out) >= self.config.max_hands:
                break
            region = region_from_palm(palm.box, palm.keypoints)
            if any(region_iou(region, r) > ASSOCIATION_IOU for _, r, _ in out):
                continue
            out.append((None, region, palm))
        return out

    def _attach(self, res: RegionLandmarks, region: HandRegion, palm: PalmDetection | None) -> Track:
        """A track for a new palm: a held (recently lost) track at the same place, else a new one."""
        for track in self.tracks:
            last = track.last_hand
            if track.region is None and last is not None and region_iou(region, last.region) > REATTACH_IOU:
                track.region = region
                track.palm_score = palm.score if palm else None
                return track
        track = Track.start(self._next_id, region, palm.score if palm else None, res.p_true_right, self.config)
        self._next_id += 1
        self.tracks.append(track)
        return track

    def _update_track(self, track: Track, res: RegionLandmarks, palm: PalmDetection | None,
                      camera: CameraModel, stamp_s: float) -> tuple[float, float, ReconstructedHand | None]:
        cfg = self.config
        t0 = time.perf_counter()
        track.observe_side(res.p_true_right)
        keypoints = np.asarray(res.landmarks_px[:, :2], dtype=np.float64)
        obs = _observation(camera, keypoints, res)
        t1 = time.perf_counter()
        if obs is None:  # too few keypoints inside the lens model's invertible region to place the hand
            out = track.hold.update(stamp_s, None, 0.0)
            return t1 - t0, 0.0, (_as_held(out.value) if out.value is not None else None)
        fit = self.fitters[track.side].fit(obs, init=track.fit)
        joints = fit.keypoints[0]
        t2 = time.perf_counter()
        if not np.isfinite(fit.cost[0]):  # degenerate keypoints: nothing to place; hold the last result
            out = track.hold.update(stamp_s, None, 0.0)
            return t1 - t0, t2 - t1, (_as_held(out.value) if out.value is not None else None)
        conf = hand_confidence(keypoints, camera.project(joints), detector_score=palm.score if palm else 1.0,
                               presence_score=float(np.clip(res.presence, 0.0, 1.0)))
        hand: ReconstructedHand | None = None
        fit_s = t2 - t1
        if conf.score >= cfg.confidence_threshold:
            track.fit = fit
            translation = joints[0].copy()
            state = HandState(joints - translation, translation, keypoints)
            if cfg.smoothing:
                state = track.filter(stamp_s, state)
            t3 = time.perf_counter()
            hand = self._hand(track, state.joints_cam, keypoints, fit, cfg.smoothing, conf.score, conf.per_joint,
                              camera)
            fit_s += time.perf_counter() - t3
            geometry_s = (t1 - t0) + (t3 - t2)
        else:
            geometry_s = (t1 - t0) + (time.perf_counter() - t2)
        out = track.hold.update(stamp_s, hand, conf.score)
        if hand is not None:
            track.last_hand = hand
        if out.value is None:
            return geometry_s, fit_s, None
        return geometry_s, fit_s, (out.value if out.state is TrackState.TRACKING else _as_held(out.value))

    def _hand(self, track: Track, joints: np.ndarray, keypoints_px: np.ndarray, fit: CameraFit, filtered: bool,
              confidence: float, joint_conf: np.ndarray, camera: CameraModel) -> ReconstructedHand:
        """Build the published hand; with ``filtered`` joints the model is first refitted to them (one 3D
        step from this frame's fit) so that mesh, frames and joints agree."""
        side = track.side
        region = track.region
        assert region is not None  # set from this frame's landmarks before the track is updated
        model = self.models[side]
        pose = fit.fit_result(model.num_shape)
        if filtered:
            pose = self.refitters[side].fit(joints, init=pose, betas=pose.betas)
        out = model.outputs(self.refitters[side].to_batch(pose, with_vertices=True))[0]
        return ReconstructedHand(
            track_id=track.track_id,
            handedness=side,
            handedness_score=float(track.side_score),
            confidence=float(confidence),
            joint_confidences=np.asarray(joint_conf, dtype=np.float32),
            held=False,
            joints=np.asarray(joints, dtype=np.float64),
            joints_px=camera.project(np.asarray(joints, dtype=np.float64)),
            keypoints_px=keypoints_px,
            joint_frames=np.asarray(out.keypoint_frames, dtype=np.float64),
            frame_names=tuple(out.frame_names),
            wrist_position=np.asarray(out.wrist_position, dtype=np.float64),
            wrist_rotation=np.asarray(out.wrist_rotation, dtype=np.float64),
            pose=np.asarray(out.pose, dtype=np.float32).reshape(-1),
            shape=_shape10(out.betas),
            model_name=out.model,
            vertices=np.asarray(out.vertices, dtype=np.float32),
            faces=out.faces,
            region=region,
            palm_score=track.palm_score,
        )


def _observation(camera: CameraModel, keypoints_px: np.ndarray, res: RegionLandmarks) -> KeypointObservation | None:
    """The landmarks of one hand for the camera-space fit; keypoints the lens model cannot undistort get
    weight 0 (None when fewer than 3 palm keypoints remain)."""
    uv = camera.undistort_points(keypoints_px, "normalized")
    valid = np.all(np.isfinite(uv), axis=1)
    weights = None
    if not np.all(valid):
        if int(valid[list(PALM)].sum()) < 3:
            return None
        uv = np.where(valid[:, None], uv, 0.0)
        weights = valid.astype(np.float64)[None]
    return KeypointObservation(uv[None], np.asarray(res.landmarks_px, dtype=np.float64)[None],
                               np.asarray(res.world_m, dtype=np.float64)[None], weights)


def _as_held(hand: ReconstructedHand) -> ReconstructedHand:
    if hand.held:
        return hand
    fields = {**hand.__dict__, "held": True}
    return ReconstructedHand(**fields)


def _shape10(betas: np.ndarray) -> np.ndarray:
    out = np.zeros(10, dtype=np.float32)
    b = np.asarray(betas, dtype=np.float32).reshape(-1)[:10]
    out[: b.size] = b
    return out

