"""HandReconstructor: image + camera in, metric hands in the camera frame out. No ROS.

Two running modes, as in MediaPipe: :meth:`HandReconstructor.process_image` for unrelated photos (every call
stands alone) and :meth:`HandReconstructor.process_frame` for the frames of one stream, in order (tracking).

Per frame (``process_frame``): the hand tracker (``perception.tracker``: palms, regions, landmarks, track
ids) -> camera-space fit of the hand model (at the configured hand length) to the 2D keypoints through the
camera, with MediaPipe's depth cues as a prior (``handmodel.camera_fit``) -> confidence (2D keypoints vs the
projected fit) -> when confident: temporal filter (``tracking.filtering``: predictive, no lag on steady
motion), then a refit of the model to the filtered joints (so mesh, TF frames and joints agree) -> hold-on-doubt
(an unconfident or lost hand is held for a while: with smoothing it moves on as the filter predicts from its
motion, without it repeats its last confident result). Palms come from the caller (the detector node) or from
the tracker's own palm detector.
``process_image`` runs the same steps on one image without the tracking, the filter and the hold.

With a depth image registered to the colour image (an RGB-D camera's ``aligned_depth_to_color`` stream), each
hand's keypoints also get robust depth samples (``geometry.depth``) that enter the camera-space fit, which then
measures the hand's scale; with ``hand_size_mode: depth`` the confident depth frames calibrate each side's
hand length (``hand_size``), which is kept for the monocular frames when depth goes away.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from threadpoolctl import ThreadpoolController

from ..geometry.camera import CameraModel
from ..geometry.depth import DepthImage, sample_keypoint_depths
from ..handmodel.camera_fit import CameraSpaceFitter, KeypointObservation
from ..handmodel.cues import PALM
from ..handmodel.factory import load_hand_model_data
from ..handmodel.fit import FitResult, HandFitter
from ..handmodel.hand_length import at_hand_length
from ..handmodel.model import HandModel
from ..perception.backends import default_threads
from ..perception.image_checks import check_rgb_image
from ..perception.landmark_model import LandmarkModel
from ..perception.palm_model import PalmModel
from ..perception.palm_search import PalmSearch
from ..perception.tracker import HandTracker
from ..perception.types import HandObservation, HandRegion, PalmDetection
from ..tracking.confidence import hand_confidence, visibility
from ..tracking.filtering import HandState
from ..tracking.hold import HoldOutput, TrackState
from .config import ReconstructionConfig
from .hand_size import HandSizeCalibrator
from .track import Track
from .types import DEPTH_REJECTED_HELP, FrameResult, HandSize, ReconstructedHand, StageTimes

# The scale prior's standard deviation (log scale) of a fit with depth: loose while the size is measured by the
# depth (hand_size_mode depth), tight when the configured size is to be kept (fixed: depth then places the hand
# and refines its pose, but does not resize it).
SCALE_SD_DEPTH = 0.1
SCALE_SD_FIXED = 0.002
# A depth frame estimates the hand's size only with depth on this many keypoints, 3 of them on the palm.
MIN_DEPTH_KEYPOINTS = 8
MIN_DEPTH_PALM = 3
# A hand's depth is refused (the hand placed without it) when fewer than this fraction of its samples agree with
# the fitted hand, or when it would make the hand's length implausible (HandSizeCalibrator.plausible).
MIN_DEPTH_AGREEMENT = 0.5
# Nor can a detected hand be this far (at 600 px focal length it would be ~11 px long, far below what the palm
# detector finds): depth there is in the wrong units (millimetres published as 32FC1 metres).
MAX_HAND_DEPTH_M = 10.0


class _Update(NamedTuple):
    """One hand's update: seconds in geometry and in the fits, what it publishes, why it was not placed, and
    how many of its keypoints had a depth sample."""

    geometry_s: float
    fit_s: float
    hand: ReconstructedHand | None
    unplaced: str | None = None  # a key of UNPLACED_REASONS
    depth_keypoints: int = 0
    depth_rejected: bool = False


class HandReconstructor:
    """Reconstructs hands in unrelated images (:meth:`process_image`) or reconstructs and tracks them over
    the frames of one camera's stream (:meth:`process_frame`)."""

    def __init__(self, config: ReconstructionConfig | None = None, with_palm_detector: bool = True,
                 allow_convert: bool = False, log: Callable[[str], None] | None = None) -> None:
        """``with_palm_detector``: False when palms always come from the caller (the detector node);
        ``allow_convert``: convert the MediaPipe models on first use instead of raising ModelNotConvertedError;
        ``log``: where TensorRT engine builds report progress and backend fallbacks (default: stderr).
        Anything that cannot be set up as configured (a setting, a missing or damaged model file, ``mano_dir``,
        an unusable backend) raises a :class:`~hand_mesh_ros.errors.ConfigurationError` naming it and the fix;
        the hand models load first, so such a mistake is reported before any network or engine is built."""
        self.config = cfg = config or ReconstructionConfig()
        mano_dir = cfg.mano_dir if cfg.hand_model in ("auto", "mano") else None
        self._model_data = {side: load_hand_model_data(side, mano_dir or None) for side in ("right", "left")}
        common = {"variant": cfg.model_variant, "backend": cfg.backend, "device": cfg.device,
                  "precision": cfg.precision, "allow_convert": allow_convert, "log": log}
        self.landmark_model = LandmarkModel(**common)  # type: ignore[arg-type]
        # On two or more CPUs, a frame that runs both networks runs the tracked hands' landmarks beside the palm
        # detector (on the CPU backend only: a GPU backend's work goes through one CUDA stream).
        overlap = default_threads() >= 2 and self.landmark_model.backend.name.startswith("onnxruntime")
        self.tracker = HandTracker(PalmModel(**common) if with_palm_detector else None,  # type: ignore[arg-type]
                                   self.landmark_model, max_hands=cfg.max_hands, overlap_networks=overlap,
                                   min_detection_score=cfg.min_detection_score, min_presence=cfg.min_presence,
                                   detection_mode=cfg.detection_mode, detect_every_n=cfg.detect_every_n,
                                   reattach_s=cfg.hold_time_s, small_hands=cfg.small_hands,
                                   detection_roi=cfg.detection_roi)
        self.models: dict[str, HandModel] = {}
        self.fitters: dict[str, CameraSpaceFitter] = {}
        self.refitters: dict[str, HandFitter] = {}
        self._model_length: dict[str, float] = {}
        self._sizes: dict[str, HandSizeCalibrator] = {}
        self._build_fitters(cfg)
        self.tracks: dict[int, Track] = {}  # by track id
        self._camera_key: tuple[object, ...] | None = None
        # numpy's BLAS runs single-threaded inside a frame: its threads only cost wake-ups on our small matrices
        # (two BLAS threads made a 2-core frame 0.8 ms slower); the caller's own setting is restored after each
        self._blas = ThreadpoolController()

    def _build_fitters(self, cfg: ReconstructionConfig) -> None:
        """Hand models, fits and size calibration of both sides at the configured hand length."""
        self._sizes = {side: HandSizeCalibrator(side, cfg.hand_length_m, cfg.hand_size_mode == "depth")
                       for side in self._model_data}
        for side in self._model_data:
            self._build_side(side, cfg.hand_length_m, cfg.fit_iterations)

    def _build_side(self, side: str, hand_length_m: float, fit_iterations: int) -> None:
        model = self.models[side] = HandModel(at_hand_length(self._model_data[side], hand_length_m))
        self.fitters[side] = CameraSpaceFitter(model, warm_iterations=fit_iterations)
        self.refitters[side] = HandFitter(model, iterations=1)
        self._model_length[side] = float(hand_length_m)

    def hand_sizes(self) -> dict[str, HandSize]:
        """The hand length each side's hands are placed with now, and where it comes from (configured,
        calibrating from depth, or calibrated), by side ("right", "left")."""
        return {side: cal.state() for side, cal in self._sizes.items()}

    def _scale(self, side: str) -> float:
        """The expected size of ``side``'s hands relative to its model: the current size estimate over the
        length the model was built at (1 once a calibrated size is locked and the model rebuilt)."""
        return self._sizes[side].length_m / self._model_length[side]

    def _calibrate(self, side: str, length_m: float) -> None:
        """One confident depth frame's estimate of ``side``'s hand length; once the size locks, that side's model
        is rebuilt at it and its tracks' fits start cold (their filters and holds carry on)."""
        if not self._sizes[side].add(length_m):
            return
        old = self._model_length[side]
        self._build_side(side, self._sizes[side].length_m, self.config.fit_iterations)
        for track in self.tracks.values():
            if track.side == side:
                track.fit, track.pose = None, None
                track.scale *= old / self._model_length[side]

    def reconfigure(self, config: ReconstructionConfig) -> None:
        """Apply new settings to a running reconstructor without reloading the networks.

        Detection, presence, hold, filter, fit and hand-length settings take effect on the next frame: the
        hand models are rebuilt at the new hand length when it changed, and every track's filters, hold and
        last fit start over (hands stay tracked, so nothing is re-detected). Raises ValueError when a setting
        that needs new networks or another hand model differs (model_variant, backend, device, precision,
        hand_model, mano_dir): build a new HandReconstructor for those."""
        fixed = ("model_variant", "backend", "device", "precision", "hand_model", "mano_dir")
        changed = [n for n in fixed if getattr(config, n) != getattr(self.config, n)]
        if changed:
            raise ValueError(f"{', '.join(changed)} cannot change on a running reconstructor: build a new one")
        tracker = self.tracker
        tracker.max_hands, tracker.min_detection_score = config.max_hands, config.min_detection_score
        tracker.min_presence, tracker.reattach_s = config.min_presence, config.hold_time_s
        schedule = tracker.schedule
        schedule.mode, schedule.every_n, schedule.max_hands = (config.detection_mode, config.detect_every_n,
                                                               config.max_hands)
        if tracker.search is not None:
            tracker.search = PalmSearch(tracker.search.model, config.small_hands, config.detection_roi)
        if ((config.hand_length_m, config.fit_iterations, config.hand_size_mode)
                != (self.config.hand_length_m, self.config.fit_iterations, self.config.hand_size_mode)):
            self._build_fitters(config)  # the size calibration starts over too
        self.config = config
        self.tracks = {}

    @property
    def model_name(self) -> str:
        return self.models["right"].name

    def close(self) -> None:
        """Stop the worker thread that runs the landmarks beside the palm detector (if any); the reconstructor
        still works afterwards, running the two networks one after the other."""
        self.tracker.close()

    def reset(self) -> None:
        """Forget every track (e.g. after a jump in the image stream); the next frame is detected anew."""
        self.tracks = {}
        self.tracker.reset()
        self._camera_key = None

    # ------------------------------------------------------------------------------------------------ image
    def process_image(self, image_rgb: np.ndarray, camera: CameraModel, depth: DepthImage | None = None
                      ) -> FrameResult:
        """Reconstruct the hands in one HxWx3 uint8 RGB photo that has nothing to do with any other call.

        The palm detector looks at the whole image (or ``detection_roi``) every time and, with ``small_hands``
        on, at every tile when that found no palm; the tracks, the tracker and the temporal
        filters are neither used nor changed (a stream handled with :meth:`process_frame` carries on
        unaffected), and nothing is held. Each fit starts cold. The hands' ``track_id`` numbers them within
        this result only (1, 2, ...); ``stamp_s`` is 0 and ``tracked_regions`` is empty (nothing is tracked).
        ``depth``: a depth image registered to this photo (see :meth:`process_frame`); it places the hands
        but does not calibrate the hand size (photos are unrelated).
        Raises ValueError without a palm detector (``with_palm_detector=False``), ValueError/TypeError for an
        invalid image or an image size that does not match the camera, DepthImageError (a ValueError) for a
        depth image that is not this camera's field of view.
        """
        with self._blas.limit(limits=1, user_api="blas"):
            return self._process_image(image_rgb, camera, depth)

    def _process_image(self, image_rgb: np.ndarray, camera: CameraModel, depth: DepthImage | None
                       ) -> FrameResult:
        t0 = time.perf_counter()
        image = check_rgb_image(image_rgb, "image_rgb")
        camera.check_image_size(image.shape[1], image.shape[0])
        registered = None if depth is None else _check_depth(depth).registered_to(camera)
        found = self.tracker.detect_image(image)
        geometry_s = fit_s = 0.0
        depth_keypoints = depth_rejected = 0
        unplaced: dict[str, int] = {}
        hands: list[ReconstructedHand] = []
        for obs, region in zip(found.hands, found.regions, strict=True):
            # A throwaway track: fresh hold and filter, no earlier fit; this call's hands only.
            track = Track.start(0, obs.palm.score if obs.palm else None, obs.p_right, self.config)
            update = self._update_track(track, obs, region, camera, 0.0, smooth=False, depth=registered,
                                        calibrate=False)
            geometry_s += update.geometry_s
            fit_s += update.fit_s
            depth_keypoints += update.depth_keypoints
            depth_rejected += update.depth_rejected
            if update.unplaced is not None:
                unplaced[update.unplaced] = unplaced.get(update.unplaced, 0) + 1
            if update.hand is not None:
                hands.append(replace(update.hand, track_id=len(hands) + 1))
        total_ms = (time.perf_counter() - t0) * 1e3
        times = StageTimes(detection=found.detection_ms, landmarks=found.landmarks_ms, geometry=geometry_s * 1e3,
                           fit=fit_s * 1e3, total=total_ms)
        return FrameResult(0.0, hands, [], True, times, unplaced=unplaced, depth_used=registered is not None,
                           depth_keypoints=depth_keypoints, depth_rejected=depth_rejected)

    # ------------------------------------------------------------------------------------------------ frame
    def process(self, image_rgb: np.ndarray, camera: CameraModel, stamp_s: float,
                palms: Sequence[PalmDetection] | None = None) -> FrameResult:
        """Deprecated name of :meth:`process_frame` (same arguments, same tracking behaviour).

        Use :meth:`process_frame` for the frames of a stream and :meth:`process_image` for unrelated photos.
        """
        warnings.warn("HandReconstructor.process() tracks across calls; call process_frame() for the frames of "
                      "a stream or process_image() for unrelated photos", DeprecationWarning, stacklevel=2)
        return self.process_frame(image_rgb, camera, stamp_s, palms)

    def process_frame(self, image_rgb: np.ndarray, camera: CameraModel, stamp_s: float,
                      palms: Sequence[PalmDetection] | None = None, depth: DepthImage | None = None
                      ) -> FrameResult:
        """Reconstruct and track the hands in one HxWx3 uint8 RGB frame of a stream, taken at ``stamp_s``
        (seconds). Give it the frames of one camera in order: hands are looked for where they were in the
        previous frame (the palm detector only runs when none, or fewer than ``max_hands``, are tracked), keep
        their track id, are filtered over time and held for a while when lost. Stamps that step back, or
        another camera, start tracking over. For unrelated photos use :meth:`process_image`.

        ``palms``: the detector's palms for this frame (an empty list: it ran and found none), or None to
        use the built-in palm detector when one is due (or not at all when constructed without one).
        ``depth``: the depth image taken with this frame, registered to it (same pixels; another size with the
        same field of view is rescaled), or None (a monocular frame). It places the hands by their measured
        depth and, with ``hand_size_mode: depth``, calibrates the hand size (:meth:`hand_sizes`).
        Raises ValueError/TypeError for an invalid image, an image size that does not match the camera, a
        ``detection_roi`` that covers no pixel of the image, or (DepthImageError, a ValueError) a depth image
        that is not this camera's field of view.
        """
        with self._blas.limit(limits=1, user_api="blas"):
            return self._process_frame(image_rgb, camera, stamp_s, palms, depth)

    def _process_frame(self, image_rgb: np.ndarray, camera: CameraModel, stamp_s: float,
                       palms: Sequence[PalmDetection] | None, depth: DepthImage | None) -> FrameResult:
        t0 = time.perf_counter()
        image = check_rgb_image(image_rgb, "image_rgb")
        camera.check_image_size(image.shape[1], image.shape[0])
        registered = None if depth is None else _check_depth(depth).registered_to(camera)
        key = camera.key()
        camera_changed = self._camera_key is not None and key != self._camera_key
        if camera_changed:  # other intrinsics or size: regions, filters and held hands mean nothing any more
            self.reset()
        self._camera_key = key
        frame = self.tracker.step(image, float(stamp_s), None if palms is None else list(palms))
        if frame.restarted:  # the stream restarted (a looping bag or video): tracks and filters start over
            self.tracks = {}
        for key in frame.merged:  # the same hand as another track: nothing to hold
            self.tracks.pop(key, None)
        for key, track in self.tracks.items():
            if track.seen and key not in frame.tracked:
                track.lose()
        geometry_s = fit_s = 0.0
        depth_keypoints = depth_rejected = 0
        unplaced: dict[str, int] = {}
        hands: list[ReconstructedHand] = []
        for obs in frame.hands:
            assert obs.track_id is not None
            region = frame.tracked[obs.track_id]
            track = self.tracks.get(obs.track_id)
            if track is None:
                track = self.tracks[obs.track_id] = Track.start(obs.track_id, obs.palm.score if obs.palm else None,
                                                                obs.p_right, self.config)
            elif obs.palm is not None:  # a lost hand found again: it continues its held track
                track.palm_score = obs.palm.score
            track.seen = True
            update = self._update_track(track, obs, region, camera, stamp_s, smooth=self.config.smoothing,
                                        depth=registered, calibrate=True)
            geometry_s += update.geometry_s
            fit_s += update.fit_s
            depth_keypoints += update.depth_keypoints
            depth_rejected += update.depth_rejected
            if update.unplaced is not None:
                unplaced[update.unplaced] = unplaced.get(update.unplaced, 0) + 1
            if update.hand is not None:
                hands.append(update.hand)
        # Tracks not seen this frame may still hold their last result for a while.
        for track in self.tracks.values():
            if not track.seen:
                held = self._shown(track, track.publish(stamp_s, None, 0.0), camera, stamp_s)
                if held is not None:
                    hands.append(held)
        self.tracks = {k: t for k, t in self.tracks.items() if t.seen or t.hold.state is TrackState.HOLDING}
        total_ms = (time.perf_counter() - t0) * 1e3
        times = StageTimes(detection=frame.detection_ms, landmarks=frame.landmarks_ms, geometry=geometry_s * 1e3,
                           fit=fit_s * 1e3, total=total_ms)
        return FrameResult(float(stamp_s), hands, list(frame.tracked.values()), frame.detector_ran, times,
                           restarted=frame.restarted, camera_changed=camera_changed, unplaced=unplaced,
                           depth_used=registered is not None, depth_keypoints=depth_keypoints,
                           depth_rejected=depth_rejected)

    # ----------------------------------------------------------------------------------------------- pieces
    def _update_track(self, track: Track, obs: HandObservation, region: HandRegion, camera: CameraModel,
                      stamp_s: float, smooth: bool, depth: DepthImage | None, calibrate: bool) -> _Update:
        """One hand of this frame through fit (with ``depth``: its samples at the keypoints; with
        ``calibrate``: a confident depth fit estimates the hand size), confidence, (with ``smooth``) the track's
        filter, and its hold."""
        cfg = self.config
        t0 = time.perf_counter()
        track.observe_side(obs.p_right)
        side = track.side
        keypoints = np.asarray(obs.landmarks_px[:, :2], dtype=np.float64)
        observation = _observation(camera, keypoints, obs)
        t1 = time.perf_counter()
        if observation is None:  # too few keypoints inside the lens model's invertible region to place the hand
            held = self._shown(track, track.publish(stamp_s, None, 0.0), camera, stamp_s)
            return _Update(t1 - t0, 0.0, held, "outside_lens_model")
        n_depth = 0
        rejected = False
        if depth is not None:
            sampled = sample_keypoint_depths(depth, keypoints[None], self._sizes[side].length_m)
            samples = sampled.depth_m
            if observation.weights is not None:  # keypoints the lens model cannot place have no depth either
                samples = np.where(observation.weights > 0, samples, np.nan)
            n_depth = int(np.isfinite(samples).sum())
            rejected = bool(sampled.hand_depth_m[0] > MAX_HAND_DEPTH_M)
            if n_depth >= 3 and not rejected:
                observation = replace(observation, depth_m=samples)
            else:
                n_depth = 0
        scale_sd = SCALE_SD_DEPTH if cfg.hand_size_mode == "depth" else SCALE_SD_FIXED
        fitter = self.fitters[side]
        fit = fitter.fit(observation, init=track.fit, scale=self._scale(side), scale_sd=scale_sd)
        if observation.depth_m is not None:
            implied = fitter.implied_scale(fit, observation.depth_m)[0]
            plausible = self._sizes[side].plausible
            if not (plausible(float(fit.scale[0]) * self._model_length[side])
                    and plausible(float(implied) * self._model_length[side])
                    and fit.depth_agreement[0] >= MIN_DEPTH_AGREEMENT):  # not this hand's depth: place it without
                rejected, n_depth = True, 0
                observation = replace(observation, depth_m=None)
                fit = fitter.fit(observation, init=None, scale=self._scale(side))
        if rejected:
            warnings.warn(f"depth refused for a hand: {DEPTH_REJECTED_HELP}", RuntimeWarning, stacklevel=4)
        joints = fit.keypoints[0]
        t2 = time.perf_counter()
        if not np.isfinite(fit.cost[0]):  # degenerate keypoints: nothing to place; hold the last result
            held = self._shown(track, track.publish(stamp_s, None, 0.0), camera, stamp_s)
            return _Update(t1 - t0, t2 - t1, held, "degenerate_keypoints")
        conf = hand_confidence(keypoints, camera.project(joints),
                               detector_score=obs.palm.score if obs.palm else 1.0,
                               presence_score=float(np.clip(obs.presence, 0.0, 1.0)))
        seen = obs.region
        joint_conf = conf.per_joint * visibility(keypoints, camera.width, camera.height,
                                                 (seen.cx, seen.cy, seen.w, seen.h, seen.angle))
        hand: ReconstructedHand | None = None
        fit_s = t2 - t1
        if conf.score >= cfg.confidence_threshold:
            track.fit = fit
            track.scale = float(fit.scale[0])
            translation = joints[0].copy()
            state = HandState(joints - translation, translation)
            if smooth:
                state = track.filter(stamp_s, state, float(camera.k[0, 0]), joint_conf)
            t3 = time.perf_counter()
            hand = self._hand(track, region, state.joints_cam, keypoints, fit.fit_result(self.models[track.side]
                              .num_shape), smooth, conf.score, joint_conf, camera)
            fit_s += time.perf_counter() - t3
            geometry_s = (t1 - t0) + (t3 - t2)
            if calibrate and observation.depth_m is not None and _sizes_hand(observation.depth_m[0]):
                self._calibrate(side, float(fit.scale[0]) * self._model_length[side])
        else:
            geometry_s = (t1 - t0) + (time.perf_counter() - t2)
        return _Update(geometry_s, fit_s, self._shown(track, track.publish(stamp_s, hand, conf.score), camera,
                                                      stamp_s), depth_keypoints=n_depth, depth_rejected=rejected)

    def _shown(self, track: Track, out: HoldOutput[ReconstructedHand], camera: CameraModel, stamp_s: float
               ) -> ReconstructedHand | None:
        """What a track publishes this frame: its confident hand, or while holding its last confident hand
        moved to where the filter predicts it now (marked held, with that hand's confidences), or nothing."""
        if out.value is None:
            return None
        if out.state is TrackState.TRACKING:
            return out.value
        last = out.value
        predicted = track.filter.predict(stamp_s) if self.config.smoothing else None
        if predicted is None or track.pose is None:
            return _as_held(last)
        hand = self._hand(track, last.region, predicted.joints_cam, last.keypoints_px, track.pose, True,
                          last.confidence, last.joint_confidences, camera, held=True)
        return replace(hand, handedness_score=last.handedness_score, palm_score=last.palm_score)

    def _hand(self, track: Track, region: HandRegion, joints: np.ndarray, keypoints_px: np.ndarray,
              init: FitResult, refit: bool, confidence: float, joint_conf: np.ndarray, camera: CameraModel,
              held: bool = False) -> ReconstructedHand:
        """Build the published hand from its camera-frame ``joints`` (21, 3) m; with ``refit`` the model is
        first refitted to them (one 3D step from ``init``) so that mesh, frames and joints agree."""
        side = track.side
        model = self.models[side]
        scale = track.scale  # the hand's size relative to the model (about the camera centre)
        pose = init
        if refit:
            pose = self.refitters[side].fit(joints / scale, init=pose, betas=pose.betas)
        track.pose = pose
        out = model.outputs(self.refitters[side].to_batch(pose, with_vertices=True))[0]
        return ReconstructedHand(
            track_id=track.track_id,
            handedness=side,
            handedness_score=float(track.side_score),
            confidence=float(confidence),
            joint_confidences=np.asarray(joint_conf, dtype=np.float32),
            held=held,
            joints=np.asarray(joints, dtype=np.float64),
            joints_px=camera.project(np.asarray(joints, dtype=np.float64)),
            keypoints_px=keypoints_px,
            joint_frames=np.asarray(out.keypoint_frames, dtype=np.float64),
            frame_names=tuple(out.frame_names),
            wrist_position=np.asarray(out.wrist_position, dtype=np.float64) * scale,
            wrist_rotation=np.asarray(out.wrist_rotation, dtype=np.float64),
            pose=np.asarray(out.pose, dtype=np.float32).reshape(-1),
            shape=_shape10(out.betas),
            model_name=out.model,
            vertices=np.asarray(out.vertices * scale, dtype=np.float32),
            faces=out.faces,
            region=region,
            palm_score=track.palm_score,
        )


def _observation(camera: CameraModel, keypoints_px: np.ndarray, obs: HandObservation) -> KeypointObservation | None:
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
    return KeypointObservation(uv[None], np.asarray(obs.landmarks_px, dtype=np.float64)[None],
                               np.asarray(obs.world_landmarks_m, dtype=np.float64)[None], weights)


def _check_depth(depth: object) -> DepthImage:
    if not isinstance(depth, DepthImage):
        raise TypeError(f"depth must be a DepthImage (DepthImage.from_array(array, '16UC1' or '32FC1')), got "
                        f"{type(depth).__name__}")
    return depth


def _sizes_hand(depth_m: np.ndarray) -> bool:
    """Whether one hand's keypoint depths (21,) are enough to estimate its size."""
    valid = np.isfinite(depth_m)
    return int(valid.sum()) >= MIN_DEPTH_KEYPOINTS and int(valid[list(PALM)].sum()) >= MIN_DEPTH_PALM


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

