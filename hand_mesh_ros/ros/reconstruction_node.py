"""Reconstruction node: image + camera info + palms -> metric hands, markers, TF, diagnostics.

Subscribes ``image`` (sensor-data QoS; ``<image>/compressed`` with ``image_transport: compressed``),
``camera_info`` (the latest one is used; a change of intrinsics or size restarts tracking),
``hand_detections`` (matched to the image by stamp; not used when ``external_detections`` is false) and, when
the ``depth_image`` parameter names a topic, a depth image registered to the colour image (sensor-data QoS). With
no hand tracked, an image waits for its own detections; while hands are tracked it is processed at once and the
palms that arrive for it are used on the next image (so tracking frames cost no detector round trip).

Publishes, stamped with the image's header: ``hands`` (HandArray), ``hand_markers`` (MarkerArray),
``tracked_hands`` (regions for the detector's schedule), ``hand_debug_image`` (optional), ``/tf`` and
``/diagnostics``; ``hand_mesh_topology`` (MeshTopology, latched) once per side. Markers and TF are in the
image's frame (``camera_frame`` when the image has none; skipped when neither is set).

Depth (optional): each colour image is processed with the depth image of the nearest stamp within
``depth_tolerance_s``. One whose depth has not arrived yet waits, without blocking the executor, up to
``depth_wait_s`` from its arrival (in order: a later image never overtakes it), unless the depth stream is
already past its stamp or silent. Depth never costs a frame: a colour image without depth in time, or with a
depth image that cannot be used (unknown encoding, another field of view, a broken message), is processed
monocular, with a throttled warning naming the fix, counted in diagnostics; depth images no colour image uses
are counted by reason (bounded buffer). Without ``depth_image`` images go through exactly as before.

Every image is answered with a HandArray or given up with a logged reason counted in diagnostics (errors by
kind, drops by reason); what is not a failure but changes the output (restarts, camera changes, hands that
cannot be placed, missing frame ids) is logged and counted as an event.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from hand_mesh_ros.msg import HandArray, HandDetectionArray, MeshTopology

from ..errors import ConfigurationError
from ..geometry.camera import CameraModel
from ..geometry.depth import DEPTH_ENCODINGS, DepthImage, DepthImageError
from ..perception.types import PalmDetection
from ..reconstruction import HandReconstructor, ReconstructionConfig
from ..reconstruction.config import REMOVED_SETTINGS
from ..reconstruction.types import DEPTH_REJECTED_HELP, UNPLACED_REASONS, FrameResult
from ..visualization.overlay import draw_hands
from . import params
from .camera_info import camera_model_from_info
from .detection_msgs import msg_to_palms, regions_to_msg
from .diagnostics import NodeHealth
from .hand_msgs import hand_markers_cdr, hand_transforms, hands_to_msg, topology_msg
from .image_conversion import ImageConversionError, depth_image_from_msg, rgb_to_image
from .managed_node import ManagedNode
from .node_config import ReconstructionNodeConfig
from .node_main import run
from .qos import LATCHED, RESULTS, SENSOR
from .stamp_sync import (
    DEPTH_UNMATCHED_REASONS,
    DROP_REASONS,
    DepthBuffer,
    Stamp,
    StampSynchronizer,
    StreamClock,
    stamp_of,
    stamp_seconds,
)
from .tf_broadcast import TfPublisher

# Why a depth image given to a colour image was not used (diagnostics: depth frames rejected: <reason>), and the fix.
DEPTH_REJECTED_REASONS = {
    "unsupported_encoding": "publish the camera's depth image (16UC1/mono16 millimetres or 32FC1 metres) on "
                            "depth_image, not a colour or colourised one",
    "field_of_view": "give depth_image the depth stream registered (aligned) to the colour image (RealSense: "
                     "align_depth.enable:=true and .../aligned_depth_to_color/image_raw; ZED: depth/depth_registered)",
    "bad_message": "the message's size, step and data length disagree: check the driver or the bag",
    "implausible": DEPTH_REJECTED_HELP,
}
DEPTH_BUFFER = 10  # depth images held for their colour image
DEPTH_WAITING_MAX = 10  # colour images waiting for their depth at once (the oldest goes on without it beyond)
DEPTH_POLL_S = 0.005  # while colour images wait for depth, how often their waits are checked, seconds


@dataclass
class _Frame:
    """An image on its way through the node: the message, its time for the tracking core (seconds, increasing
    within a stream), its arrival (``time.monotonic()`` seconds), whether it was already handed to processing
    (processed, or waiting for its depth image) without waiting for its detections, and its palms meanwhile."""

    msg: Any
    time_s: float
    received: float
    processed: bool = False
    palms: list[PalmDetection] | None = None

    @property
    def header(self) -> Any:  # the stamp matcher reads it
        return self.msg.header


class ReconstructionNode(ManagedNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("hand_reconstruction", **kwargs)
        configured = lambda: self.configured  # noqa: E731
        params.declare(self, ReconstructionConfig, removed=REMOVED_SETTINGS, configured=configured,
                       on_change=self._parameters_changed)
        params.declare(self, ReconstructionNodeConfig, configured=configured, on_change=self._parameters_changed)
        self._rec: HandReconstructor | None = None
        self._camera: CameraModel | None = None
        self._camera_key: tuple[Any, ...] | None = None
        self._camera_error = ""
        self._shown: set[int] = set()
        self._sync: StampSynchronizer | None = None
        self._image_clock: StreamClock | None = None
        self._late_palms: list[PalmDetection] | None = None
        self._tf: TfPublisher | None = None
        self._reread = False
        self._received: deque[Stamp] = deque(maxlen=64)  # stamps of the latest images that reached _on_image
        self._depth: DepthBuffer[Any] | None = None  # depth messages by stamp, while depth_image is set
        self._waiting: deque[_Frame] = deque()  # colour images waiting for their depth image, in arrival order
        self._depth_timer: Any = None
        self._depth_counts: Counter[str] = Counter()  # used, missing, rejected:<reason>
        self._depth_keypoints = 0  # keypoints with a depth sample in the last frame processed with depth

    # ---- lifecycle -------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.cfg = params.read(self, ReconstructionConfig)
            self.node_cfg = params.read(self, ReconstructionNodeConfig)
            self._rec = HandReconstructor(self.cfg, with_palm_detector=not self.node_cfg.external_detections,
                                          log=self.get_logger().info)
        except ConfigurationError as exc:  # missing or damaged models, MANO files, no GPU, bad settings
            self.get_logger().error(f"cannot configure the reconstruction: {exc}")
            return TransitionCallbackReturn.FAILURE
        except Exception as exc:  # a bug: say so with the traceback, stay unconfigured
            self.get_logger().error(f"cannot configure the reconstruction: unexpected {type(exc).__name__}: {exc}\n"
                                    f"{traceback.format_exc()}")
            return TransitionCallbackReturn.FAILURE
        self.add_output("hands", HandArray, "hands", RESULTS)
        self.add_output("tracked", HandDetectionArray, "tracked_hands", RESULTS)
        self.add_output("topology", MeshTopology, "hand_mesh_topology", LATCHED)
        if self.node_cfg.publish_markers:
            self.add_output("markers", MarkerArray, "hand_markers", RESULTS)
        if self.node_cfg.publish_debug_image:
            self.add_output("debug", Image, "hand_debug_image", RESULTS)
        self._tf = TfPublisher(self) if self.node_cfg.publish_tf else None
        if self._tf is not None and self._tf.publisher is not None:
            self._pubs["tf"] = self._tf.publisher
        self._health = NodeHealth(self, "hand reconstruction")
        self._health.extra["landmark backend"] = self._rec.landmark_model.backend.name
        self._depth = DepthBuffer(DEPTH_BUFFER) if self.node_cfg.depth_image else None
        self._depth_counts, self._depth_keypoints = Counter(), 0
        self._health.add_values(self._depth_and_size_values)
        self.configured = True
        self.get_logger().info(f"reconstruction ready: hand model {self._rec.model_name}, "
                               f"{self.cfg.model_variant} landmarks on {self._rec.landmark_model.backend.name}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # enables the outputs
        assert self._rec is not None and self._health is not None
        for side, model in self._rec.models.items():  # latched: late subscribers get it too
            self._pubs["topology"].publish(
                topology_msg(model.name, side, model.faces, model.v_template.shape[0]))
        # A new activation is a new stream: nothing tracked or held carries over from before. Tell the detector
        # node (stamped with the last image seen, so that its schedule accepts it): it searches the next image.
        self._rec.reset()
        self._late_palms, self._shown = None, set()
        if self._received:
            sec, nanosec = self._received[-1]
            header = Header(frame_id="", stamp=Time(sec=sec, nanosec=nanosec))
            self._pubs["tracked"].publish(regions_to_msg(header, []))
        self._image_clock = StreamClock("image", on_event=self._health.event)
        self.subscribe(CameraInfo, "camera_info", self._on_camera_info, SENSOR)
        self._to_rgb = self.subscribe_images(self.node_cfg.image_transport, self._on_image)
        if self.node_cfg.external_detections:
            self._sync = StampSynchronizer(["image", "hand_detections"], self._on_matched,
                                           self.node_cfg.sync_queue_size, on_drop=self._on_sync_drop)
            self.subscribe(HandDetectionArray, "hand_detections", lambda m: self._sync_add(1, m), RESULTS)
        if self._depth is not None:
            self._depth.clear()
            sub = self.subscribe(Image, self.node_cfg.depth_image, self._on_depth, SENSOR)
            self._health.extra["depth image"] = sub.topic_name
            # steady time: waits are in seconds of arrival, also under use_sim_time (a paused bag)
            self._depth_timer = self.create_timer(DEPTH_POLL_S, self._on_wait_timer,
                                                  clock=Clock(clock_type=ClockType.STEADY_TIME))
            self._depth_timer.cancel()  # runs only while colour images wait for their depth
        else:
            self._health.extra["depth image"] = "off (depth_image is empty)"
        self.announce_active()
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_depth()
        return super().on_deactivate(state)

    def _stop_depth(self) -> None:
        """Forget the colour images waiting for depth (outputs are off: they would not be published) and the
        depth images held; stop the wait timer."""
        self._waiting.clear()
        if self._depth is not None:
            self._depth.clear()
        if self._depth_timer is not None:
            self.destroy_timer(self._depth_timer)
            self._depth_timer = None

    def release(self) -> None:
        self._stop_depth()
        self._depth = None
        if self._rec is not None:
            self._rec.close()
        self._rec = None
        self._camera, self._camera_key = None, None

    def _parameters_changed(self) -> None:
        self._reread = True  # the values are set once the callback returns: apply them on the next frame

    def _apply_parameters(self) -> None:
        """Live settings: rebuild what they affect (the core keeps its networks)."""
        self._reread = False
        assert self._rec is not None
        cfg, node_cfg = params.read(self, ReconstructionConfig), params.read(self, ReconstructionNodeConfig)
        self._rec.reconfigure(cfg)
        self.cfg, self.node_cfg = cfg, node_cfg
        self.get_logger().info("parameters applied: tracks start over with the new settings")

    # ---- callbacks -----------------------------------------------------------------------------------------
    def _on_camera_info(self, msg: Any) -> None:
        health = self._health
        assert health is not None and self._rec is not None
        if not msg.header.frame_id:
            health.event("camera_info_without_frame_id", "CameraInfo header.frame_id is empty", warn=True)
        key = (msg.width, msg.height, msg.distortion_model, tuple(msg.d), tuple(msg.k), tuple(msg.p),
               msg.binning_x, msg.binning_y, msg.roi.x_offset, msg.roi.y_offset, msg.roi.width,
               msg.roi.height)
        if key == self._camera_key:
            return
        if self._camera_key is not None:
            health.event("camera_changed", f"camera info changed (now {msg.width}x{msg.height}, "
                         f"{msg.distortion_model}): tracks, filters and held hands start over")
            self._rec.reset()
            self._late_palms = None
        self._camera_key = key
        try:
            self._camera, self._camera_error = camera_model_from_info(msg), ""
        except ValueError as exc:
            self._camera, self._camera_error = None, str(exc)
            health.event("camera_info_refused", f"camera info refused: {exc}", warn=True)

    def _on_image(self, image: Any) -> None:
        """While hands are tracked, process at once (palms that arrive later serve the next frame, as a
        new hand is then found one frame later); with none tracked, wait for this image's detections."""
        health, rec, clock = self._health, self._rec, self._image_clock
        assert health is not None and rec is not None and clock is not None
        health.frame_in()
        frame = _Frame(image, clock.seconds(image), time.monotonic())
        self._received.append(stamp_of(image))
        if clock.stepped_back:  # a new pass: what is tracked belongs to the old one; wait for this image's palms
            self._drain_waiting(flush=True)  # the old pass's images first
            rec.reset()
            self._late_palms = None
        if self._sync is None:
            self._dispatch(frame, None)
            return
        if rec.tracker.tracked:
            palms, self._late_palms = self._late_palms, None
            frame.processed = True
            self._dispatch(frame, palms)
        self._sync_add(0, frame)

    def _sync_add(self, index: int, msg: Any) -> None:
        assert self._sync is not None
        self._sync.add(index, msg)

    def _on_matched(self, frame: _Frame, detections: Any) -> None:
        palms = msg_to_palms(detections)
        if frame.processed:  # processed without waiting: keep the palms for the next frame
            if palms:
                self._late_palms = palms
            return
        frame.processed = True
        self._dispatch(frame, palms)

    # ---- depth -----------------------------------------------------------------------------------------------
    def _on_depth(self, msg: Any) -> None:
        """A depth image: held for the colour image of its stamp (converted only if one uses it)."""
        assert self._depth is not None
        self._depth.add(stamp_seconds(msg), msg)
        if self._waiting:
            self._drain_waiting()

    def _on_wait_timer(self) -> None:
        self._drain_waiting()

    def _dispatch(self, frame: _Frame, palms: list[PalmDetection] | None) -> None:
        """Process a frame now (no depth input), or once its depth image is there or waiting for it ends."""
        if self._depth is None:
            self._process(frame, palms)
            return
        frame.palms = palms
        self._waiting.append(frame)
        self._drain_waiting()

    def _drain_waiting(self, flush: bool = False) -> None:
        """Process the waiting colour images, oldest first, as far as each has its depth image or may not wait
        any longer (``flush``: none may). Called on each new colour or depth image and by the wait timer."""
        depth = self._depth
        while self._waiting and depth is not None:
            head, cfg = self._waiting[0], self.node_cfg
            stamp = stamp_seconds(head.msg)
            if (not flush and len(self._waiting) <= DEPTH_WAITING_MAX
                    and depth.peek(stamp, cfg.depth_tolerance_s) is None
                    and time.monotonic() < head.received + cfg.depth_wait_s
                    and depth.may_still_come(stamp, cfg.depth_tolerance_s)):
                if self._depth_timer is not None and self._depth_timer.is_canceled():
                    self._depth_timer.reset()
                return
            self._waiting.popleft()
            self._process(head, head.palms, depth_due=True)
        if self._depth_timer is not None and not self._depth_timer.is_canceled():
            self._depth_timer.cancel()

    def _depth_for(self, frame: _Frame, camera: CameraModel) -> DepthImage | None:
        """The depth image for this colour frame on the camera's pixel grid, or None (processed monocular: the
        reason counted and logged)."""
        depth, cfg, health = self._depth, self.node_cfg, self._health
        assert depth is not None and health is not None
        stamp = stamp_seconds(frame.msg)
        offset = depth.offset(stamp)
        msg = depth.take(stamp, cfg.depth_tolerance_s)
        if msg is None:
            self._depth_counts["missing"] += 1
            topic = health.extra.get("depth image", cfg.depth_image)
            if depth.silent():
                why = (f"no depth image arrived on {topic} for {DepthBuffer.SILENT_S:.0f} s (is it published? "
                       f"`ros2 topic hz {topic}`; remapped or namespaced elsewhere?)")
            elif offset is None:
                why = (f"no depth image within depth_tolerance_s = {cfg.depth_tolerance_s} s of its stamp came in "
                       f"depth_wait_s = {cfg.depth_wait_s} s (raise depth_wait_s if the depth arrives later)")
            else:
                why = (f"the nearest depth image held is {offset * 1e3:+.1f} ms from its stamp, beyond "
                       f"depth_tolerance_s = {cfg.depth_tolerance_s} s (depth from another clock or camera? raise "
                       f"depth_tolerance_s if the driver stamps depth and colour this far apart)")
            health.degraded("depth_missing", f"colour image processed without depth: {why}")
            return None
        try:
            image = depth_image_from_msg(msg)
        except Exception as exc:  # DepthImageError, or anything a broken message raises: never lose the frame
            reason = "unsupported_encoding" if str(msg.encoding) not in DEPTH_ENCODINGS else "bad_message"
            return self._reject_depth(reason, str(exc) if isinstance(exc, DepthImageError) else repr(exc))
        try:
            registered = image.registered_to(camera)
        except DepthImageError as exc:
            return self._reject_depth("field_of_view", str(exc))
        if msg.header.frame_id and frame.msg.header.frame_id and msg.header.frame_id != frame.msg.header.frame_id:
            health.event("depth_frame_differs", f"depth images are in frame '{msg.header.frame_id}' but colour "
                         f"images in '{frame.msg.header.frame_id}': used as registered to the colour image (is "
                         "depth_image the aligned / registered stream?)", warn=True)
        return registered

    def _reject_depth(self, reason: str, detail: str) -> None:
        assert self._health is not None
        self._depth_counts[f"rejected:{reason}"] += 1
        self._health.degraded(f"depth_rejected_{reason}", f"depth image not used ({detail}); the colour image is "
                              f"processed without depth. Fix: {DEPTH_REJECTED_REASONS[reason]}")
        return None

    def _depth_and_size_values(self) -> dict[str, str]:
        """Diagnostics: the depth input's counts (when depth_image is set) and each side's hand size."""
        values: dict[str, str] = {}
        if self._depth is not None:
            counts = self._depth_counts
            values["depth frames used"] = str(counts["used"])
            values["depth frames missing"] = str(counts["missing"])
            values.update({f"depth frames rejected: {k}": str(counts[f"rejected:{k}"]) for k in DEPTH_REJECTED_REASONS})
            values.update({f"depth frames unmatched: {k}": str(self._depth.unmatched[k])
                           for k in DEPTH_UNMATCHED_REASONS})
            values["depth keypoints (last frame)"] = str(self._depth_keypoints)
        if self._rec is not None:
            for side, size in sorted(self._rec.hand_sizes().items()):
                values[f"hand size {side}: length (m)"] = f"{size.length_m:.4f}"
                values[f"hand size {side}: source"] = size.source
                values[f"hand size {side}: samples"] = str(size.samples)
        return values

    def _on_sync_drop(self, slots: list[Any], reason: str) -> None:
        frame = slots[0]
        assert self._health is not None
        if frame is None:
            if stamp_of(slots[1]) in self._received:  # its image came (and was answered or given up already)
                return
            # the detector answered an image that never reached this node's callback
            self._health.dropped(1, "image_not_received", "the detector node answered an image this node never "
                                 "received (while the node is busy, sensor-data QoS keeps only the newest image)")
            return
        if frame.processed:  # answered without waiting for its detections
            return
        detail = DROP_REASONS[reason]
        if reason == "queue_full":
            detail = "no hand_detections arrived for it (is the detector node running on the same images?)"
        self._health.dropped(1, f"stamp_matcher_{reason}", detail)

    def _process(self, frame: _Frame, palms: list[PalmDetection] | None, depth_due: bool = False) -> None:
        """Reconstruct one colour image and publish its results (``depth_due``: with its depth image, if one
        can be used) stamped with its header, or count why not."""
        health, rec = self._health, self._rec
        assert health is not None and rec is not None
        if self._reread:
            self._apply_parameters()
        if self._camera is None:
            health.error("invalid_intrinsics" if self._camera_error else "no_camera_info",
                         self._camera_error or "no CameraInfo received yet; hands are not placed in space")
            return
        try:
            rgb = self._to_rgb(frame.msg)
            depth = self._depth_for(frame, self._camera) if depth_due else None
            result = rec.process_frame(rgb, self._camera, frame.time_s, palms, depth=depth)
            if depth is not None:
                self._depth_keypoints = result.depth_keypoints
                if result.depth_rejected:
                    self._reject_depth("implausible", f"refused for {result.depth_rejected} hand(s)")
                else:
                    self._depth_counts["used"] += 1
        except ImageConversionError as exc:
            health.error("bad_image", str(exc))
            return
        except ValueError as exc:  # e.g. image size does not match the camera info
            health.error("invalid_input", str(exc))
            return
        except Exception as exc:  # never take the node down for one frame
            health.error("internal", repr(exc))
            return
        self._report(result)
        header = frame.msg.header
        self._pubs["hands"].publish(hands_to_msg(header, result.hands))
        self._pubs["tracked"].publish(regions_to_msg(header, result.tracked_regions))
        health.frame_out(time.monotonic() - frame.received)
        self._publish_extras(header, rgb, result)

    def _report(self, result: FrameResult) -> None:
        health = self._health
        assert health is not None
        # Camera changes and stamps stepping back are reported (and tracking reset) where the node sees them
        # first; this is a restart only the core saw (a stamp below a run of repeated, arrival-timed stamps).
        if result.restarted:
            health.event("stream_restarted", "image stamps stepped back (a looping bag or restarted player): "
                         "tracks, filters and held hands start over")
        for reason, n in result.unplaced.items():
            health.event(f"hand_not_placed_{reason}", f"{n} hand(s) found but not placed in space: "
                         f"{UNPLACED_REASONS[reason]}; their last result is held", n, warn=True)

    def _frame_header(self, header: Any) -> Any | None:
        """The header for markers and TF: the image's, with ``camera_frame`` when it has no frame id (None when
        neither names a frame: tf2 and RViz reject an empty frame)."""
        if header.frame_id:
            return header
        assert self._health is not None
        if not self.node_cfg.camera_frame:
            self._health.event("image_without_frame_id", "image header.frame_id is empty and camera_frame is not "
                               "set: TF and markers are skipped (hands are still published)", warn=True)
            return None
        self._health.event("image_frame_id_fallback", f"image header.frame_id is empty: TF and markers use "
                           f"camera_frame '{self.node_cfg.camera_frame}'", warn=True)
        out = type(header)()
        out.stamp, out.frame_id = header.stamp, self.node_cfg.camera_frame
        return out

    def _publish_extras(self, header: Any, rgb: np.ndarray, result: FrameResult) -> None:
        """Markers, TF and the debug image; markers and the debug image are only built for subscribers."""
        cfg = self.node_cfg
        ids = {h.track_id for h in result.hands}
        framed = self._frame_header(header) if (self.wanted("markers") or self._tf is not None) else header
        if self.wanted("markers") and framed is not None:
            markers = hand_markers_cdr(framed, result.hands, sorted(self._shown - ids), cfg.marker_lifetime_s,
                                       cfg.mesh_alpha, cfg.publish_mesh_markers)
            self._pubs["markers"].publish(markers)
            self._shown = ids
        else:
            self._shown = set()  # nothing shown: markers published earlier expire by their lifetime
        if self._tf is not None and result.hands and framed is not None:
            self._tf.send(hand_transforms(framed, result.hands, cfg.tf_prefix))
        if self.wanted("debug"):
            self._pubs["debug"].publish(rgb_to_image(draw_hands(rgb, result.hands, self._camera), header))


def main() -> int:
    return run(ReconstructionNode)


if __name__ == "__main__":
    raise SystemExit(main())
