"""Settings that exist only in the ROS nodes (publishing, TF, start-up). Plain dataclasses, no ROS."""

from __future__ import annotations

from dataclasses import dataclass

from ..reconstruction.config import DetectionSettings
from ..settings import setting, validate


@dataclass(frozen=True)
class DetectorConfig(DetectionSettings):
    tracking_timeout_s: float = setting(0.5, "on_demand mode: tracking reports older than this count as "
                                        "no hand tracked, seconds.", 0.0, 10.0)
    autostart: bool = setting(True, "Configure and activate the lifecycle node at start-up.", read_only=True)



@dataclass(frozen=True)
class ReconstructionNodeConfig:
    external_detections: bool = setting(True, "Take palms from the detector node (hand_detections, matched "
                                        "by stamp); false runs the palm detector inside this node.",
                                        read_only=True)
    publish_markers: bool = setting(True, "Publish RViz markers (skeleton, and mesh if publish_mesh_markers).")
    publish_mesh_markers: bool = setting(True, "Include each hand's mesh as a TRIANGLE_LIST marker.")
    mesh_alpha: float = setting(0.8, "Opacity of the mesh markers.", 0.0, 1.0)
    marker_lifetime_s: float = setting(0.25, "Marker lifetime, seconds (vanished hands disappear).", 0.0, 10.0)
    publish_tf: bool = setting(True, "Publish one TF frame per joint per hand.")
    tf_prefix: str = setting("hand_", "Prefix of the TF frame names: <prefix><side>_<joint>.")
    publish_debug_image: bool = setting(False, "Publish the image with the hands drawn on it.")
    sync_queue_size: int = setting(5, "Stamps waiting for their image/detections match, per topic.", 1, 100)
    autostart: bool = setting(True, "Configure and activate the lifecycle node at start-up.", read_only=True)

    def __post_init__(self) -> None:
        validate(self)
