"""README.md's measured figures are rendered from docs/figures.json by tools/update_readme.py: the README says
exactly what the JSON holds, so its figures cannot drift from the measurement they came from."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("update_readme", REPO / "tools" / "update_readme.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_figures_are_rendered_from_the_measured_json() -> None:
    tool = _tool()
    text = (REPO / "README.md").read_text()
    figures = json.loads((REPO / "docs" / "figures.json").read_text())
    blocks = tool.readme_blocks(text)
    assert set(blocks) == set(tool.BLOCKS) == set(figures)  # every block generated, every generator used
    for name, content in blocks.items():
        assert content == tool.BLOCKS[name](figures[name]), f"README block {name!r} differs from docs/figures.json"
    assert tool.rendered_readme(text, figures) == text
    assert (REPO / "docs" / "images" / "demo_overlay.jpg").stat().st_size > 10_000


def test_a_changed_figure_is_caught() -> None:
    tool = _tool()
    text = (REPO / "README.md").read_text()
    figures = json.loads((REPO / "docs" / "figures.json").read_text())
    figures["demo"]["summary"]["cs_mpjpe_mean_mm"] += 1.0
    assert tool.rendered_readme(text, figures) != text
