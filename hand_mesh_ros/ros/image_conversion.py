"""sensor_msgs/Image and sensor_msgs/CompressedImage <-> numpy, in one place.

Raw images: a ROS install's ``cv_bridge`` decodes them when it works here, checked once on a small test image
(:data:`CV_BRIDGE`): a distro's cv_bridge built against OpenCV 4 fails beside OpenCV 5 (``KeyError: 16`` on its
type codes), the PyPI wheels have none, and PyPI's ``cv-bridge`` is the ROS 1 port, broken on numpy 2.
Otherwise numpy and OpenCV do: a zero-copy ``np.frombuffer`` view in, ``tobytes()`` out (assigning a numpy
array to ``msg.data`` costs ~80 ms for 640x480 RGB; bytes cost under 1 ms). Both give the same pixels.

Compressed images (``compressed_to_rgb``, ``rgb_to_compressed``) follow image_transport's ``compressed``
plugin: ``format`` is either a bare codec ("jpeg", "png") or "<source encoding>; <codec> compressed
<encoding handed to the encoder>", e.g. "rgb8; jpeg compressed bgr8" or "mono8; png compressed ". JPEG and PNG
with 8-bit content are decoded with OpenCV; depth images (the ``compressedDepth`` plugin), 16/32-bit data and
Bayer mosaics are refused rather than turned into a misleading colour image.

Depth images (``depth_image_from_msg``): ``16UC1``/``mono16`` millimetres or ``32FC1`` metres, registered to
the colour image, to a :class:`~hand_mesh_ros.geometry.depth.DepthImage` (float32 metres, NaN = no depth). They
share the colour path's checks of size, row padding (``step``) and data length, and honour ``is_bigendian``.

Every failure -- bad size, encoding, format or data, and any OpenCV error on the way -- is raised as
:class:`ImageConversionError` (a ``ValueError``) with the reason, so callers can tell bad input from bugs;
depth messages raise :class:`~hand_mesh_ros.geometry.depth.DepthImageError` (also a ``ValueError``) instead.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..geometry.depth import DEPTH_ENCODINGS, DepthImage, DepthImageError, check_depth_encoding


class ImageConversionError(ValueError):
    """The image message cannot be turned into an RGB array (bad encoding, size or data)."""


def _working_cv_bridge() -> tuple[Any, str]:
    """(a CvBridge that decodes a 2x2 bgr8 image correctly, or None; why not)."""
    try:
        from cv_bridge import CvBridge
        from sensor_msgs.msg import Image

        probe = Image(height=2, width=2, encoding="bgr8", step=6, data=bytes(range(12)))
        bridge = CvBridge()
        rgb = np.asarray(bridge.imgmsg_to_cv2(probe, desired_encoding="rgb8"))
        expected = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)[:, :, ::-1]
        if rgb.shape != (2, 2, 3) or not np.array_equal(rgb, expected):
            return None, "cv_bridge decodes a test image wrongly"
        return bridge, ""
    except Exception as exc:  # ImportError, or a cv_bridge that cannot work with this OpenCV / numpy
        return None, f"cv_bridge unusable here ({type(exc).__name__}: {exc})"


CV_BRIDGE, CV_BRIDGE_PROBLEM = _working_cv_bridge()


# encoding -> (channels, dtype, cv2 conversion to RGB or None)
_ENCODINGS: dict[str, tuple[int, type, int | None]] = {
    "rgb8": (3, np.uint8, None),
    "bgr8": (3, np.uint8, cv2.COLOR_BGR2RGB),
    "rgba8": (4, np.uint8, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, np.uint8, cv2.COLOR_BGRA2RGB),
    "mono8": (1, np.uint8, cv2.COLOR_GRAY2RGB),
    "8UC1": (1, np.uint8, cv2.COLOR_GRAY2RGB),
    "8UC3": (3, np.uint8, cv2.COLOR_BGR2RGB),
    "uyvy": (2, np.uint8, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422": (2, np.uint8, cv2.COLOR_YUV2RGB_UYVY),
    "yuyv": (2, np.uint8, cv2.COLOR_YUV2RGB_YUYV),
    "yuv422_yuy2": (2, np.uint8, cv2.COLOR_YUV2RGB_YUYV),
}

SUPPORTED_ENCODINGS = tuple(_ENCODINGS)

# 4:2:2 encodings pack two horizontally adjacent pixels into one U/Y/V/Y group of 4 bytes
_PAIRED_ENCODINGS = frozenset(name for name, (channels, _, _) in _ENCODINGS.items() if channels == 2)


def _cv_reason(exc: BaseException) -> str:
    """The useful last part of an OpenCV error ("(-215:Assertion failed) ... in function ...")."""
    text = " ".join(str(exc).split())
    return text.split(" error: ", 1)[-1] if " error: " in text else text


def _image_size(msg: Any, error: type[ValueError]) -> tuple[int, int, int]:
    """(height, width, step) of a sensor_msgs/Image; raises ``error`` for an empty image."""
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise error(f"empty image ({width}x{height})")
    return height, width, step


def _pixel_rows(msg: Any, height: int, width: int, step: int, pixel_bytes: int, encoding: str,
                error: type[ValueError], exact: bool = False) -> np.ndarray:
    """The pixels of a sensor_msgs/Image as an (height, width * pixel_bytes) uint8 view, row padding (``step``
    beyond a row) left out. Raises ``error`` when ``step`` is shorter than a row or ``data`` is shorter than
    ``step * height`` (with ``exact``: of another length)."""
    row_bytes = width * pixel_bytes
    if step < row_bytes:
        raise error(f"step {step} is shorter than a row of {row_bytes} bytes ({encoding})")
    data = _byte_view(msg.data, "image", error)
    size, expected = int(data.size), step * height
    if size < expected or (exact and size != expected):
        raise error(f"data has {size} bytes, expected step*height = {step} * {height} = {expected} ({encoding}, "
                    f"{width}x{height})")
    return data[:expected].reshape(height, step)[:, :row_bytes]


def image_to_rgb(msg: Any) -> np.ndarray:
    """Return the image as a C-contiguous HxWx3 uint8 RGB array.

    Raises :class:`ImageConversionError` with the reason for empty images, unknown encodings, data
    shorter than ``step * height``, rows shorter than ``width`` pixels, 4:2:2 YUV with an odd width, and
    any OpenCV failure while converting.
    """
    height, width, step = _image_size(msg, ImageConversionError)
    encoding = str(msg.encoding)
    if encoding not in _ENCODINGS:
        hint = " (a depth image: give its topic as the depth_image parameter)" if encoding in DEPTH_ENCODINGS else ""
        raise ImageConversionError(
            f"unsupported encoding {encoding!r}{hint}; supported: {', '.join(SUPPORTED_ENCODINGS)}"
        )
    channels, dtype, code = _ENCODINGS[encoding]
    if encoding in _PAIRED_ENCODINGS and width % 2:
        raise ImageConversionError(
            f"{encoding} image is {width}x{height}: 4:2:2 YUV shares chroma between pixel pairs, "
            "so the width must be even"
        )
    rows = _pixel_rows(msg, height, width, step, channels * np.dtype(dtype).itemsize, encoding,
                       ImageConversionError)
    if CV_BRIDGE is not None:  # pragma: no cover - only with a working ROS cv_bridge
        try:
            return np.ascontiguousarray(CV_BRIDGE.imgmsg_to_cv2(msg, desired_encoding="rgb8"))
        except Exception as exc:
            raise ImageConversionError(f"cv_bridge cannot convert this {encoding} image: {exc}") from exc
    pixels = rows.reshape(height, width, channels)
    if code is None:
        return np.ascontiguousarray(pixels)
    try:
        return np.ascontiguousarray(cv2.cvtColor(pixels if channels != 1 else pixels[:, :, 0], code))
    except cv2.error as exc:
        raise ImageConversionError(
            f"cannot convert {encoding} image of {width}x{height} to RGB: {_cv_reason(exc)}"
        ) from exc


def depth_image_from_msg(msg: Any) -> DepthImage:
    """A depth sensor_msgs/Image (``16UC1``/``mono16`` millimetres, 0 = no depth; ``32FC1`` metres, NaN, 0 or
    infinity = no depth) as a :class:`DepthImage` of (height, width) float32 metres, NaN where there is no depth.

    Row padding (``step``) is skipped and ``is_bigendian`` honoured. Raises :class:`DepthImageError` with the
    reason for another encoding (a colour image, a colourised depth view), an empty image, a ``step`` shorter
    than a row, and data that is not ``step * height`` bytes long. Registration to the colour camera is the
    caller's (:meth:`DepthImage.registered_to`).
    """
    encoding = str(msg.encoding)
    check_depth_encoding(encoding, " (a colour image, not depth: check the depth_image topic)"
                         if encoding in _ENCODINGS else "")
    height, width, step = _image_size(msg, DepthImageError)
    dtype = np.dtype(np.float32 if encoding == "32FC1" else np.uint16)
    stored = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    rows = _pixel_rows(msg, height, width, step, dtype.itemsize, encoding, DepthImageError, exact=True)
    values = rows.view(stored).reshape(height, width).astype(dtype)  # a native-order copy
    return DepthImage.from_array(values, encoding)


def rgb_to_image(rgb: np.ndarray, header: Any, encoding: str = "rgb8") -> Any:
    """Build a sensor_msgs/Image from an HxWx3 uint8 RGB array (``rgb8`` or ``bgr8``)."""
    from sensor_msgs.msg import Image

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ImageConversionError(f"expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
    if encoding == "bgr8":
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    elif encoding != "rgb8":
        raise ImageConversionError(f"can only publish rgb8 or bgr8, not {encoding!r}")
    msg = Image()
    msg.header = header
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * 3
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg


# codecs the compressed plugin can name in ``format``, and what this module decodes
_CODECS = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png"}
_KNOWN_OTHER_CODECS = ("tiff", "webp", "avif", "qoi", "bmp")
# 8-bit encodings an encoder may have been handed: colour ones with the channel order of their pixels, and grey
_EIGHT_BIT_COLOUR = {"rgb8": "rgb", "rgba8": "rgb", "bgr8": "bgr", "bgra8": "bgr", "8UC3": "bgr", "8UC4": "bgr"}
_EIGHT_BIT_GREY = frozenset({"mono8", "8UC1"})


def _parse_compressed_format(fmt: str) -> tuple[str, str]:
    """(codec, channel order of the decoded BGR-assumed array: "rgb" or "bgr") from a ``format`` string."""
    text = fmt.strip()
    if not text:
        raise ImageConversionError("compressed image has an empty format string (expected e.g. 'jpeg' or "
                                   "'rgb8; jpeg compressed bgr8')")
    if "compresseddepth" in text.lower().replace(" ", ""):
        raise ImageConversionError(
            f"format {fmt!r} is a compressedDepth (depth) image, not a camera image; "
            "subscribe to the colour image's 'compressed' transport instead"
        )
    source, sep, rest = text.partition(";")
    if not sep:  # a bare codec name, as many drivers and Foxglove write it
        codec_name, target, source = text.lower(), "", ""
    else:
        source = source.strip()
        words = rest.split()
        if len(words) < 2 or words[1].lower() != "compressed":
            raise ImageConversionError(
                f"cannot parse compressed format {fmt!r} (expected '<encoding>; <codec> compressed <encoding>')"
            )
        codec_name, target = words[0].lower(), " ".join(words[2:])
    codec = _CODECS.get(codec_name)
    if codec is None:
        known = " (known, but not decoded here)" if codec_name in _KNOWN_OTHER_CODECS else ""
        raise ImageConversionError(
            f"unsupported compression {codec_name!r}{known} in format {fmt!r}; supported: jpeg, png"
        )
    # The encoder was handed ``target`` (the source encoding when the plugin left it blank); OpenCV writes
    # and reads pixels as BGR, so an image handed over as RGB decodes with its channels already in RGB order.
    pixels = target or source
    if not pixels:  # bare codec: an ordinary image file
        return codec, "bgr"
    if pixels.startswith("bayer"):
        raise ImageConversionError(f"format {fmt!r} holds a raw Bayer mosaic; debayer it before decoding")
    if pixels in _EIGHT_BIT_GREY:
        return codec, "bgr"
    order = _EIGHT_BIT_COLOUR.get(pixels)
    if order is None:
        raise ImageConversionError(
            f"format {fmt!r}: compressed pixels are {pixels!r}; only 8-bit colour or mono images are supported"
        )
    return codec, order


def _byte_view(data: Any, what: str, error: type[ValueError] = ImageConversionError) -> np.ndarray:
    """A flat uint8 view of a message's ``data`` (bytes, array.array or a numpy array from rosbags)."""
    try:
        view = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError) as exc:
        raise error(f"{what} data is not a byte buffer ({type(data).__name__})") from exc
    if view.dtype != np.uint8:
        raise error(f"{what} data has dtype {view.dtype}, expected bytes")
    return view.reshape(-1)


