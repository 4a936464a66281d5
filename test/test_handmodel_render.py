"""The numpy rasterizer: geometry (coverage, depth), shading, background and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.render import Shading, render_mesh, render_meshes, vertex_normals

K = np.array([[200.0, 0.0, 80.0], [0.0, 200.0, 60.0], [0.0, 0.0, 1.0]])


def square(z: float, half: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    v = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    return v, np.array([[0, 2, 1], [0, 3, 2]])  # counter-clockwise seen from the camera (front faces)


def test_square_coverage_and_depth() -> None:
    v, f = square(1.0)
    out = render_mesh(v, f, K, 160, 120)
    # the square spans +-0.1 m at 1 m with f = 200 px: 40 px wide, centred on the principal point
    ys, xs = np.nonzero(out.mask)
    assert abs(xs.min() - 60) <= 1 and abs(xs.max() - 100) <= 1
    assert abs(ys.min() - 40) <= 1 and abs(ys.max() - 80) <= 1
    np.testing.assert_allclose(out.depth[out.mask], 1.0, atol=1e-5)
    assert (out.depth[~out.mask] == 0).all()
    assert out.rgb.dtype == np.uint8 and out.rgb[out.mask].min() > 0


def test_z_buffer_keeps_the_nearest_surface() -> None:
    far_v, far_f = square(2.0, half=0.5)
    near_v, near_f = square(1.0, half=0.05)
    out = render_meshes([(far_v, far_f), (near_v, near_f)], K, 160, 120)
    assert out.depth[60, 80] == pytest.approx(1.0, abs=1e-5)
    assert out.depth[60, 40] == pytest.approx(2.0, abs=1e-5)


def test_tilted_plane_depth_is_perspective_correct() -> None:
    v = np.array([[-0.3, -0.2, 1.0], [0.3, -0.2, 2.0], [0.3, 0.2, 2.0], [-0.3, 0.2, 1.0]])
    f = np.array([[0, 2, 1], [0, 3, 2]])
    out = render_mesh(v, f, K, 160, 120)
    # plane z = 1.5 + (x / 0.6); a ray through pixel u has x = z (u - cx) / fx
    for u in (50, 80, 110):
        t = (u - K[0, 2]) / K[0, 0]
        z = 1.5 / (1.0 - t / 0.6)
        assert out.depth[60, u] == pytest.approx(z, rel=1e-3)


def test_background_and_lighting() -> None:
    v, f = square(1.0)
    bg = np.full((120, 160, 3), 50, np.uint8)
    lit = render_mesh(v, f, K, background=bg, shading=Shading(key=(0.0, 0.0, -1.0), key_strength=0.7))
    dark = render_mesh(v, f, K, background=bg, shading=Shading(key=(0.0, 0.0, 1.0), key_strength=0.7))
    assert (lit.rgb[~lit.mask] == 50).all()
    assert lit.rgb[60, 80].astype(int).sum() > dark.rgb[60, 80].astype(int).sum() + 100
    n = vertex_normals(v, f)
    np.testing.assert_allclose(np.abs(n[:, 2]), 1.0)


def test_bad_input() -> None:
    v, f = square(1.0)
    with pytest.raises(ValueError, match="vertices"):
        render_mesh(v[:, :2], f, K, 160, 120)
    with pytest.raises(ValueError, match="faces"):
        render_mesh(v, f + 10, K, 160, 120)
    with pytest.raises(ValueError, match="width and height"):
        render_mesh(v, f, K)
    out = render_mesh(v - np.array([0, 0, 2.0]), f, K, 160, 120)  # behind the camera
    assert not out.mask.any()


def test_back_faces_are_culled_unless_asked() -> None:
    v, f = square(1.0)
    back = f[:, ::-1]
    assert not render_mesh(v, back, K, 160, 120).mask.any()
    assert (
        render_mesh(v, back, K, 160, 120, cull_back_faces=False).mask.sum()
        == render_mesh(v, f, K, 160, 120).mask.sum()
    )
