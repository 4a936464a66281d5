#!/usr/bin/env bash
# The test command (README, CI): sets up everything it needs (tools/setup_env.sh, cached after the
# first run), then lints and runs the whole test suite on loopback DDS. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
set +u
# shellcheck disable=SC1091
source tools/env.sh
set -u
export HAND_MESH_ROS_REQUIRE_ROS=1   # a missing ROS layer is a failure here, not a skip
echo "[tests] ROS_DOMAIN_ID=$ROS_DOMAIN_ID ROS_AUTOMATIC_DISCOVERY_RANGE=$ROS_AUTOMATIC_DISCOVERY_RANGE"
echo "[tests] ruff check"
ruff check .
echo "[tests] pytest"
python -m pytest -p no:cacheprovider "$@"
