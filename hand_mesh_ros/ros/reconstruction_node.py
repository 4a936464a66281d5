"""Reconstruction node: image + camera info + palms -> metric hands, markers, TF, diagnostics.

Subscribes ``image`` (sensor-data QoS), ``camera_info`` (the latest one is used) and ``hand_detections``
(matched to the image by stamp; not used when ``external_detections`` is false). With no hand tracked, an
image waits for its own detections; while hands are tracked it is processed at once and the palms that
arrive for it are used on the next image (so tracking frames cost no detector round trip). Publishes, stamped with
the image's header and in its optical frame: ``hands`` (HandArray), ``hand_markers`` (MarkerArray),
``tracked_hands`` (regions for the detector's schedule), ``hand_debug_image`` (optional), ``/tf`` and
``/diagnostics``; ``hand_mesh_topology`` (MeshTopology, latched) once per side.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import MarkerArray

from hand_mesh_ros.msg import HandArray, HandDetectionArray, MeshTopology

from ..geometry.camera import CameraModel
from ..reconstruction import HandReconstructor, ReconstructionConfig
from ..reconstruction.config import REMOVED_SETTINGS
from ..visualization.overlay import draw_hands
from . import params
from .camera_info import camera_model_from_info
from .detection_msgs import msg_to_palms, regions_to_msg
from .diagnostics import NodeHealth
from .hand_msgs import hand_markers_cdr, hand_transforms, hands_to_msg, topology_msg
from .image_conversion import ImageConversionError, image_to_rgb, rgb_to_image
from .managed_node import ManagedNode
from .node_config import ReconstructionNodeConfig
from .node_main import run
from .qos import LATCHED, RESULTS, SENSOR
from .stamp_sync import make_synchronizer, stamp_of, stamp_seconds
from .tf_broadcast import TfPublisher


class ReconstructionNode(ManagedNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("hand_reconstruction", **kwargs)
        params.declare(self, ReconstructionConfig, removed=REMOVED_SETTINGS)
        params.declare(self, ReconstructionNodeConfig)
        self._rec: HandReconstructor | None = None
        self._camera: CameraModel | None = None
        self._camera_key: tuple[Any, ...] | None = None
        self._camera_error = ""
        self._shown: set[int] = set()
        self._sync_dropped = lambda: 0
        self._sync_dropped_seen = 0
        self._feed: Any = None
        self._late_palms: list[Any] | None = None
        self._done: deque[tuple[int, int]] = deque(maxlen=32)  # stamps processed without waiting

    # ---- lifecycle -------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.cfg = params.read(self, ReconstructionConfig)
            self.node_cfg = params.read(self, ReconstructionNodeConfig)
            self._rec = HandReconstructor(self.cfg, with_palm_detector=not self.node_cfg.external_detections,
                                          log=self.get_logger().info)
        except Exception as exc:  # missing models or hand model, bad settings: say so, stay unconfigured
            self.get_logger().error(f"cannot configure the reconstruction: {exc}")
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
        self.get_logger().info(f"reconstruction ready: hand model {self._rec.model_name}, "
                               f"{self.cfg.model_variant} landmarks on {self._rec.landmark_model.backend.name}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # enables the outputs
        assert self._rec is not None
        for side, model in self._rec.models.items():  # latched: late subscribers get it too
            self._pubs["topology"].publish(
                topology_msg(model.name, side, model.faces, model.v_template.shape[0]))
        self._subs = [
            self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, SENSOR),
            self.create_subscription(Image, "image", self._on_image, SENSOR),
        ]
        if self.node_cfg.external_detections:
            self._feed, self._sync_dropped = make_synchronizer(2, self._on_matched, self.node_cfg.sync_queue_size)
            self._subs.append(self.create_subscription(HandDetectionArray, "hand_detections",
                                                       lambda m: self._feed(1, m), RESULTS))
        return result

    def release(self) -> None:
        self._rec = None

    # ---- callbacks -----------------------------------------------------------------------------------------
    def _on_camera_info(self, msg: Any) -> None:
        key = (msg.width, msg.height, msg.distortion_model, tuple(msg.d), tuple(msg.k), tuple(msg.p),
               msg.binning_x, msg.binning_y, msg.roi.x_offset, msg.roi.y_offset, msg.roi.width,
               msg.roi.height)
        if key == self._camera_key:
            return
        self._camera_key = key
        try:
            self._camera, self._camera_error = camera_model_from_info(msg), ""
        except ValueError as exc:
            self._camera, self._camera_error = None, str(exc)

    def _on_image(self, image: Any) -> None:
        """While hands are tracked, process at once (palms that arrive later serve the next frame, as a
        new hand is then found one frame later); with none tracked, wait for this image's detections."""
        assert self._health is not None and self._rec is not None
        self._health.frame_in()
        if not self.node_cfg.external_detections:
            self._process(image, None)
            return
        if self._rec.tracker.tracked:
            palms, self._late_palms = self._late_palms, None
            self._process(image, palms)
            self._done.append(stamp_of(image))
        self._feed(0, image)

    def _on_matched(self, image: Any, detections: Any) -> None:
        palms = msg_to_palms(detections)
        if stamp_of(image) in self._done:  # processed without waiting: keep the palms for the next frame
            if palms:
                self._late_palms = palms
            return
        self._process(image, palms)

    def _process(self, image: Any, palms: list[Any] | None) -> None:
        health, rec = self._health, self._rec
        assert health is not None and rec is not None
        received = time.monotonic()
        dropped = self._sync_dropped()
        if dropped > self._sync_dropped_seen:
            health.dropped(dropped - self._sync_dropped_seen)
            self._sync_dropped_seen = dropped
        if self._camera is None:
            health.error("invalid_intrinsics" if self._camera_error else "no_camera_info",
                         self._camera_error or "no CameraInfo received yet; hands are not placed in space")
            return
        try:
            rgb = image_to_rgb(image)
            result = rec.process(rgb, self._camera, stamp_seconds(image), palms)
        except ImageConversionError as exc:
            health.error("bad_image", str(exc))
            return
        except ValueError as exc:  # e.g. image size does not match the camera info
            health.error("invalid_input", str(exc))
            return
        except Exception as exc:  # never take the node down for one frame
            health.error("internal", repr(exc))
            return
        if result.restarted:
            health.event("stream_restarted", "image stamps stepped back (a looping bag or restarted player): "
                         "tracks, filters and held hands start over")
        if result.unplaced:
            health.event("hand_not_placed", f"{result.unplaced} hand(s) found but not placed in space (keypoints "
                         "degenerate or outside the lens model's valid region); their last result is held",
                         result.unplaced)
        header = image.header
        self._pubs["hands"].publish(hands_to_msg(header, result.hands))
        self._pubs["tracked"].publish(regions_to_msg(header, result.tracked_regions))
        health.frame_out(time.monotonic() - received)
        self._publish_extras(header, rgb, result)

    def _publish_extras(self, header: Any, rgb: Any, result: Any) -> None:
        """Markers, TF and the debug image; markers and the debug image are only built for subscribers."""
        cfg = self.node_cfg
        ids = {h.track_id for h in result.hands}
        if self.wanted("markers"):
            markers = hand_markers_cdr(header, result.hands, sorted(self._shown - ids), cfg.marker_lifetime_s,
                                       cfg.mesh_alpha, cfg.publish_mesh_markers)
            self._pubs["markers"].publish(markers)
            self._shown = ids
        else:
            self._shown = set()  # nothing shown: markers published earlier expire by their lifetime
        if self._tf is not None and result.hands:
            self._tf.send(hand_transforms(header, result.hands, cfg.tf_prefix))
        if self.wanted("debug"):
            self._pubs["debug"].publish(rgb_to_image(draw_hands(rgb, result.hands, self._camera), header))

def main() -> int:
    return run(ReconstructionNode)


if __name__ == "__main__":
    raise SystemExit(main())
