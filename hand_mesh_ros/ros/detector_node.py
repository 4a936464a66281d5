"""Detector node: palms in camera images -> hand_mesh_ros/HandDetectionArray (one per image).

Subscribes ``image`` (sensor_msgs/Image, sensor-data QoS; ``<image>/compressed`` with ``image_transport:
compressed``) and ``tracked_hands`` (the reconstruction node's tracked regions, for the on-demand schedule);
publishes ``hand_detections`` stamped with the image's header, ``detector_ran`` false when the schedule
skipped the palm detector on that image. The schedule starts over when the image stamps step back (a looping
bag) or the image size changes (the reconstruction restarts its tracks then), and on every activation.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn

from hand_mesh_ros.msg import HandDetectionArray

from ..errors import ConfigurationError
from ..perception.palm_model import PalmModel
from ..perception.palm_search import PalmSearch
from ..perception.tracker import DetectionSchedule
from . import params
from .detection_msgs import palms_to_msg
from .diagnostics import NodeHealth
from .image_conversion import ImageConversionError
from .managed_node import ManagedNode
from .node_config import DetectorConfig
from .node_main import run
from .qos import RESULTS
from .stamp_sync import StreamClock, stamp_seconds


class DetectorNode(ManagedNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("hand_detector", **kwargs)
        params.declare(self, DetectorConfig, configured=lambda: self.configured, on_change=self._parameters_changed)
        self._model: PalmModel | None = None
        self._image_clock: StreamClock | None = None
        self._image_size: tuple[int, int] | None = None
        self._reread = False

    # ---- lifecycle -------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.cfg = params.read(self, DetectorConfig)
            self._model = PalmModel(variant=self.cfg.model_variant, backend=self.cfg.backend,
                                    device=self.cfg.device, precision=self.cfg.precision,
                                    log=self.get_logger().info)
        except ConfigurationError as exc:  # missing or damaged models, MANO files, no GPU, bad settings
            self.get_logger().error(f"cannot configure the palm detector: {exc}")
            return TransitionCallbackReturn.FAILURE
        except Exception as exc:  # a bug: say so with the traceback, stay unconfigured
            self.get_logger().error(f"cannot configure the palm detector: unexpected {type(exc).__name__}: {exc}\n"
                                    f"{traceback.format_exc()}")
            return TransitionCallbackReturn.FAILURE
        self._schedule = self._new_schedule()
        self._search = PalmSearch(self._model, self.cfg.small_hands, self.cfg.detection_roi)
        self.add_output("detections", HandDetectionArray, "hand_detections", RESULTS)
        self._health = NodeHealth(self, "palm detection")
        self._health.extra["backend"] = self._model.backend.name
        self.configured = True
        self.get_logger().info(f"palm detector ready ({self.cfg.model_variant}, {self._model.backend.name}, "
                               f"mode {self.cfg.detection_mode})")
        return TransitionCallbackReturn.SUCCESS

    def _new_schedule(self) -> DetectionSchedule:
        return DetectionSchedule(self.cfg.detection_mode, self.cfg.detect_every_n, self.cfg.max_hands,
                                 self.cfg.tracking_timeout_s)

    def _parameters_changed(self) -> None:
        self._reread = True  # the values are set once the callback returns: apply them on the next image

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)
        assert self._health is not None
        self._schedule.reset()  # a new activation is a new stream
        self._search.reset()
        self._image_size = None
        self._image_clock = StreamClock("image", on_event=self._health.event)
        self._to_rgb = self.subscribe_images(self.cfg.image_transport, self._on_image)
        self.subscribe(HandDetectionArray, "tracked_hands", self._on_tracked, RESULTS)
        self.announce_active()
        return result

    def release(self) -> None:
        self._model = None

    # ---- callbacks -----------------------------------------------------------------------------------------
    def _on_tracked(self, msg: Any) -> None:
        self._schedule.report_tracked(len(msg.detections), stamp_seconds(msg))

    def _on_image(self, msg: Any) -> None:
        assert self._health is not None and self._model is not None and self._image_clock is not None
        self._health.frame_in()
        t0 = time.monotonic()
        if self._reread:
            self._reread = False
            self.cfg = params.read(self, DetectorConfig)
            self._schedule = self._new_schedule()
            assert self._model is not None
            self._search = PalmSearch(self._model, self.cfg.small_hands, self.cfg.detection_roi)
            self.get_logger().info("parameters applied: the detection schedule starts over")
        self._image_clock.seconds(msg)  # logs and counts repeated stamps and steps back (the schedule restarts on them)
        try:
            size = _image_size(msg)
            if self._image_size is not None and size is not None and size != self._image_size:
                self._health.event("image_size_changed", f"images are now {size[0]}x{size[1]}: the next image "
                                   "is searched for palms")
                self._schedule.reset()
            self._image_size = size or self._image_size
            palms = None
            if self._schedule.should_detect(stamp_seconds(msg)):
                rgb = self._to_rgb(msg)
                self._image_size = (rgb.shape[1], rgb.shape[0])
                tracked = self._schedule.tracked
                palms = self._search.detect(rgb, self.cfg.min_detection_score, self.cfg.max_hands - tracked,
                                            alternate=tracked == 0)[: self.cfg.max_hands]
            self._pubs["detections"].publish(palms_to_msg(msg.header, palms))
            self._health.frame_out(time.monotonic() - t0)
        except ImageConversionError as exc:
            self._health.error("bad_image", str(exc))
        except ValueError as exc:  # a detection_roi that lies outside this image
            self._health.error("detection_roi", str(exc))
        except Exception as exc:  # never take the node down for one frame
            self._health.error("internal", repr(exc))


def _image_size(msg: Any) -> tuple[int, int] | None:
    """(width, height) of a raw image message; None for a compressed one (known once decoded)."""
    return (int(msg.width), int(msg.height)) if hasattr(msg, "width") else None


def main() -> int:
    return run(DetectorNode)


if __name__ == "__main__":
    raise SystemExit(main())
