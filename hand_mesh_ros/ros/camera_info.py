"""sensor_msgs/CameraInfo -> CameraModel (distortion, binning and ROI applied; invalid intrinsics refused)."""

from __future__ import annotations

from typing import Any

from ..geometry.camera import CameraModel


def camera_model_from_info(msg: Any) -> CameraModel:
    """The model of the image the camera publishes. Raises ``InvalidIntrinsics`` (a ValueError) for zero,
    negative or NaN focal lengths, an all-zero K, or an inconsistent ROI."""
    return CameraModel.from_camera_info_fields(
        width=int(msg.width),
        height=int(msg.height),
        distortion_model=str(msg.distortion_model),
        d=list(msg.d),
        k=list(msg.k),
        binning_x=int(msg.binning_x),
        binning_y=int(msg.binning_y),
        roi_x_offset=int(msg.roi.x_offset),
        roi_y_offset=int(msg.roi.y_offset),
        roi_width=int(msg.roi.width),
        roi_height=int(msg.roi.height),
        p=list(msg.p),
    )


def camera_info_from_model(camera: CameraModel, header: Any) -> Any:
    """A CameraInfo for ``camera`` (used by the demo player and the bag tools)."""
    from sensor_msgs.msg import CameraInfo

    msg = CameraInfo()
    msg.header = header
    msg.width, msg.height = int(camera.width), int(camera.height)
    msg.distortion_model = camera.distortion_model or "plumb_bob"
    msg.d = [float(v) for v in camera.d]
    msg.k = [float(v) for v in camera.k.reshape(-1)]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    p = camera.p.tolist() if camera.p is not None else [[*row, 0.0] for row in camera.k.tolist()]
    msg.p = [float(v) for row in p for v in row]
    return msg
