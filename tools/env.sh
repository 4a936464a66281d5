# Source this file (bash): `source tools/env.sh`. It puts hand_mesh_ros' environment on this shell:
# the checkout's .venv, the ROS packages (wheels in .venv, or your sourced ROS install), our colcon
# install space, the source tree first on PYTHONPATH, and DDS kept on this machine:
#   ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, a random ROS_DOMAIN_ID (unless one is set), and a Fast DDS
#   profile that binds to 127.0.0.1 with a shared-memory segment sized for full images (in the variable the
#   installed Fast DDS reads: FASTRTPS_DEFAULT_PROFILES_FILE for 2.x, FASTDDS_DEFAULT_PROFILES_FILE for 3).
# Set HAND_MESH_ROS_KEEP_DDS=1 beforehand to keep your own discovery settings (e.g. on a robot).
# HAND_MESH_ROS_DISTRO=jazzy selects the Jazzy environment (.venv-jazzy, install-jazzy) of tools/setup_env.sh.

_hmr_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${HAND_MESH_ROS_DISTRO:-kilted}" in
  kilted) _hmr_suffix="" ;;
  jazzy) _hmr_suffix="-jazzy" ;;
  *) echo "hand_mesh_ros: HAND_MESH_ROS_DISTRO must be kilted or jazzy" >&2; return 1 2>/dev/null || exit 1 ;;
esac
if [ ! -x "$_hmr_root/.venv$_hmr_suffix/bin/python" ]; then
  echo "hand_mesh_ros: no environment yet; run tools/setup_env.sh first" >&2
  return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
source "$_hmr_root/.venv$_hmr_suffix/bin/activate"
if [ -z "${ROS_DISTRO:-}" ]; then
  # PyPI ROS wheels: the venv is the ROS prefix.
  case ":${AMENT_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;; esac
  case ":${CMAKE_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" ;; esac
fi
if [ -f "$_hmr_root/install$_hmr_suffix/local_setup.bash" ]; then
  # shellcheck disable=SC1091
  COLCON_CURRENT_PREFIX="$_hmr_root/install$_hmr_suffix" source "$_hmr_root/install$_hmr_suffix/local_setup.bash"
fi
case ":${PYTHONPATH:-}:" in *":$_hmr_root:"*) ;; *)
  export PYTHONPATH="$_hmr_root${PYTHONPATH:+:$PYTHONPATH}" ;; esac
export HAND_MESH_ROS_CACHE="${HAND_MESH_ROS_CACHE:-$_hmr_root/.cache}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
if [ "${HAND_MESH_ROS_KEEP_DDS:-0}" != 1 ]; then
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
  if [ -z "${ROS_DOMAIN_ID:-}" ]; then
    export ROS_DOMAIN_ID=$(( (RANDOM % 100) + 1 ))
    # A second terminal must use the same domain to see these nodes: say which one (interactive shells only).
    if [ -t 2 ]; then
      echo "hand_mesh_ros: ROS_DOMAIN_ID=$ROS_DOMAIN_ID (random, loopback only); in another terminal:" \
        "export ROS_DOMAIN_ID=$ROS_DOMAIN_ID before sourcing tools/env.sh" >&2
    fi
  fi
  # Fast DDS 2.x (Humble, Jazzy) reads the XML profile only from FASTRTPS_DEFAULT_PROFILES_FILE; Fast DDS 3
  # (Kilted on) reads FASTDDS_DEFAULT_PROFILES_FILE and warns about the old name. Set the one the installed
  # Fast DDS reads (its library: libfastdds.so.3 or libfastrtps.so.2 in a ROS prefix; else by ROS_DISTRO).
  _hmr_fastdds=""
  _hmr_ifs="$IFS"; IFS=:
  for _hmr_prefix in ${AMENT_PREFIX_PATH:-}; do
    if compgen -G "$_hmr_prefix/lib/libfastdds.so.3*" > /dev/null; then _hmr_fastdds=3; break; fi
    if compgen -G "$_hmr_prefix/lib/libfastrtps.so.2*" > /dev/null; then _hmr_fastdds=2; break; fi
  done
  IFS="$_hmr_ifs"
  if [ -z "$_hmr_fastdds" ]; then
    case "${ROS_DISTRO:-}" in humble|iron|jazzy) _hmr_fastdds=2 ;; *) _hmr_fastdds=3 ;; esac
  fi
  if [ "$_hmr_fastdds" = 2 ]; then
    export FASTRTPS_DEFAULT_PROFILES_FILE="$_hmr_root/config/fastdds_localhost.xml"
    unset FASTDDS_DEFAULT_PROFILES_FILE
  else
    export FASTDDS_DEFAULT_PROFILES_FILE="$_hmr_root/config/fastdds_localhost.xml"
    unset FASTRTPS_DEFAULT_PROFILES_FILE
  fi
  unset _hmr_fastdds _hmr_ifs _hmr_prefix
fi
unset _hmr_root _hmr_suffix
