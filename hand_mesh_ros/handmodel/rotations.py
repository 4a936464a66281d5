"""Batched rotation helpers in torch (axis-angle <-> matrix), safe near zero angle."""

from __future__ import annotations

import torch


def skew(v: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 3, 3) cross-product matrices."""
    zero = torch.zeros_like(v[..., 0])
    x, y, z = v.unbind(-1)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape((*v.shape[:-1], 3, 3))


def axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """Rodrigues: (..., 3) axis-angle (radians) -> (..., 3, 3) rotation matrices."""
    theta2 = (aa * aa).sum(-1, keepdim=True)
    theta = torch.sqrt(theta2 + 1e-24)
    small = theta2 < 1e-8
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / (theta2 + 1e-24))
    k = skew(aa)
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device)
    return eye + a[..., None] * k + b[..., None] * (k @ k)


def matrix_to_axis_angle(r: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 3) axis-angle (radians, angle in [0, pi])."""
    vee = torch.stack(
        [r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]], -1
    )
    cos = ((r[..., 0, 0] + r[..., 1, 1] + r[..., 2, 2] - 1.0) * 0.5).clamp(-1.0, 1.0)
    sin = 0.5 * torch.linalg.vector_norm(vee, dim=-1)
    angle = torch.atan2(sin, cos)
    scale = torch.where(sin > 1e-6, angle / (2.0 * sin + 1e-30), 0.5 + angle * angle / 12.0)
    aa = vee * scale[..., None]
    # near pi the vee vector vanishes: recover the axis from the symmetric part
    near_pi = cos < -0.999
    if bool(near_pi.any()):
        sym = (r + r.transpose(-1, -2)) * 0.5 - cos[..., None, None] * torch.eye(
            3, dtype=r.dtype, device=r.device
        )
        col = torch.argmax(torch.diagonal(sym, dim1=-2, dim2=-1), dim=-1)
        axis = torch.gather(sym, -1, col[..., None, None].expand((*sym.shape[:-1], 1))).squeeze(-1)
        axis = axis / torch.linalg.vector_norm(axis, dim=-1, keepdim=True).clamp_min(1e-12)
        sign = torch.where((axis * vee).sum(-1, keepdim=True) < 0, -1.0, 1.0).to(r.dtype)
        aa = torch.where(near_pi[..., None], axis * sign * angle[..., None], aa)
    return aa


def rotation_between(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Smallest rotation (..., 3, 3) turning direction u towards direction v (both (..., 3), any length).

    Uses R = I + [k]x + [k]x^2 / (1 + cos) with k = u x v for unit u, v; exactly opposite directions
    (cos = -1) are clamped (the result is then not a rotation by pi; callers never need that case).
    """
    u = u / torch.linalg.vector_norm(u, dim=-1, keepdim=True).clamp_min(1e-12)
    v = v / torch.linalg.vector_norm(v, dim=-1, keepdim=True).clamp_min(1e-12)
    k = skew(torch.cross(u, v, dim=-1))
    cos = (u * v).sum(-1).clamp_min(-0.999)
    eye = torch.eye(3, dtype=u.dtype, device=u.device)
    return eye + k + (k @ k) / (1.0 + cos)[..., None, None]


def log_small(r: torch.Tensor) -> torch.Tensor:
    """Axis-angle of rotations (..., 3, 3) known to be well below pi (joint rotations); no branch."""
    vee = torch.stack(
        [r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]], -1
    )
    cos = ((torch.diagonal(r, dim1=-2, dim2=-1).sum(-1) - 1.0) * 0.5).clamp(-1.0, 1.0)
    sin = 0.5 * torch.linalg.vector_norm(vee, dim=-1)
    angle = torch.atan2(sin, cos)
    scale = torch.where(sin > 1e-6, angle / (2.0 * sin).clamp_min(1e-12), 0.5 + angle * angle / 12.0)
    return vee * scale[..., None]
