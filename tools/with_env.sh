#!/usr/bin/env bash
# Run a command inside hand_mesh_ros' environment: set it up first (tools/setup_env.sh, cached after the
# first run), source tools/env.sh (venv, ROS, loopback-only DDS), then exec the command.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
set +u
# shellcheck disable=SC1091
source tools/env.sh
set -u
exec "$@"
