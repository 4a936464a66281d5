"""Repair the CMake exports of the PyPI ROS 2 wheels inside a virtual environment.

The wheels were built in manylinux containers, and each interface package's
``share/<pkg>/cmake/export_<pkg>__rosidl_generator_pyExport.cmake`` hard-codes that container's Python
and numpy include directories. Any interface build against them (ours, the tf2_msgs stand-in) then fails.
This rewrites those two paths to the running interpreter's. Idempotent; touches files under the
environment's prefix only.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import numpy as np

# /opt/python/cp311-cp311/include/python3.11 and .../site-packages/numpy/_core/include (any container prefix)
_PY_INCLUDE = re.compile(r"/opt/python/[^;\"]*/include/python3\.\d+")
_NP_INCLUDE = re.compile(r"/opt/python/[^;\"]*/site-packages/numpy/_core/include")


def patch_prefix(prefix: Path) -> list[Path]:
    """Patch every affected export file below ``prefix/share``; return the files changed."""
    py_include = sysconfig.get_paths()["include"]
    np_include = np.get_include()
    changed = []
    for path in sorted(prefix.glob("share/*/cmake/export_*__rosidl_generator_pyExport.cmake")):
        text = path.read_text()
        new = _NP_INCLUDE.sub(np_include, _PY_INCLUDE.sub(py_include, text))
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main() -> int:
    prefix = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(sys.prefix)
    changed = patch_prefix(prefix)
    print(f"patch_ros_wheels: {len(changed)} CMake export file(s) fixed under {prefix}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
