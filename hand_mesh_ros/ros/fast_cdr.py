"""Serialize messages with large point lists fast, by splicing numpy bytes into rclpy's CDR.

Filling a ``visualization_msgs/Marker`` TRIANGLE_LIST with ~7000 ``geometry_msgs/Point`` objects costs
~20 ms per hand in Python. Instead, the message is serialized with one sentinel point in each such list,
and each sentinel is replaced by the packed little-endian float64 array (and its sequence length). A Point
is 24 bytes, a multiple of the 8-byte alignment, so everything after the list keeps its alignment. The
result deserializes to the same message rclpy would have built (the tests check it), and is published
with ``Publisher.publish(bytes)``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from geometry_msgs.msg import Point
from rclpy.serialization import serialize_message

_SENTINEL_X = 1.2345678901234567e300
_SENTINEL_Z = -9.876543210987654e299


def sentinel(k: int) -> Any:
    """The placeholder point for the k-th spliced list."""
    return Point(x=_SENTINEL_X, y=float(k), z=_SENTINEL_Z)


def serialize_with_points(msg: Any, point_lists: Sequence[np.ndarray]) -> bytes:
    """CDR of ``msg`` where the list holding ``sentinel(k)`` (alone) is replaced by ``point_lists[k]``
    ((N, 3) metres). The caller put exactly one sentinel in each list to fill."""
    data = serialize_message(msg)
    if data[:2] not in (b"\x00\x01", b"\x00\x07", b"\x00\x09", b"\x00\x0b"):  # little-endian encapsulations
        raise ValueError(f"unexpected CDR encapsulation {data[:4].hex()}")
    out, pos = [], 0
    for k, points in enumerate(point_lists):
        pts = np.ascontiguousarray(points, dtype="<f8").reshape(-1, 3)
        marker = struct.pack("<3d", _SENTINEL_X, float(k), _SENTINEL_Z)
        s = data.find(marker, pos)
        if s < 0:
            raise ValueError(f"sentinel {k} not found in the serialized message")
        # The sequence length (1) sits just before the point, or 4 bytes earlier with 4 bytes of
        # alignment padding in between (whose content is unspecified).
        if data[s - 4:s] == b"\x01\x00\x00\x00":
            length_at = s - 4
        elif data[s - 8:s - 4] == b"\x01\x00\x00\x00":
            length_at = s - 8
        else:
            raise ValueError("the sentinel is not the only element of its sequence")
        out += [data[pos:length_at], struct.pack("<I", len(pts)), data[length_at + 4:s], pts.tobytes()]
        pos = s + 24
    out.append(data[pos:])
    return b"".join(out)
