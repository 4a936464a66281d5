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


def _yuyv_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """Pack an RGB image (even width) as YUYV: per pixel pair Y0 U Y1 V, chroma averaged over the pair.

    BT.601 video range (Y 16-235), the convention of 4:2:2 camera streams.
    """
    r, g, b = (rgb[:, :, c].astype(np.float64) for c in range(3))
    yuv = np.stack([16 + 0.257 * r + 0.504 * g + 0.098 * b,
                    128 - 0.148 * r - 0.291 * g + 0.439 * b,
                    128 + 0.439 * r - 0.368 * g - 0.071 * b], -1)
    h, w = rgb.shape[:2]
    out = np.empty((h, w, 2), np.uint8)
    out[:, :, 0] = np.round(yuv[:, :, 0])
    u = (yuv[:, 0::2, 1] + yuv[:, 1::2, 1]) / 2
    v = (yuv[:, 0::2, 2] + yuv[:, 1::2, 2]) / 2
    out[:, 0::2, 1] = np.round(u)
    out[:, 1::2, 1] = np.round(v)
    return out


@pytest.mark.parametrize("encoding", ["yuyv", "yuv422_yuy2", "uyvy", "yuv422"])
def test_yuv422_odd_width_is_refused(conv, encoding: str) -> None:  # type: ignore[no-untyped-def]
    from sensor_msgs.msg import Image

    msg = Image(height=4, width=7, encoding=encoding, step=14, data=bytes(range(56)))
    with pytest.raises(conv.ImageConversionError, match=rf"{encoding} image is 7x4: .*width must be even"):
        conv.image_to_rgb(msg)


def test_yuyv_even_width_converts(conv) -> None:  # type: ignore[no-untyped-def]
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[:, :4] = (200, 40, 40)  # pixel pairs of one colour, so the shared chroma loses nothing
    rgb[:, 4:] = (30, 160, 220)
    out = conv.image_to_rgb(_msg(_yuyv_from_rgb(rgb), "yuyv", pad=4))
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.abs(out.astype(int) - rgb.astype(int)).max() <= 3


def test_opencv_errors_become_conversion_errors(conv, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*_args: object) -> None:
        raise cv2.error("OpenCV(5.0.0) x.cpp:1: error: (-215:Assertion failed) something in function 'f'\n")

    monkeypatch.setattr(conv.cv2, "cvtColor", broken)
    gray = np.zeros((3, 5), np.uint8)
    with pytest.raises(conv.ImageConversionError,
                       match=r"cannot convert mono8 image of 5x3 to RGB: \(-215:Assertion failed\) something"):
        conv.image_to_rgb(_msg(gray, "mono8"))


def _photo(h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth colour image (JPEG-friendly): gradients in each channel."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)], -1).astype(np.uint8)


def test_compressed_round_trip(conv) -> None:  # type: ignore[no-untyped-def]
    from std_msgs.msg import Header

    rgb = _photo()
    png = conv.rgb_to_compressed(rgb, Header(frame_id="cam"), fmt="png")
    assert png.format == "rgb8; png compressed bgr8" and png.header.frame_id == "cam"
    assert bytes(png.data[:8]) == b"\x89PNG\r\n\x1a\n"
    out = conv.compressed_to_rgb(png)
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.array_equal(out, rgb)

    jpeg = conv.rgb_to_compressed(rgb, Header(), fmt="jpeg", quality=95)
    assert jpeg.format == "rgb8; jpeg compressed bgr8"
    out = conv.compressed_to_rgb(jpeg)
    assert out.shape == (48, 64, 3)
    assert np.abs(out.astype(int) - rgb.astype(int)).mean() < 3.0  # close, and not channel-swapped


@pytest.mark.parametrize("fmt", ["jpeg", "png", "bgr8; jpeg compressed bgr8", "rgb8; png compressed bgr8"])
def test_compressed_formats_from_image_transport(conv, fmt: str) -> None:  # type: ignore[no-untyped-def]
    from sensor_msgs.msg import CompressedImage

    rgb = _photo(20, 30)
    ext = ".png" if "png" in fmt else ".jpg"
    ok, data = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))  # a normal image file: OpenCV is BGR
    assert ok
    out = conv.compressed_to_rgb(CompressedImage(format=fmt, data=data.tobytes()))
    assert np.abs(out.astype(int) - rgb.astype(int)).mean() < 3.0


