"""Declare a configuration dataclass (``hand_mesh_ros.settings``) as described, validated ROS parameters.

:func:`declare` declares every field with a ``ParameterDescriptor`` (``ros2 param describe`` shows the
description and range) and installs a validator that refuses bad values with the reason; :func:`read`
returns the current values as the dataclass. The YAML in ``config/`` holds the same defaults (a test keeps
them equal).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)

from ..settings import Setting, settings_of

T = TypeVar("T")


def descriptor(s: Setting) -> ParameterDescriptor:
    text = s.description + (f" One of: {', '.join(s.choices)}." if s.choices else "")
    desc = ParameterDescriptor(name=s.name, description=text, read_only=s.read_only)
    if s.low is None or s.high is None or isinstance(s.default, bool):
        return desc
    if isinstance(s.default, float):
        desc.floating_point_range = [FloatingPointRange(from_value=float(s.low), to_value=float(s.high))]
    elif isinstance(s.default, int):
        desc.integer_range = [IntegerRange(from_value=int(s.low), to_value=int(s.high), step=1)]
    return desc


def declare(node: Any, config_type: type, removed: Mapping[str, str] | None = None) -> None:
    """Declare the fields of ``config_type`` on ``node``; refuse invalid values at start-up and at run time.

    ``removed``: names of parameters that no longer exist -> what to do instead. They are declared (so a YAML
    file that sets one is not silently ignored) and a value given for one raises ValueError with that text.
    """
    for name, instead in (removed or {}).items():
        node.declare_parameter(name, None, ParameterDescriptor(name=name, dynamic_typing=True,
                                                               description=f"Removed: {instead}."))
        if node.get_parameter(name).value is not None:
            raise ValueError(f"parameter '{name}' is no longer supported: {instead}")
    specs = settings_of(config_type)
    by_name = {s.name: s for s in specs}
    for s in specs:
        node.declare_parameter(s.name, s.default, descriptor(s))
        problem = s.check(node.get_parameter(s.name).value)
        if problem:
            raise ValueError(f"invalid parameter: {problem}")

    def on_set(params: list[Any]) -> SetParametersResult:
        for p in params:
            spec = by_name.get(p.name)
            problem = spec.check(p.value) if spec else None
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)


def read(node: Any, config_type: type[T]) -> T:
    """Current parameter values as a ``config_type``."""
    values = {}
    for s in settings_of(config_type):
        value = node.get_parameter(s.name).value
        values[s.name] = float(value) if isinstance(s.default, float) else value
    return config_type(**values)
