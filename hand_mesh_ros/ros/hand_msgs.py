"""Reconstruction results -> hand_mesh_ros/HandArray, MeshTopology, RViz markers and TF transforms.

TF tree (one per hand): the image's optical frame -> ``<prefix><side>_wrist`` -> each finger chain in
MediaPipe order (``..._thumb_cmc`` -> ``..._thumb_mcp`` -> ``..._thumb_ip`` -> ``..._thumb_tip``, and
``..._index_mcp`` -> ``..._index_pip`` -> ... for the other fingers). Each frame sits at its joint; x points
along the bone to the next joint (tips: continuing the last bone), z out of the back of the hand, y = z x x.
A second hand of the same side gets the side name ``left2`` / ``right2``.
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from typing import Any

import numpy as np
from geometry_msgs.msg import Point, Pose, Quaternion, TransformStamped, Vector3
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from hand_mesh_ros.msg import Hand, HandArray, MeshTopology

from ..handmodel.constants import KEYPOINT_PARENTS
from ..handmodel.rotations import quaternion_to_matrix
from ..reconstruction.types import ReconstructedHand
from .fast_cdr import sentinel, serialize_with_points

# Parent of each of the 21 joints in the TF tree (MediaPipe order); -1: the camera frame.
JOINT_PARENTS = KEYPOINT_PARENTS
BONES = tuple((p, c) for c, p in enumerate(JOINT_PARENTS) if p >= 0)
_SIDES = {"left": Hand.HANDEDNESS_LEFT, "right": Hand.HANDEDNESS_RIGHT}
_MODELS = {"mano": Hand.MODEL_MANO, "open_hand": Hand.MODEL_OPEN_HAND}


def quaternion_from_matrix(r: np.ndarray) -> np.ndarray:
    """(x, y, z, w) unit quaternion of a 3x3 rotation matrix (numerically safe branch choice)."""
    m = np.asarray(r, dtype=np.float64)
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    qa = np.asarray(q)
    return qa / np.linalg.norm(qa)


def matrix_from_quaternion(q: np.ndarray) -> np.ndarray:
    """3x3 rotation matrix of an (x, y, z, w) quaternion (normalised first; the inverse of
    :func:`quaternion_from_matrix`). Raises ValueError for a zero or non-finite quaternion."""
    v = np.asarray(q, dtype=np.float64)
    n = float(np.linalg.norm(v))
    if v.shape != (4,) or not np.isfinite(n) or n < 1e-9:
        raise ValueError(f"not a rotation quaternion: {q}")
    return quaternion_to_matrix(v[[3, 0, 1, 2]] / n)


def side_names(hands: Sequence[ReconstructedHand]) -> list[str]:
    """'left'/'right' for the first hand of each side (lowest track id), 'left2', ... for the next ones."""
    names = [""] * len(hands)
    for side in ("left", "right"):
        idx = sorted((i for i, h in enumerate(hands) if h.handedness == side), key=lambda i: hands[i].track_id)
        for rank, i in enumerate(idx):
            names[i] = side if rank == 0 else f"{side}{rank + 1}"
    return names


def hand_to_msg(hand: ReconstructedHand) -> Any:
    msg = Hand(id=int(hand.track_id), handedness=_SIDES[hand.handedness],
               handedness_score=float(hand.handedness_score), confidence=float(hand.confidence))
    msg.joint_confidences = np.asarray(hand.joint_confidences, dtype=np.float32).reshape(21)
    msg.state = Hand.STATE_HELD if hand.held else Hand.STATE_MEASURED
    msg.joints = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in hand.joints]
    msg.joints_px = [Point(x=float(x), y=float(y), z=0.0) for x, y in hand.joints_px]
    msg.wrist_pose = _pose(hand.wrist_position, hand.wrist_rotation)
    msg.pose = np.asarray(hand.pose, dtype=np.float32).reshape(48)
    msg.shape = np.asarray(hand.shape, dtype=np.float32).reshape(10)
    msg.model = _MODELS.get(hand.model_name, Hand.MODEL_OPEN_HAND)
    msg.model_name = hand.model_name
    # array.array from bytes: assigning a numpy array element by element costs milliseconds per hand
    msg.vertices = array.array("f", np.ascontiguousarray(hand.vertices, dtype=np.float32).tobytes())
    return msg


def hands_to_msg(header: Any, hands: Sequence[ReconstructedHand]) -> Any:
    return HandArray(header=header, hands=[hand_to_msg(h) for h in hands])


def topology_msg(model_name: str, side: str, faces: np.ndarray, num_vertices: int) -> Any:
    return MeshTopology(model=_MODELS.get(model_name, Hand.MODEL_OPEN_HAND), model_name=model_name,
                        handedness=_SIDES[side], num_vertices=int(num_vertices),
                        triangles=np.ascontiguousarray(faces, dtype=np.uint32).reshape(-1))


def hand_transforms(header: Any, hands: Sequence[ReconstructedHand], prefix: str) -> list[Any]:
    """One TransformStamped per joint per hand, each relative to its parent in the tree."""
    out = []
    for hand, side in zip(hands, side_names(hands), strict=True):
        names = [f"{prefix}{side}_{n}" for n in hand.frame_names]
        for j, parent in enumerate(JOINT_PARENTS):
            r_j, p_j = hand.joint_frames[j], hand.joints[j]
            if parent < 0:
                r_rel, p_rel, parent_frame = r_j, p_j, header.frame_id
            else:
                r_p = hand.joint_frames[parent]
                r_rel, p_rel = r_p.T @ r_j, r_p.T @ (p_j - hand.joints[parent])
                parent_frame = names[parent]
            t = TransformStamped()
            t.header.stamp = header.stamp
            t.header.frame_id = parent_frame
            t.child_frame_id = names[j]
            t.transform.translation = Vector3(x=float(p_rel[0]), y=float(p_rel[1]), z=float(p_rel[2]))
            q = quaternion_from_matrix(r_rel)
            t.transform.rotation = Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3]))
            out.append(t)
    return out


def confidence_color(confidence: float, alpha: float) -> Any:
    """Red (0) -> yellow (0.5) -> green (1)."""
    c = float(np.clip(confidence, 0.0, 1.0))
    return ColorRGBA(r=float(min(1.0, 2.0 * (1.0 - c))), g=float(min(1.0, 2.0 * c)), b=0.1, a=float(alpha))


def hand_markers(header: Any, hands: Sequence[ReconstructedHand], gone_ids: Sequence[int],
                 lifetime_s: float, mesh_alpha: float, with_mesh: bool) -> Any:
    """Mesh (TRIANGLE_LIST coloured by confidence) and skeleton (LINE_LIST) per hand; DELETE for hands
    that disappeared. The lifetime makes stale markers vanish even if a DELETE is lost.

    This builds every Point in Python (~20 ms per mesh); nodes publish :func:`hand_markers_cdr` instead.
    """
    array, _ = _markers(header, hands, gone_ids, lifetime_s, mesh_alpha, with_mesh, fast=False)
    return array


def hand_markers_cdr(header: Any, hands: Sequence[ReconstructedHand], gone_ids: Sequence[int],
                     lifetime_s: float, mesh_alpha: float, with_mesh: bool) -> bytes:
    """The serialized MarkerArray of :func:`hand_markers`, built in well under a millisecond per hand."""
    array, meshes = _markers(header, hands, gone_ids, lifetime_s, mesh_alpha, with_mesh, fast=True)
    return serialize_with_points(array, meshes)


def _markers(header: Any, hands: Sequence[ReconstructedHand], gone_ids: Sequence[int], lifetime_s: float,
             mesh_alpha: float, with_mesh: bool, fast: bool) -> tuple[Any, list[np.ndarray]]:
    array = MarkerArray()
    meshes: list[np.ndarray] = []
    sec = int(lifetime_s)
    lifetime = {"sec": sec, "nanosec": int((lifetime_s - sec) * 1e9)}
    for hand in hands:
        color = confidence_color(hand.confidence, mesh_alpha)
        if with_mesh:
            mesh = _marker(header, "hand_mesh", hand.track_id, Marker.TRIANGLE_LIST, lifetime)
            corners = hand.vertices[np.asarray(hand.faces).reshape(-1)]
            if fast:
                mesh.points = [sentinel(len(meshes))]
                meshes.append(corners)
            else:
                mesh.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in corners.tolist()]
            mesh.scale = Vector3(x=1.0, y=1.0, z=1.0)
            mesh.color = color
            array.markers.append(mesh)
        bones = _marker(header, "hand_skeleton", hand.track_id, Marker.LINE_LIST, lifetime)
        ends = hand.joints[np.asarray(BONES).reshape(-1)]
        bones.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in ends.tolist()]
        bones.scale = Vector3(x=0.004, y=0.0, z=0.0)
        bones.color = confidence_color(hand.confidence, 1.0)
        array.markers.append(bones)
    for track_id in gone_ids:
        for ns in ("hand_mesh", "hand_skeleton"):
            m = _marker(header, ns, track_id, Marker.TRIANGLE_LIST, lifetime)
            m.action = Marker.DELETE
            array.markers.append(m)
    return array, meshes


def _marker(header: Any, ns: str, marker_id: int, kind: int, lifetime: dict[str, int]) -> Any:
    m = Marker(ns=ns, id=int(marker_id), type=kind, action=Marker.ADD)
    m.header = header
    m.pose.orientation.w = 1.0
    m.lifetime.sec, m.lifetime.nanosec = lifetime["sec"], lifetime["nanosec"]
    m.frame_locked = False
    return m


def _pose(position: np.ndarray, rotation: np.ndarray) -> Any:
    q = quaternion_from_matrix(rotation)
    pose = Pose()
    pose.position = Point(x=float(position[0]), y=float(position[1]), z=float(position[2]))
    pose.orientation = Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3]))
    return pose


def joints_of(hand: Any) -> np.ndarray:
    """(21, 3) metres of a Hand message."""
    return np.array([[p.x, p.y, p.z] for p in hand.joints], dtype=np.float64)


def side_of(hand: Any) -> str:
    return {Hand.HANDEDNESS_LEFT: "left", Hand.HANDEDNESS_RIGHT: "right"}.get(hand.handedness, "unknown")


def drawing_of(hand: Any, faces: np.ndarray | None) -> Any:
    """A visualization.HandDrawing of a Hand message (mesh drawn when ``faces`` is given)."""
    from ..visualization.overlay import HandDrawing

    px = np.array([[p.x, p.y] for p in hand.joints_px], dtype=np.float64)
    vertices = np.frombuffer(np.asarray(hand.vertices, dtype=np.float32).tobytes(), np.float32).reshape(-1, 3)
    label = f"#{hand.id} {side_of(hand)} {hand.confidence:.2f} z={hand.joints[0].z:.2f}m"
    if hand.state == Hand.STATE_HELD:
        label += " held"
    no_faces = np.zeros((0, 3), np.int32)
    return HandDrawing(px, vertices if faces is not None else vertices[:0], faces if faces is not None else no_faces,
                       label)
