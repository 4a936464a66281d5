#!/usr/bin/env bash
# The main job (README): set up what is needed (cached after the first run), then run both nodes on the
# generated hand sequence (or on --video FILE / --camera-topics IMAGE INFO). Arguments go to the demo.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
set +u
# shellcheck disable=SC1091
source tools/env.sh
set -u
exec python -m hand_mesh_ros.ros.demo "$@"
