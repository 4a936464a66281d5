#!/usr/bin/env bash
# Run a command inside hand_mesh_ros' environment: set it up first (tools/setup_env.sh, cached after the
# first run; skipped for --help once it exists), source tools/env.sh (venv, ROS, loopback-only DDS), then
# exec the command.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# `--help` / `-h` with an environment already there: no setup check first (it takes seconds).
venv="$ROOT/.venv"; [ "${HAND_MESH_ROS_DISTRO:-kilted}" = jazzy ] && venv="$ROOT/.venv-jazzy"
help=0
for arg in "$@"; do case "$arg" in -h|--help) help=1 ;; esac; done
if [ "$help" = 0 ] || [ ! -x "$venv/bin/python" ]; then
  bash tools/setup_env.sh
fi
set +u
# shellcheck disable=SC1091
source tools/env.sh
set -u
exec "$@"
