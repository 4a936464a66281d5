#!/usr/bin/env bash
# The main job (README): both nodes on the generated hand sequence (or --video FILE / --camera-topics IMAGE
# INFO), after setting up what is needed; --depth adds a synthetic depth camera (the generated RGB-D sequence,
# its 16UC1 depth on the reconstruction node's depth_image). Arguments go to the demo (python -m
# hand_mesh_ros.tools.demo -h).
exec "$(dirname "${BASH_SOURCE[0]}")/with_env.sh" python -m hand_mesh_ros.tools.demo "$@"
