"""A minimal reader for binary glTF 2.0 (.glb) files: JSON chunk, BIN chunk and typed accessors.

Only what the open hand asset needs: nodes (name, translation, rotation, scale), one skinned mesh primitive
and its skin. No extension, sparse accessor or external buffer support (such files raise ``ValueError``).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_GLB_MAGIC = 0x46546C67  # b"glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_COMPONENT_DTYPES = {
    5120: np.int8,
    5121: np.uint8,
    5122: np.int16,
    5123: np.uint16,
    5125: np.uint32,
    5126: np.float32,
}
_TYPE_SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}


@dataclass(frozen=True)
class GlbNode:
    """One glTF node: local TRS transform (metres, quaternion x, y, z, w) in its parent's frame."""

    name: str
    translation: np.ndarray  # (3,)
    rotation_xyzw: np.ndarray  # (4,)
    scale: np.ndarray  # (3,)
    children: tuple[int, ...]


@dataclass(frozen=True)
class GlbSkinnedMesh:
    """The first primitive of the first skinned mesh, with its skin.

    positions / normals are in the mesh node's frame (metres); joints_0 index into ``skin_joints`` (node ids).
    """

    positions: np.ndarray  # (N, 3) float32
    normals: np.ndarray | None  # (N, 3) float32
    indices: np.ndarray  # (T, 3) int64 triangles
    joints_0: np.ndarray  # (N, 4) int64, indices into skin_joints
    weights_0: np.ndarray  # (N, 4) float32
    skin_joints: tuple[int, ...]  # node ids
    inverse_bind_matrices: np.ndarray  # (J, 4, 4) float32, row-major (already transposed from glTF)


@dataclass(frozen=True)
class GlbFile:
    """Parsed content of a .glb file."""

    nodes: tuple[GlbNode, ...]
    mesh: GlbSkinnedMesh

    def node_index(self, name: str) -> int:
        """Index of the node called ``name``; ``KeyError`` naming it when absent."""
        for i, node in enumerate(self.nodes):
            if node.name == name:
                return i
        raise KeyError(f"glb has no node named {name!r}")


def _read_chunks(data: bytes, source: str) -> tuple[dict, bytes]:
    if len(data) < 20:
        raise ValueError(f"{source}: too short to be a .glb file ({len(data)} bytes)")
    magic, version, length = struct.unpack_from("<III", data, 0)
    if magic != _GLB_MAGIC:
        raise ValueError(f"{source}: not a binary glTF file (bad magic)")
    if version != 2:
        raise ValueError(f"{source}: glTF version {version} is not supported (need 2)")
    if length > len(data):
        raise ValueError(f"{source}: truncated (header says {length} bytes, have {len(data)})")
    offset = 12
    doc: dict | None = None
    binary = b""
    while offset + 8 <= length:
        chunk_len, chunk_type = struct.unpack_from("<II", data, offset)
        body = data[offset + 8 : offset + 8 + chunk_len]
        if chunk_type == _CHUNK_JSON:
            doc = json.loads(body.decode("utf-8"))
        elif chunk_type == _CHUNK_BIN:
            binary = body
        offset += 8 + chunk_len
    if doc is None:
        raise ValueError(f"{source}: no JSON chunk")
    return doc, binary


def _accessor(doc: dict, binary: bytes, index: int) -> np.ndarray:
    acc = doc["accessors"][index]
    if "sparse" in acc or "bufferView" not in acc:
        raise ValueError(f"accessor {index}: sparse or view-less accessors are not supported")
    view = doc["bufferViews"][acc["bufferView"]]
    if view.get("buffer", 0) != 0:
        raise ValueError(f"accessor {index}: only the embedded BIN buffer is supported")
    dtype = np.dtype(_COMPONENT_DTYPES[acc["componentType"]])
    width = _TYPE_SIZES[acc["type"]]
    count = int(acc["count"])
    start = int(view.get("byteOffset", 0)) + int(acc.get("byteOffset", 0))
    stride = int(view.get("byteStride", 0)) or width * dtype.itemsize
    if stride == width * dtype.itemsize:
        flat = np.frombuffer(binary, dtype=dtype, count=count * width, offset=start)
        return flat.reshape(count, width).copy()
    rows = [np.frombuffer(binary, dtype=dtype, count=width, offset=start + i * stride) for i in range(count)]
    return np.stack(rows)


def read_glb(path: str | Path) -> GlbFile:
    """Parse a .glb file holding (at least) one skinned mesh. Raises ``ValueError`` on unsupported content."""
    path = Path(path)
    doc, binary = _read_chunks(path.read_bytes(), str(path))
    nodes = []
    for raw in doc.get("nodes", []):
        if "matrix" in raw:
            raise ValueError(f"{path}: node {raw.get('name')!r} uses a matrix transform (unsupported)")
        nodes.append(
            GlbNode(
                name=str(raw.get("name", "")),
                translation=np.asarray(raw.get("translation", [0.0, 0.0, 0.0]), dtype=np.float64),
                rotation_xyzw=np.asarray(raw.get("rotation", [0.0, 0.0, 0.0, 1.0]), dtype=np.float64),
                scale=np.asarray(raw.get("scale", [1.0, 1.0, 1.0]), dtype=np.float64),
                children=tuple(int(c) for c in raw.get("children", [])),
            )
        )
    mesh_node = next((n for n in doc.get("nodes", []) if "mesh" in n and "skin" in n), None)
    if mesh_node is None:
        raise ValueError(f"{path}: no skinned mesh node")
    prim = doc["meshes"][mesh_node["mesh"]]["primitives"][0]
    if prim.get("mode", 4) != 4:
        raise ValueError(f"{path}: only triangle primitives are supported")
    attrs = prim["attributes"]
    skin = doc["skins"][mesh_node["skin"]]
    ibm = _accessor(doc, binary, skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    mesh = GlbSkinnedMesh(
        positions=_accessor(doc, binary, attrs["POSITION"]).astype(np.float32),
        normals=_accessor(doc, binary, attrs["NORMAL"]).astype(np.float32) if "NORMAL" in attrs else None,
        indices=_accessor(doc, binary, prim["indices"]).reshape(-1, 3).astype(np.int64),
        joints_0=_accessor(doc, binary, attrs["JOINTS_0"]).astype(np.int64),
        weights_0=_accessor(doc, binary, attrs["WEIGHTS_0"]).astype(np.float32),
        skin_joints=tuple(int(j) for j in skin["joints"]),
        inverse_bind_matrices=ibm.astype(np.float32),
    )
    return GlbFile(nodes=tuple(nodes), mesh=mesh)
