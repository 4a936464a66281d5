"""Reconstruction node: image + camera info + palms -> metric hands, markers, TF, diagnostics.

Subscribes ``image`` (sensor-data QoS; ``<image>/compressed`` with ``image_transport: compressed``),
``camera_info`` (the latest one is used; a change of intrinsics or size restarts tracking) and
``hand_detections`` (matched to the image by stamp; not used when ``external_detections`` is false). With no
hand tracked, an image waits for its own detections; while hands are tracked it is processed at once and the
palms that arrive for it are used on the next image (so tracking frames cost no detector round trip).
Publishes, stamped with the image's header: ``hands`` (HandArray), ``hand_markers`` (MarkerArray),
``tracked_hands`` (regions for the detector's schedule), ``hand_debug_image`` (optional), ``/tf`` and
``/diagnostics``; ``hand_mesh_topology`` (MeshTopology, latched) once per side. Markers and TF are in the
image's frame (``camera_frame`` when the image has none; skipped when neither is set).

Every image is answered with a HandArray or given up with a logged reason counted in diagnostics (errors by
kind, drops by reason); what is not a failure but changes the output (restarts, camera changes, hands that
cannot be placed, missing frame ids) is logged and counted as an event.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from hand_mesh_ros.msg import HandArray, HandDetectionArray, MeshTopology

from ..errors import ConfigurationError
from ..geometry.camera import CameraModel
from ..perception.types import PalmDetection
from ..reconstruction import HandReconstructor, ReconstructionConfig
from ..reconstruction.config import REMOVED_SETTINGS
from ..reconstruction.types import UNPLACED_REASONS, FrameResult
from ..visualization.overlay import draw_hands
from . import params
from .camera_info import camera_model_from_info
from .detection_msgs import msg_to_palms, regions_to_msg
from .diagnostics import NodeHealth
from .hand_msgs import hand_markers_cdr, hand_transforms, hands_to_msg, topology_msg
from .image_conversion import ImageConversionError, rgb_to_image
from .managed_node import ManagedNode
from .node_config import ReconstructionNodeConfig
from .node_main import run
from .qos import LATCHED, RESULTS, SENSOR
from .stamp_sync import DROP_REASONS, Stamp, StampSynchronizer, StreamClock, stamp_of
from .tf_broadcast import TfPublisher


@dataclass
class _Frame:
    """An image on its way through the node: the message, its time for the tracking core (seconds, increasing
    within a stream) and whether it was already processed without waiting for its detections."""

    msg: Any
    time_s: float
    received: float
    processed: bool = False

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
        self.announce_active()
        return result

    def release(self) -> None:
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
            rec.reset()
            self._late_palms = None
        if self._sync is None:
            self._process(frame, None)
            return
        if rec.tracker.tracked:
            palms, self._late_palms = self._late_palms, None
            self._process(frame, palms)
            frame.processed = True
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
        self._process(frame, palms)

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

    def _process(self, frame: _Frame, palms: list[PalmDetection] | None) -> None:
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
            result = rec.process_frame(rgb, self._camera, frame.time_s, palms)
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
