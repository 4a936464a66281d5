#!/usr/bin/env bash
# The test command (README, CI): sets up everything it needs, then lints and runs the whole test suite on
# loopback DDS. Extra arguments go to pytest.
set -euo pipefail
if [ -z "${HAND_MESH_ROS_IN_ENV:-}" ]; then
  HAND_MESH_ROS_IN_ENV=1 exec "$(dirname "${BASH_SOURCE[0]}")/with_env.sh" bash "${BASH_SOURCE[0]}" "$@"
fi
export HAND_MESH_ROS_REQUIRE_ROS=1   # a missing ROS layer is a failure here, not a skip
echo "[tests] ROS_DOMAIN_ID=$ROS_DOMAIN_ID ROS_AUTOMATIC_DISCOVERY_RANGE=$ROS_AUTOMATIC_DISCOVERY_RANGE"
echo "[tests] ruff check"
ruff check .
echo "[tests] pytest"
python -m pytest -p no:cacheprovider "$@"
