"""Detector node: palms in camera images -> hand_mesh_ros/HandDetectionArray (one per image).

Subscribes ``image`` (sensor_msgs/Image, sensor-data QoS) and ``tracked_hands`` (the reconstruction
node's tracked regions, for the on-demand schedule); publishes ``hand_detections`` stamped with the
image's header, ``detector_ran`` false when the schedule skipped the palm detector on that image.
"""

from __future__ import annotations

import time
from typing import Any

from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import Image

from hand_mesh_ros.msg import HandDetectionArray

from ..perception.palm_model import PalmModel
from ..perception.tracker import DetectionSchedule
from . import params
from .detection_msgs import palms_to_msg
from .diagnostics import NodeHealth
from .image_conversion import ImageConversionError, image_to_rgb
from .managed_node import ManagedNode
from .node_config import DetectorConfig
from .node_main import run
from .qos import RESULTS, SENSOR
from .stamp_sync import stamp_seconds


class DetectorNode(ManagedNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("hand_detector", **kwargs)
        params.declare(self, DetectorConfig)
        self._model: PalmModel | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.cfg = params.read(self, DetectorConfig)
            self._model = PalmModel(variant=self.cfg.model_variant, backend=self.cfg.backend,
                                    device=self.cfg.device, precision=self.cfg.precision,
                                    log=self.get_logger().info)
        except Exception as exc:  # missing models, bad backend: say so and stay unconfigured
            self.get_logger().error(f"cannot configure the palm detector: {exc}")
            return TransitionCallbackReturn.FAILURE
        self._schedule = DetectionSchedule(self.cfg.detection_mode, self.cfg.detect_every_n,
                                            self.cfg.max_hands, self.cfg.tracking_timeout_s)
        self.add_output("detections", HandDetectionArray, "hand_detections", RESULTS)
        self._health = NodeHealth(self, "palm detection")
        self._health.extra["backend"] = self._model.backend.name
        self.get_logger().info(f"palm detector ready ({self.cfg.model_variant}, {self._model.backend.name}, "
                               f"mode {self.cfg.detection_mode})")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._subs = [
            self.create_subscription(Image, "image", self._on_image, SENSOR),
            self.create_subscription(HandDetectionArray, "tracked_hands", self._on_tracked, RESULTS),
        ]
        return super().on_activate(state)

    def release(self) -> None:
        self._model = None

    # ---- callbacks -----------------------------------------------------------------------------------------
    def _on_tracked(self, msg: Any) -> None:
        self._schedule.report_tracked(len(msg.detections), stamp_seconds(msg))

    def _on_image(self, msg: Any) -> None:
        assert self._health is not None and self._model is not None
        self._health.frame_in()
        t0 = time.monotonic()
        try:
            palms = None
            if self._schedule.should_detect(stamp_seconds(msg)):
                rgb = image_to_rgb(msg)
                palms = self._model.detect(rgb, self.cfg.min_detection_score)[: self.cfg.max_hands]
            self._pubs["detections"].publish(palms_to_msg(msg.header, palms))
            self._health.frame_out(time.monotonic() - t0)
        except ImageConversionError as exc:
            self._health.error("bad_image", str(exc))
        except Exception as exc:  # never take the node down for one frame
            self._health.error("internal", repr(exc))


def main() -> int:
    return run(DetectorNode)


if __name__ == "__main__":
    raise SystemExit(main())
