"""Declare a configuration dataclass (``hand_mesh_ros.settings``) as described, validated ROS parameters.

:func:`declare` declares every field with a ``ParameterDescriptor`` (``ros2 param describe`` shows the
description, range and when a change applies) and installs a validator that refuses, with the reason, bad
values, values the dataclass refuses as a whole, and changes of settings that only apply at configure while
the node is configured; :func:`read` returns the current values as the dataclass. The YAML in ``config/``
holds the same defaults (a test keeps them equal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)

from ..settings import Setting, settings_of

T = TypeVar("T")


WHEN = {"live": " Applied live (on the next frame).",
        "configure": " Applied at configure (deactivate and clean up the node to change it).",
        "startup": " Fixed at start-up."}


def descriptor(s: Setting) -> ParameterDescriptor:
    text = s.description + (f" One of: {', '.join(s.choices)}." if s.choices else "") + WHEN[s.applies]
    desc = ParameterDescriptor(name=s.name, description=text, read_only=s.read_only)
    if s.low is None or s.high is None or isinstance(s.default, bool):
        return desc
    if isinstance(s.default, float):
        desc.floating_point_range = [FloatingPointRange(from_value=float(s.low), to_value=float(s.high))]
    elif isinstance(s.default, int):
        desc.integer_range = [IntegerRange(from_value=int(s.low), to_value=int(s.high), step=1)]
    return desc


def declare(node: Any, config_type: type, removed: Mapping[str, str] | None = None,
            configured: Callable[[], bool] = lambda: False, on_change: Callable[[], None] = lambda: None) -> None:
    """Declare the fields of ``config_type`` on ``node``; refuse invalid values at start-up and at run time.

    ``removed``: names of parameters that no longer exist -> what to do instead. They are declared (so a YAML
    file that sets one is not silently ignored) and a value given for one raises ValueError with that text.
    ``configured``: whether the node is configured now (then changes of ``applies="configure"`` settings are
    refused); ``on_change``: called when a change of a ``live`` setting was accepted (it takes effect once the
    callback returns: read the values on the next frame).
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
            if p.name in (removed or {}):
                return SetParametersResult(successful=False,
                                           reason=f"'{p.name}' is no longer supported: {(removed or {})[p.name]}")
        ours = [(by_name[p.name], p.value) for p in params if p.name in by_name]
        for spec, value in ours:
            problem = spec.check(value)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
            if spec.applies == "configure" and configured():
                return SetParametersResult(successful=False, reason=(
                    f"{spec.name} applies at configure: deactivate and clean up the node, set it, configure again"))
        if ours:
            values = {s.name: node.get_parameter(s.name).value for s in specs}
            values.update({spec.name: float(v) if isinstance(spec.default, float) else v for spec, v in ours})
            try:
                config_type(**values)
            except ValueError as exc:  # a combination the settings refuse (e.g. hand_model mano without mano_dir)
                return SetParametersResult(successful=False, reason=str(exc))
            if any(spec.applies == "live" for spec, _ in ours):
                on_change()
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)


def read(node: Any, config_type: type[T]) -> T:
    """Current parameter values as a ``config_type``."""
    values = {}
    for s in settings_of(config_type):
        value = node.get_parameter(s.name).value
        values[s.name] = float(value) if isinstance(s.default, float) else value
    return config_type(**values)
