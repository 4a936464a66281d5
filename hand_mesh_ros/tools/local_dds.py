"""Guard that keeps DDS traffic on this machine.

Tests, benchmarks and demos start ROS processes; on a shared network Fast DDS would otherwise announce
itself by multicast. They call :func:`require_local_dds` first and refuse to start when discovery is
not limited to localhost. (Nodes themselves do not call it: on a robot discovery is the user's choice.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class NonLocalDiscoveryError(RuntimeError):
    """ROS discovery is not restricted to this machine."""


def local_dds_problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return what is wrong with ``environ`` for loopback-only DDS (empty when all is well)."""
    env = os.environ if environ is None else environ
    problems = []
    discovery = env.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "")
    if discovery.upper() != "LOCALHOST":
        problems.append(
            f"ROS_AUTOMATIC_DISCOVERY_RANGE is {discovery or 'unset'!r}, must be 'LOCALHOST'"
        )
    if env.get("ROS_STATIC_PEERS", "").strip():
        problems.append("ROS_STATIC_PEERS is set: discovery would reach other machines")
    domain = env.get("ROS_DOMAIN_ID", "")
    if not domain.isdigit():
        problems.append(f"ROS_DOMAIN_ID is {domain or 'unset'!r}: set a random id (1-101) to isolate runs")
    # Fast DDS 3 reads FASTDDS_DEFAULT_PROFILES_FILE, Fast DDS 2.x (Humble, Jazzy) FASTRTPS_DEFAULT_PROFILES_FILE.
    for variable in ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE"):
        profile = env.get(variable, "")
        if profile and not Path(profile).is_file():
            problems.append(f"the Fast DDS profile {profile} ({variable}) does not exist")
    return problems


def require_local_dds(environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`NonLocalDiscoveryError` unless DDS discovery is limited to localhost."""
    problems = local_dds_problems(environ)
    if problems:
        raise NonLocalDiscoveryError(
            "refusing to start ROS: " + "; ".join(problems) + ". Run `source tools/env.sh` first."
        )
