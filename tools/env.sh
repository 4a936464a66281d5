# Source this file (bash): `source tools/env.sh`. It puts hand_mesh_ros' environment on this shell:
# the checkout's .venv, the ROS packages (wheels in .venv, or your sourced ROS install), our colcon
# install space, the source tree first on PYTHONPATH, and DDS kept on this machine:
#   ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, a random ROS_DOMAIN_ID (unless one is set), and a Fast DDS
#   profile that binds to 127.0.0.1 with a shared-memory segment sized for full images.
# Set HAND_MESH_ROS_KEEP_DDS=1 beforehand to keep your own discovery settings (e.g. on a robot).

_hmr_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -x "$_hmr_root/.venv/bin/python" ]; then
  echo "hand_mesh_ros: no environment yet; run tools/setup_env.sh first" >&2
  return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
source "$_hmr_root/.venv/bin/activate"
if [ -z "${ROS_DISTRO:-}" ]; then
  # PyPI ROS wheels: the venv is the ROS prefix.
  case ":${AMENT_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;; esac
  case ":${CMAKE_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" ;; esac
fi
if [ -f "$_hmr_root/install/local_setup.bash" ]; then
  # shellcheck disable=SC1091
  COLCON_CURRENT_PREFIX="$_hmr_root/install" source "$_hmr_root/install/local_setup.bash"
fi
case ":${PYTHONPATH:-}:" in *":$_hmr_root:"*) ;; *)
  export PYTHONPATH="$_hmr_root${PYTHONPATH:+:$PYTHONPATH}" ;; esac
export HAND_MESH_ROS_CACHE="${HAND_MESH_ROS_CACHE:-$_hmr_root/.cache}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
if [ "${HAND_MESH_ROS_KEEP_DDS:-0}" != 1 ]; then
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
  export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( (RANDOM % 100) + 1 ))}"
  export FASTDDS_DEFAULT_PROFILES_FILE="$_hmr_root/config/fastdds_localhost.xml"
fi
unset _hmr_root
