"""sensor_msgs/Image <-> numpy without cv_bridge: encodings, row padding and bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.ros


@pytest.fixture()
def conv():  # type: ignore[no-untyped-def]
    pytest.importorskip("sensor_msgs")
    from hand_mesh_ros.ros import image_conversion

    return image_conversion


def _msg(array: np.ndarray, encoding: str, pad: int = 0):  # type: ignore[no-untyped-def]
    from sensor_msgs.msg import Image

    h, w = array.shape[:2]
    rows = array.reshape(h, -1)
    padded = np.concatenate([rows, np.full((h, pad), 77, np.uint8)], axis=1) if pad else rows
    return Image(height=h, width=w, encoding=encoding, step=padded.shape[1], data=padded.tobytes())


def test_rgb_round_trip(conv) -> None:  # type: ignore[no-untyped-def]
    from std_msgs.msg import Header

    rgb = np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    msg = conv.rgb_to_image(rgb, Header(frame_id="cam"))
    assert (msg.width, msg.height, msg.step, msg.encoding) == (64, 48, 192, "rgb8")
    assert np.array_equal(conv.image_to_rgb(msg), rgb)
    bgr_msg = conv.rgb_to_image(rgb, Header(), encoding="bgr8")
    assert np.array_equal(conv.image_to_rgb(bgr_msg), rgb)


@pytest.mark.parametrize("encoding", ["bgr8", "rgba8", "bgra8", "mono8"])
def test_encodings_with_row_padding(conv, encoding: str) -> None:  # type: ignore[no-untyped-def]
    rgb = np.random.default_rng(2).integers(0, 255, (10, 13, 3), dtype=np.uint8)
    source = {
        "bgr8": cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
        "rgba8": cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA),
        "bgra8": cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA),
        "mono8": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY),
    }[encoding]
    out = conv.image_to_rgb(_msg(source, encoding, pad=3))
    expected = cv2.cvtColor(source, cv2.COLOR_GRAY2RGB) if encoding == "mono8" else rgb
    assert out.shape == (10, 13, 3) and out.flags.c_contiguous
    assert np.array_equal(out, expected)


def test_yuv422_decodes(conv) -> None:  # type: ignore[no-untyped-def]
    gray = np.full((4, 8, 2), 128, np.uint8)
    gray[:, :, 1] = 200  # UYVY: Y in odd bytes
    out = conv.image_to_rgb(_msg(gray, "uyvy"))
    assert out.shape == (4, 8, 3) and abs(int(out[0, 0, 0]) - int(out[0, 0, 2])) <= 2


def test_bad_images_give_clear_errors(conv) -> None:  # type: ignore[no-untyped-def]
    from sensor_msgs.msg import Image

    with pytest.raises(conv.ImageConversionError, match="empty image"):
        conv.image_to_rgb(Image(height=0, width=5, encoding="rgb8", step=15))
    with pytest.raises(conv.ImageConversionError, match="unsupported encoding"):
        conv.image_to_rgb(Image(height=1, width=1, encoding="32FC1", step=4, data=b"\0" * 4))
    with pytest.raises(conv.ImageConversionError, match="expected step"):
        conv.image_to_rgb(Image(height=2, width=2, encoding="rgb8", step=6, data=b"\0" * 6))
    with pytest.raises(conv.ImageConversionError, match="shorter than a row"):
        conv.image_to_rgb(Image(height=1, width=2, encoding="rgb8", step=5, data=b"\0" * 5))
    with pytest.raises(conv.ImageConversionError, match="HxWx3 uint8"):
        conv.rgb_to_image(np.zeros((4, 4), np.uint8), None)
