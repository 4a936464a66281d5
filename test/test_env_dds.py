"""tools/env.sh hands the loopback Fast DDS profile to the variable the installed Fast DDS reads, and the
loopback guard accepts either variable (Fast DDS 2.x: FASTRTPS_..., Fast DDS 3: FASTDDS_...)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hand_mesh_ros.tools.local_dds import local_dds_problems

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "config" / "fastdds_localhost.xml"
LOCAL = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_DOMAIN_ID": "42"}
NEW, OLD = "FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE"


@pytest.mark.parametrize("variable", [NEW, OLD])
def test_guard_accepts_either_profile_variable(variable: str) -> None:
    assert local_dds_problems({**LOCAL, variable: str(PROFILE)}) == []


@pytest.mark.parametrize("variable", [NEW, OLD])
def test_guard_refuses_a_missing_profile_in_either_variable(variable: str) -> None:
    other = OLD if variable == NEW else NEW
    problems = local_dds_problems({**LOCAL, other: str(PROFILE), variable: "/nonexistent/profile.xml"})
    assert len(problems) == 1 and variable in problems[0]


def _env_after_sourcing(extra: dict[str, str], prefix: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (NEW, OLD, "HAND_MESH_ROS_KEEP_DDS")}
    env.update(extra)
    script = "source tools/env.sh >/dev/null && env"
    if prefix is not None:  # a fake ROS prefix first on the path, as a sourced ROS install puts it
        script = f'export AMENT_PREFIX_PATH="{prefix}${{AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}}"; {script}'
    out = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def _venv_fastdds_major() -> str | None:
    lib = Path(sys.prefix) / "lib"  # the environment's venv (.venv, or .venv-jazzy)
    if any(lib.glob("libfastdds.so.3*")):
        return "3"
    if any(lib.glob("libfastrtps.so.2*")):
        return "2"
    return None


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="not in the checkout's venv (tools/setup_env.sh)")
def test_env_sh_sets_the_variable_of_the_installed_fast_dds(tmp_path: Path) -> None:
    if "ROS_DISTRO" not in os.environ:  # wheels: the venv's own Fast DDS decides
        major = _venv_fastdds_major()
        if major is not None:
            env = _env_after_sourcing({})
            want, other = (OLD, NEW) if major == "2" else (NEW, OLD)
            assert env.get(want) == str(PROFILE) and other not in env
    # A Fast DDS 2.x prefix (Jazzy's library name) ahead of the rest: the old variable, only.
    fake = tmp_path / "jazzy"
    (fake / "lib").mkdir(parents=True)
    (fake / "lib" / "libfastrtps.so.2.14.4").touch()
    env = _env_after_sourcing({}, prefix=fake)
    assert env.get(OLD) == str(PROFILE) and NEW not in env
    assert local_dds_problems(env) == []
    # HAND_MESH_ROS_KEEP_DDS=1 leaves the user's settings alone.
    env = _env_after_sourcing({"HAND_MESH_ROS_KEEP_DDS": "1", OLD: "/mine.xml"})
    assert env.get(OLD) == "/mine.xml" and NEW not in env
