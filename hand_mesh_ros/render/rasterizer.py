"""A pure-numpy z-buffer triangle rasterizer with smooth (interpolated vertex normal) Lambert shading.

Camera: pinhole ``K`` (pixels), camera optical frame (x right, y down, z forward, metres); a pixel (u, v) has
its centre at integer coordinates. All triangles are rasterised at once (vectorised over the candidate pixels
of every triangle's bounding box), then the nearest candidate per pixel wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SKIN_RGB = (224, 172, 140)
KEY_LIGHT = (-0.4, -0.6, -0.7)  # direction from the surface towards the light, camera frame
FILL_LIGHT = (0.7, 0.3, -0.6)


@dataclass(frozen=True)
class RenderResult:
    """rgb: (H, W, 3) uint8; depth: (H, W) float32 metres along z, 0 where no surface; mask: (H, W) bool."""

    rgb: np.ndarray
    depth: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True)
class Shading:
    """Lambert lighting: colour (RGB 0-255), ambient term and two directional lights.

    Light directions point from the surface towards the light, in the camera optical frame.
    """

    color: tuple[int, int, int] = SKIN_RGB
    ambient: float = 0.28
    key: tuple[float, float, float] = KEY_LIGHT
    key_strength: float = 0.75
    fill: tuple[float, float, float] = FILL_LIGHT
    fill_strength: float = 0.25


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (V, 3) (orientation follows the face winding)."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


def _check(vertices: np.ndarray, faces: np.ndarray, k: np.ndarray, width: int, height: int) -> None:
    if not isinstance(vertices, np.ndarray) or vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be a (V, 3) array, got {getattr(vertices, 'shape', type(vertices))}")
    if not isinstance(faces, np.ndarray) or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be an (F, 3) integer array, got {getattr(faces, 'shape', type(faces))}")
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError("faces reference vertices that do not exist")
    if np.asarray(k).shape != (3, 3):
        raise ValueError(f"K must be 3x3, got {np.asarray(k).shape}")
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if not np.isfinite(vertices).all():
        raise ValueError("vertices contain NaN or inf")


def render_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    k: np.ndarray,
    width: int | None = None,
    height: int | None = None,
    background: np.ndarray | None = None,
    shading: Shading | None = None,
    near: float = 0.01,
    cull_back_faces: bool = True,
) -> RenderResult:
    """Render one mesh (camera optical frame, metres) over ``background`` (H, W, 3) uint8 or black.

    Triangles with a vertex closer than ``near`` metres are skipped. With ``cull_back_faces`` (for closed
    meshes whose faces wind counter-clockwise seen from outside, as MANO and the open hand do) triangles
    facing away from the camera are dropped first, which halves the work. Returns colour, depth, coverage.
    """
    if background is not None:
        if background.ndim != 3 or background.shape[2] != 3 or background.dtype != np.uint8:
            raise ValueError("background must be an (H, W, 3) uint8 image")
        height, width = background.shape[:2]
    if width is None or height is None:
        raise ValueError("give width and height, or a background image")
    _check(vertices, faces, k, width, height)
    shading = shading or Shading()
    k = np.asarray(k, dtype=np.float64)
    v = vertices.astype(np.float64)
    faces = faces.astype(np.int64)
    rgb = background.copy() if background is not None else np.zeros((height, width, 3), np.uint8)
    depth = np.zeros((height, width), np.float32)
    mask = np.zeros((height, width), bool)
    z = v[:, 2]
    proj = v @ k.T
    uv = proj[:, :2] / np.where(np.abs(proj[:, 2:]) < 1e-12, 1e-12, proj[:, 2:])
    f = faces[(z[faces] > near).all(axis=1)]
    if cull_back_faces and len(f):
        tri3 = v[f]
        normal = np.cross(tri3[:, 1] - tri3[:, 0], tri3[:, 2] - tri3[:, 0])
        f = f[(normal * tri3[:, 0]).sum(axis=1) < 0.0]  # the camera (origin) is on the outer side
    if len(f) == 0:
        return RenderResult(rgb, depth, mask)
    t = uv[f]  # (F, 3, 2)
    lo = np.floor(t.min(axis=1)).astype(np.int64)
    hi = np.ceil(t.max(axis=1)).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [width - 1, height - 1])
    ext = hi - lo + 1
    keep = (ext > 0).all(axis=1)
    # signed area; drop degenerate triangles
    e1 = t[:, 1] - t[:, 0]
    e2 = t[:, 2] - t[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    keep &= np.abs(area) > 1e-9
    f, t, lo, ext, area = f[keep], t[keep], lo[keep], ext[keep], area[keep]
    counts = ext[:, 0] * ext[:, 1]
    tri = np.repeat(np.arange(len(f)), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    local = np.arange(len(tri)) - start
    px = lo[tri, 0] + local % ext[tri, 0]
    py = lo[tri, 1] + local // ext[tri, 0]
    tt = t[tri]
    # barycentric coordinates of the pixel centre
    w1 = (px - tt[:, 0, 0]) * (tt[:, 2, 1] - tt[:, 0, 1]) - (py - tt[:, 0, 1]) * (tt[:, 2, 0] - tt[:, 0, 0])
    w2 = (tt[:, 1, 0] - tt[:, 0, 0]) * (py - tt[:, 0, 1]) - (tt[:, 1, 1] - tt[:, 0, 1]) * (px - tt[:, 0, 0])
    w1 = w1 / area[tri]
    w2 = w2 / area[tri]
    w0 = 1.0 - w1 - w2
    inside = (w0 >= -1e-9) & (w1 >= -1e-9) & (w2 >= -1e-9)
    tri, px, py, w0, w1, w2 = tri[inside], px[inside], py[inside], w0[inside], w1[inside], w2[inside]
    if len(tri) == 0:
        return RenderResult(rgb, depth, mask)
    zf = z[f[tri]]  # (N, 3)
    # perspective-correct interpolation: 1/z is linear in screen space
    iw = np.stack([w0, w1, w2], axis=1) / zf
    inv_z = iw.sum(axis=1)
    pix = py * width + px
    order = np.lexsort((-inv_z, pix))  # nearest first within each pixel
    pix_sorted = pix[order]
    first = np.ones(len(order), bool)
    first[1:] = pix_sorted[1:] != pix_sorted[:-1]
    win = order[first]
    bary = iw[win] / inv_z[win, None]
    normals = vertex_normals(v, faces)
    n = np.einsum("nk,nkc->nc", bary, normals[f[tri[win]]])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    pos = np.einsum("nk,nkc->nc", bary, v[f[tri[win]]])
    view = -pos / np.linalg.norm(pos, axis=1, keepdims=True)
    n = np.where((n * view).sum(axis=1, keepdims=True) < 0, -n, n)  # face the camera
    light = shading.ambient
    for direction, strength in ((shading.key, shading.key_strength), (shading.fill, shading.fill_strength)):
        ld = np.asarray(direction, dtype=np.float64)
        ld /= np.linalg.norm(ld)
        light = light + strength * np.clip(n @ ld, 0.0, None)
    color = np.clip(np.asarray(shading.color, dtype=np.float64)[None] * light[:, None], 0, 255)
    ys, xs = py[win], px[win]
    rgb[ys, xs] = color.astype(np.uint8)
    depth[ys, xs] = (1.0 / inv_z[win]).astype(np.float32)
    mask[ys, xs] = True
    return RenderResult(rgb, depth, mask)


def render_meshes(
    meshes: list[tuple[np.ndarray, np.ndarray]],
    k: np.ndarray,
    width: int | None = None,
    height: int | None = None,
    background: np.ndarray | None = None,
    shading: Shading | None = None,
    cull_back_faces: bool = True,
) -> RenderResult:
    """Render several (vertices, faces) meshes together (one z-buffer)."""
    if not meshes:
        raise ValueError("meshes is empty")
    verts, faces, offset = [], [], 0
    for v, f in meshes:
        verts.append(np.asarray(v))
        faces.append(np.asarray(f) + offset)
        offset += len(v)
    return render_mesh(
        np.concatenate(verts),
        np.concatenate(faces),
        k,
        width,
        height,
        background,
        shading,
        cull_back_faces=cull_back_faces,
    )