def test_compressed_mono_decodes_to_grey_rgb(conv) -> None:  # type: ignore[no-untyped-def]
    from sensor_msgs.msg import CompressedImage

    gray = _photo(16, 24)[:, :, 0]
    ok, data = cv2.imencode(".png", gray)
    assert ok
    out = conv.compressed_to_rgb(CompressedImage(format="mono8; png compressed ", data=data.tobytes()))
    assert out.shape == (16, 24, 3)
    assert all(np.array_equal(out[:, :, c], gray) for c in range(3))
    ok, data = cv2.imencode(".jpg", gray)
    assert ok
    out = conv.compressed_to_rgb(CompressedImage(format="mono8; jpeg compressed mono8", data=data.tobytes()))
    assert out.shape == (16, 24, 3) and np.abs(out[:, :, 1].astype(int) - gray.astype(int)).mean() < 3.0


def test_compressed_from_rosbags_numpy_data(conv) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    rgb = _photo(10, 12)
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    msg = SimpleNamespace(format="png", data=np.asarray(data).reshape(-1))  # rosbags gives uint8 arrays
    assert np.array_equal(conv.compressed_to_rgb(msg), rgb)


def test_bad_compressed_images_give_clear_errors(conv) -> None:  # type: ignore[no-untyped-def]
    from sensor_msgs.msg import CompressedImage
    from std_msgs.msg import Header

    good = conv.rgb_to_compressed(_photo(), Header(), fmt="jpeg")
    good_png = conv.rgb_to_compressed(_photo(), Header(), fmt="png")
    cases = [
        (CompressedImage(format="jpeg", data=b""), "has no data"),
        (CompressedImage(format="png", data=b"not an image at all, just text" * 4),
         r"not a decodable png image \(format 'png'\)"),
        (CompressedImage(format="png", data=bytes(good_png.data[: len(good_png.data) // 2])),
         "not a decodable png image"),
        (CompressedImage(format="jpeg", data=bytes(good.data[: len(good.data) // 2])),
         "truncated: no end-of-image marker"),
        (CompressedImage(format="16UC1; compressedDepth png", data=bytes(good_png.data)),
         "compressedDepth .*not a camera image"),
        (CompressedImage(format="", data=bytes(good.data)), "empty format string"),
        (CompressedImage(format="tiff", data=bytes(good.data)), r"unsupported compression 'tiff'"),
        (CompressedImage(format="rgb8; h264 compressed bgr8", data=bytes(good.data)),
         r"unsupported compression 'h264'"),
        (CompressedImage(format="rgb8; jpeg", data=bytes(good.data)), "cannot parse compressed format"),
        (CompressedImage(format="mono16; png compressed ", data=bytes(good_png.data)),
         "'mono16'; only 8-bit colour or mono"),
        (CompressedImage(format="rgb16; png compressed bgr16", data=bytes(good_png.data)),
         "'bgr16'; only 8-bit colour or mono"),
        (CompressedImage(format="bayer_rggb8; jpeg compressed bayer_rggb8", data=bytes(good.data)),
         "raw Bayer mosaic"),
    ]
    for msg, message in cases:
        with pytest.raises(conv.ImageConversionError, match=message):
            conv.compressed_to_rgb(msg)
    with pytest.raises(conv.ImageConversionError, match="only compress to jpeg or png"):
        conv.rgb_to_compressed(_photo(), Header(), fmt="bmp")
    with pytest.raises(conv.ImageConversionError, match="quality must be 1-100"):
        conv.rgb_to_compressed(_photo(), Header(), quality=0)
    with pytest.raises(conv.ImageConversionError, match="HxWx3 uint8"):
        conv.rgb_to_compressed(np.zeros((4, 4), np.uint8), Header())


def test_a_cv_bridge_that_cannot_work_here_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A distro cv_bridge built against OpenCV 4 raises KeyError on OpenCV 5's type codes: the probe refuses
    it and says why; one that decodes the test image correctly is taken."""
    import sys
    import types

    from hand_mesh_ros.ros import image_conversion as ic

    class Broken:
        def imgmsg_to_cv2(self, msg: object, desired_encoding: str = "") -> np.ndarray:
            raise KeyError(16)

    class Working:
        def imgmsg_to_cv2(self, msg: object, desired_encoding: str = "") -> np.ndarray:
            return ic.image_to_rgb(msg)  # ours, which CV_BRIDGE does not shadow while it is None

    for bridge, usable in ((Broken, False), (Working, True)):
        monkeypatch.setitem(sys.modules, "cv_bridge", types.SimpleNamespace(CvBridge=bridge))
        found, why = ic._working_cv_bridge()
        assert (found is not None) == usable
        assert usable or "KeyError: 16" in why
