"""Settings that exist only in the ROS nodes (inputs, publishing, TF, start-up). Plain dataclasses, no ROS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidSettingError
from ..reconstruction.config import DetectionSettings
from ..settings import setting, validate

IMAGE_TRANSPORTS = ("raw", "compressed")


def _image_transport() -> Any:
    return setting("raw", "How images arrive, as image_transport names it: raw (sensor_msgs/Image on the image "
                   "topic) or compressed (sensor_msgs/CompressedImage, JPEG or PNG, on <image>/compressed).",
                   choices=IMAGE_TRANSPORTS, applies="configure")


def _autostart() -> Any:
    return setting(True, "Configure and activate the lifecycle node at start-up.", applies="startup")


@dataclass(frozen=True)
class DetectorConfig(DetectionSettings):
    tracking_timeout_s: float = setting(0.5, "on_demand mode: tracking reports older than this count as "
                                        "no hand tracked, seconds.", 0.0, 10.0)
    image_transport: str = _image_transport()
    autostart: bool = _autostart()


@dataclass(frozen=True)
class ReconstructionNodeConfig:
    external_detections: bool = setting(True, "Take palms from the detector node (hand_detections, matched "
                                        "by stamp); false runs the palm detector inside this node.",
                                        applies="configure")
    image_transport: str = _image_transport()
    camera_frame: str = setting("", "Frame id for TF and markers when an image's header.frame_id is empty (empty: "
                                "TF and markers are skipped for such images, with a warning; hands are published "
                                "with the image's header either way).")
    publish_markers: bool = setting(True, "Publish RViz markers (skeleton, and mesh if publish_mesh_markers).",
                                    applies="configure")
    publish_mesh_markers: bool = setting(True, "Include each hand's mesh as a TRIANGLE_LIST marker.")
    mesh_alpha: float = setting(0.8, "Opacity of the mesh markers.", 0.0, 1.0)
    marker_lifetime_s: float = setting(0.25, "Marker lifetime, seconds (vanished hands disappear).", 0.0, 10.0)
    publish_tf: bool = setting(True, "Publish one TF frame per joint per hand.", applies="configure")
    tf_prefix: str = setting("hand_", "Prefix of the TF frame names: <prefix><side>_<joint>.")
    publish_debug_image: bool = setting(False, "Publish the image with the hands drawn on it.", applies="configure")
    sync_queue_size: int = setting(5, "Stamps waiting for their image/detections match, per topic.", 1, 100,
                                   applies="configure")
    depth_image: str = setting("", "Topic of a depth image registered (aligned) to the colour image, sensor_msgs/"
                               "Image 16UC1/mono16 (millimetres) or 32FC1 (metres), e.g. a RealSense's "
                               "/camera/camera/aligned_depth_to_color/image_raw; each colour image is processed "
                               "with the depth image of the nearest stamp. Empty: off, monocular only.",
                               applies="configure")
    depth_tolerance_s: float = setting(0.01, "Largest difference between a depth image's stamp and the colour "
                                       "image's for it to be used, seconds.", 0.0, 0.5)
    depth_wait_s: float = setting(0.05, "How long a colour image may wait for its depth image before it is "
                                  "processed without depth, seconds from its arrival (0: never wait; no wait "
                                  "either while no depth image arrived for 1 s).", 0.0, 1.0)
    autostart: bool = _autostart()

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class RetargetingNodeConfig:
    """Settings of the retargeting node (teleoperation through dex-retargeting, an optional dependency)."""

    robot: str = setting("leap_hand", "Robot hand: a dex-retargeting bundled robot (leap_hand, allegro_hand, "
                         "ability_hand, inspire_hand, schunk_svh_hand, shadow_hand) or the path of a retargeting "
                         "config YAML (then sides must be one side).", applies="configure")
    urdf_dir: str = setting("", "Folder that the config's urdf_path is relative to (e.g. dex-urdf's robots/hands, "
                            "or ../shared/robots in this project's workspace). Required.", applies="configure")
    sides: str = setting("both", "Which hands drive a robot: both, right or left.",
                         choices=("both", "right", "left"), applies="configure")
    retargeting_type: str = setting("vector", "dex-retargeting optimizer: vector (teleoperation) or dexpilot "
                                    "(with its finger-closing prior).", choices=("vector", "dexpilot"),
                                    applies="configure")
    min_confidence: float = setting(0.5, "Hands below this confidence do not drive the robot (counted).",
                                    0.0, 1.0)
    reset_after_s: float = setting(0.5, "A side without a hand for longer than this restarts its retargeter "
                                   "from the robot's neutral pose, seconds.", 0.05, 10.0)
    low_pass_alpha: float = setting(-1.0, "dex-retargeting's own output low-pass filter: -1 off (our hands are "
                                    "already filtered without lag; its filter adds (1 - alpha) / alpha frames of "
                                    "lag), else in (0, 1].", -1.0, 1.0, applies="configure")
    autostart: bool = _autostart()

    def __post_init__(self) -> None:
        validate(self)
        if not (self.low_pass_alpha == -1.0 or self.low_pass_alpha > 0.0):
            raise InvalidSettingError(f"low_pass_alpha must be -1 (off) or in (0, 1], got {self.low_pass_alpha}")
