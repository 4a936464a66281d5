"""Settings that are also ROS parameters, described once.

A configuration is a frozen dataclass whose fields are made with :func:`setting` (default, description,
numeric range or choices). The ROS-free core reads it as a plain dataclass; the nodes declare every field
as a ROS parameter with that description and range (``hand_mesh_ros.ros.params``). Nothing here imports ROS.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import InvalidSettingError

Value = bool | int | float | str

# When a change of a setting takes effect in a running node: "live" at the next frame; "configure" at the next
# configure transition (it selects models or topics: refused while the node is configured); "startup" never
# after start-up.
APPLIES = ("live", "configure", "startup")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Value
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    applies: str = "live"  # one of APPLIES

    @property
    def read_only(self) -> bool:
        """Fixed for the life of the process (ROS refuses every change after start-up)."""
        return self.applies == "startup"

    def check(self, value: Any) -> str | None:
        """Return why ``value`` is not acceptable, or None."""
        kind = type(self.default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            return f"{self.name} must be {kind.__name__}, got {type(value).__name__} {value!r}"
        if self.choices and value not in self.choices:
            return f"{self.name} must be one of {', '.join(self.choices)}; got {value!r}"
        if self.low is not None and value < self.low:
            return f"{self.name} must be >= {self.low}; got {value}"
        if self.high is not None and value > self.high:
            return f"{self.name} must be <= {self.high}; got {value}"
        return None


def setting(
    default: Value,
    description: str,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] = (),
    applies: str = "live",
) -> Any:
    """A dataclass field with a description, valid range and when a change applies (:data:`APPLIES`; its name
    is the field's name)."""
    if applies not in APPLIES:
        raise ValueError(f"applies must be one of {', '.join(APPLIES)}, got {applies!r}")
    spec = Setting("", default, description, low, high, choices, applies)
    return dataclasses.field(default=default, metadata={"setting": spec})


def settings_of(config_type: type) -> list[Setting]:
    """The :class:`Setting` of every :func:`setting` field of a dataclass, in field order."""
    return [
        dataclasses.replace(f.metadata["setting"], name=f.name)
        for f in dataclasses.fields(config_type)
        if "setting" in f.metadata
    ]


def validate(config: Any) -> None:
    """Raise InvalidSettingError (a ValueError) naming every field of ``config`` that is out of range or of the
    wrong type."""
    problems = [p for s in settings_of(type(config)) if (p := s.check(getattr(config, s.name)))]
    if problems:
        raise InvalidSettingError("invalid settings: " + "; ".join(problems))


def device_index(device: str) -> int:
    """The CUDA ordinal of ``cuda`` / ``cuda:N``; InvalidSettingError (a ValueError) for anything else."""
    if device == "cuda":
        return 0
    if device.startswith("cuda:") and device[5:].isdigit():
        return int(device[5:])
    raise InvalidSettingError(f"not a CUDA device: {device!r} (expected cuda or cuda:N)")


def check_device(name: str, value: str) -> None:
    """Raise InvalidSettingError (a ValueError) unless ``value`` is auto, cpu, cuda or cuda:N."""
    if value in ("auto", "cpu"):
        return
    try:
        device_index(value)
    except ValueError:
        raise InvalidSettingError(
            f"invalid settings: {name} must be auto, cpu, cuda or cuda:N; got {value!r}"
        ) from None


T = TypeVar("T")


def refusing_removed(removed: Mapping[str, str]) -> Callable[[type[T]], type[T]]:
    """Class decorator for a settings dataclass: its constructor refuses the names in ``removed`` (a setting
    that no longer exists -> what to do instead) with an InvalidSettingError (a ValueError) saying so, instead of a
    bare TypeError."""

    def decorate(cls: type[T]) -> type[T]:
        generated = cls.__init__

        @functools.wraps(generated)
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            problems = [f"'{n}' is no longer a setting: {removed[n]}" for n in kwargs if n in removed]
            if problems:
                raise InvalidSettingError("; ".join(problems))
            generated(self, *args, **kwargs)

        cls.__init__ = init  # type: ignore[method-assign]
        return cls

    return decorate
