"""HandReconstructor: image + camera in, metric hands in the camera frame out. No ROS.

Per frame: regions (tracked from the previous frame's landmarks, plus new palms from the detector) ->
landmark network -> hand size + DGP translation -> hand-model fit -> confidence (2D keypoints vs the
projected fit) -> hold-on-doubt -> temporal filter -> refit to the filtered joints (so mesh and joints
agree). Palms come from the caller (the detector node) or from the built-in palm detector.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from ..geometry.camera import CameraModel
from ..geometry.dgp import DGPStatus, locate_hand
from ..geometry.hand_size import palm_size, rescale_to_size
from ..geometry.model_position import position_fitted_hand
from ..handmodel.factory import load_hand_model
from ..handmodel.fit import FitResult, HandFitter
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
            side: load_hand_model(side, mano_dir or None, device=cfg.fit_device) for side in ("right", "left")
        }
        self.fitters = {s: HandFitter(m, iterations=cfg.fit_iterations) for s, m in self.models.items()}
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
        track = Track.start(self._next_id, region, palm.score if palm else None, res.p_true_right,
                            self.config, self.models["right"].num_shape)
        self._next_id += 1
        self.tracks.append(track)
        return track

    def _update_track(self, track: Track, res: RegionLandmarks, palm: PalmDetection | None,
                      camera: CameraModel, stamp_s: float) -> tuple[float, float, ReconstructedHand | None]:
        cfg = self.config
        t0 = time.perf_counter()
        track.observe_side(res.p_true_right)
        keypoints = np.asarray(res.landmarks_px[:, :2], dtype=np.float64)
        world = np.asarray(res.world_m, dtype=np.float64)
        rel = world - world[0]
        size = track.size.size_m
        rel, _ = rescale_to_size(rel, size)
        dgp = locate_hand(camera, keypoints, rel, refine=cfg.dgp_refine, previous=track.translation)
        t1 = time.perf_counter()
        if int(dgp.status[0]) == DGPStatus.FAILED or not np.all(np.isfinite(dgp.translation[0])):
            out = track.hold.update(stamp_s, None, 0.0)
            return t1 - t0, 0.0, (_as_held(out.value) if out.value is not None else None)
        translation = dgp.translation[0]
        joints_cam = rel + translation
        # Fit the hand model to this frame's joints (warm start from the track's last fit).
        side = track.side
        fitter = self.fitters[side]
        calib = track.shape_calibrator()
        betas = calib.betas() if calib is not None else None
        fit = fitter.fit(joints_cam, init=track.fit, betas=betas,
                         fit_shape=bool(calib is not None and calib.calibrating))
        if calib is not None and calib.calibrating:
            calib.update(fit)
        model_joints = fit.keypoints[0].detach().cpu().double().numpy()
        scale = 1.0
        if cfg.model_positioning:
            # Second positioning pass on the fitted model's keypoints (fixed palm size, per-joint weights);
            # the published joints become the model's keypoints.
            placed = position_fitted_hand(camera, keypoints, model_joints, size, refine=cfg.dgp_refine,
                                          previous=translation)
            if placed.ok:
                scale = placed.scale
                translation = placed.translation
                rel = placed.joints_cam - translation
                model_joints = placed.joints_cam
        t2 = time.perf_counter()
        projected = camera.project(model_joints)
        conf = hand_confidence(keypoints, projected, detector_score=palm.score if palm else 1.0,
                               presence_score=float(np.clip(res.presence, 0.0, 1.0)))
        track.size.update(float(palm_size(world)), conf.score)
        hand: ReconstructedHand | None = None
        if conf.score >= cfg.confidence_threshold:
            track.fit = fit
            track.translation = translation
            state = HandState(rel, translation, keypoints)
            if cfg.smoothing:
                state = track.filter(stamp_s, state)
            t3 = time.perf_counter()
            hand = self._hand(track, state.joints_cam, scale, fit, conf.score, conf.per_joint, camera)
            fit_s = (t2 - t1) + (time.perf_counter() - t3)
            geometry_s = (t1 - t0) + (t3 - t2)
        else:
            fit_s, geometry_s = t2 - t1, (t1 - t0) + (time.perf_counter() - t2)
        out = track.hold.update(stamp_s, hand, conf.score)
        if hand is not None:
            track.last_hand = hand
        if out.value is None:
            return geometry_s, fit_s, None
        return geometry_s, fit_s, (out.value if out.state is TrackState.TRACKING else _as_held(out.value))

    def _hand(self, track: Track, joints: np.ndarray, scale: float, raw_fit: FitResult, confidence: float,
              joint_conf: np.ndarray, camera: CameraModel) -> ReconstructedHand:
        """Refit to the published (filtered) joints so mesh, frames and joints agree; build the result.

        ``scale``: the factor the positioning applied to the model's keypoints about the wrist; the refit
        runs on the unscaled joints and the mesh is scaled the same way, so it matches the joints.
        """
        side = track.side
        region = track.region
        assert region is not None  # set from this frame's landmarks before the track is updated
        wrist = joints[0]
        target = wrist + (joints - wrist) / scale
        fit = self.refitters[side].fit(target, init=raw_fit, betas=raw_fit.betas)
        model = self.models[side]
        out = model.outputs(self.refitters[side].to_batch(fit, with_vertices=True))[0]
        vertices = wrist + scale * (np.asarray(out.vertices, dtype=np.float64) - wrist)
        return ReconstructedHand(
            track_id=track.track_id,
            handedness=side,
            handedness_score=float(track.side_score),
            confidence=float(confidence),
            joint_confidences=np.asarray(joint_conf, dtype=np.float32),
            held=False,
            joints=np.asarray(joints, dtype=np.float64),
            joints_px=camera.project(np.asarray(joints, dtype=np.float64)),
            joint_frames=np.asarray(out.keypoint_frames, dtype=np.float64),
            frame_names=tuple(out.frame_names),
            wrist_position=wrist + scale * (np.asarray(out.wrist_position, dtype=np.float64) - wrist),
            wrist_rotation=np.asarray(out.wrist_rotation, dtype=np.float64),
            pose=np.asarray(out.pose, dtype=np.float32).reshape(-1),
            shape=_shape10(out.betas),
            model_name=out.model,
            vertices=vertices.astype(np.float32),
            faces=out.faces,
            region=region,
            palm_score=track.palm_score,
        )


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