def compressed_to_rgb(msg: Any) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage (JPEG or PNG) to a C-contiguous HxWx3 uint8 RGB array.

    Raises :class:`ImageConversionError` with the reason for an empty or unsupported ``format``
    (compressedDepth, Bayer, 16/32-bit, codecs other than JPEG/PNG), empty data, and data that does not
    decode (garbage or a truncated file).
    """
    fmt = str(msg.format)
    codec, order = _parse_compressed_format(fmt)
    data = _byte_view(msg.data, "compressed image")
    if data.size == 0:
        raise ImageConversionError(f"compressed image ({fmt!r}) has no data")
    head = data[:8].tobytes()
    if head.startswith(b"\xff\xd8") and b"\xff\xd9" not in data[-32:].tobytes():
        # some decoders fill a cut-off JPEG with grey instead of failing
        raise ImageConversionError(f"JPEG data ({data.size} bytes) is truncated: no end-of-image marker")
    try:
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ImageConversionError(f"cannot decode {codec} image ({fmt!r}, {data.size} bytes): "
                                   f"{_cv_reason(exc)}") from exc
    if decoded is None or decoded.size == 0:
        raise ImageConversionError(
            f"data ({data.size} bytes, starting {head.hex()}) is not a decodable {codec} image "
            f"(format {fmt!r}); it is corrupt, truncated or in another codec"
        )
    if order == "bgr":
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(decoded)


def rgb_to_compressed(rgb: np.ndarray, header: Any, fmt: str = "jpeg", quality: int = 90) -> Any:
    """Build a sensor_msgs/CompressedImage from an HxWx3 uint8 RGB array, as image_transport would.

    ``fmt`` is "jpeg" or "png"; ``quality`` (1-100) applies to JPEG only. The format string records an rgb8
    source encoded as BGR ("rgb8; jpeg compressed bgr8"), so ROS tools and :func:`compressed_to_rgb` decode
    the colours correctly.
    """
    from sensor_msgs.msg import CompressedImage

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageConversionError(f"expected non-empty HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
    codec = _CODECS.get(fmt.lower())
    if codec is None:
        raise ImageConversionError(f"can only compress to jpeg or png, not {fmt!r}")
    params: list[int] = []
    if codec == "jpeg":
        if not 1 <= int(quality) <= 100:
            raise ImageConversionError(f"JPEG quality must be 1-100, got {quality}")
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg" if codec == "jpeg" else ".png", bgr, params)
    if not ok:
        raise ImageConversionError(f"OpenCV could not encode a {rgb.shape[1]}x{rgb.shape[0]} image as {codec}")
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = f"rgb8; {codec} compressed bgr8"
    msg.data = encoded.tobytes()
    return msg
