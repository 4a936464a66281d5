"""Pure-numpy mesh rendering (z-buffer, smooth Lambert shading) for README images and synthetic tests."""

from .rasterizer import RenderResult, Shading, render_mesh, render_meshes, vertex_normals

__all__ = ["RenderResult", "Shading", "render_mesh", "render_meshes", "vertex_normals"]
