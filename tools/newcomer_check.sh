#!/usr/bin/env bash
# What a newcomer does in the first hour, on a fresh clone in a temporary folder, timed step by step:
#   setup, the demo, the demo on the ASL video, bag_report on both bags, the README's Python snippet on three
#   gesture photos in a loop (hands in each), and `ros2 launch` in a namespace with Ctrl-C (when the ROS tools
#   are installed). Exits 0 only if every step succeeds. CI runs it after the test suite.
#
#   tools/newcomer_check.sh [REPO]     (default: this checkout's committed HEAD; real data from
#                                       $HAND_MESH_ROS_DATA or ../shared/data beside REPO)
set -uo pipefail
case "${1:-}" in -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
SRC="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
DATA="${HAND_MESH_ROS_DATA:-$(dirname "$SRC")/shared/data}"
WORK="$(mktemp -d /tmp/hand_mesh_ros_newcomer_XXXXXX)"
CLONE="$WORK/hand_mesh_ros"
LOG="$WORK/log"
mkdir -p "$LOG"
declare -a NAMES=() TIMES=() RESULTS=()
failed=0

step() {  # step NAME COMMAND...: run it in the clone, time it, keep its output in $LOG/NAME.log
  local name="$1"; shift
  local start end rc
  printf '[newcomer] %-28s ... ' "$name"
  start=$(date +%s)
  (cd "$CLONE" && "$@") >"$LOG/$name.log" 2>&1
  rc=$?
  end=$(date +%s)
  NAMES+=("$name"); TIMES+=("$((end - start))")
  if [ $rc -eq 0 ]; then RESULTS+=("ok"); echo "ok (${TIMES[-1]} s)"
  else RESULTS+=("FAILED ($rc)"); failed=1; echo "FAILED (exit $rc, ${TIMES[-1]} s); last lines:"
       tail -n 25 "$LOG/$name.log" | sed 's/^/    /'; fi
  return $rc
}

skip() { NAMES+=("$1"); TIMES+=("-"); RESULTS+=("skipped: $2"); echo "[newcomer] $1: skipped ($2)"; }

echo "[newcomer] fresh clone of $SRC in $WORK"
git clone -q "$SRC" "$CLONE" || exit 1
# Beside the clone, as beside the checkout: ../shared (the ROS extras' sources, setup installs them) and the data.
if [ -d "$(dirname "$SRC")/shared" ]; then ln -s "$(cd "$(dirname "$SRC")/shared" && pwd)" "$WORK/shared"; fi
if [ -d "$DATA" ]; then export HAND_MESH_ROS_DATA="$DATA"; fi

step setup tools/setup_env.sh || { echo "[newcomer] setup failed: nothing else can run"; exit 1; }
step demo tools/run_demo.sh
step demo_report tools/with_env.sh python -m hand_mesh_ros.evaluation.bag_report out/demo/demo_bag \
  --out out/demo/report

ASL="$DATA/mediapipe_reference/asl_hand.25fps.mp4"
if [ -f "$ASL" ]; then
  step video_demo tools/run_demo.sh --video "$ASL"
  step video_report tools/with_env.sh python -m hand_mesh_ros.evaluation.bag_report \
    "out/demo_$(basename "${ASL%.*}")/demo_bag" --out "out/demo_$(basename "${ASL%.*}")/report"
else
  skip video_demo "no $ASL"; skip video_report "no video bag"
fi

PHOTOS="$DATA/gesture_photos"
if [ -d "$PHOTOS" ]; then
  step readme_snippet tools/with_env.sh python - "$PHOTOS" <<'PY'
# The README's Python snippet, as a user would paste it, on three different photos in a loop.
import re, subprocess, sys
from pathlib import Path

code = re.search(r"```python\n(.*?)```", Path("README.md").read_text(), re.S).group(1)
photos = sorted(Path(sys.argv[1]).glob("*.jpg"))
first_of_kind = {}
for p in photos:  # gesture_photos/<gesture>_<id>.jpg: one photo of each of three gestures
    first_of_kind.setdefault(p.name.split("_")[0], p)
picked = list(first_of_kind.values())[:3]
assert len(picked) == 3, f"need photos of three gestures in {sys.argv[1]}"
loop = "for path in " + repr([str(p) for p in picked]) + ":\n" + "\n".join(
    "    " + line for line in code.replace('path = "photo.jpg"\n', "").splitlines())
out = subprocess.run([sys.executable, "-c", loop], capture_output=True, text=True)
print(out.stdout, out.stderr)
counts = [int(m) for m in re.findall(r"^(\d+) hand\(s\) in ", out.stdout, re.M)]
assert out.returncode == 0 and len(counts) == 3 and all(counts), f"hands per photo: {counts}"
print(f"hands per photo: {counts}")
PY
else
  skip readme_snippet "no $PHOTOS"
fi

if (cd "$CLONE" && tools/with_env.sh bash -c 'command -v ros2 && python -c "import launch_ros"') >/dev/null 2>&1; then
  step ros2_launch tools/with_env.sh python - <<'PY'
# ros2 launch in a namespace: both nodes become active, then one Ctrl-C ends everything with exit code 0.
import os, signal, subprocess, threading, time

proc = subprocess.Popen(["ros2", "launch", "hand_mesh_ros", "hand_mesh.launch.py", "namespace:=newcomer"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
lines = []
reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
reader.start()
deadline = time.monotonic() + 90
while time.monotonic() < deadline and proc.poll() is None \
        and sum("active: subscribed to" in line for line in lines) < 2:
    time.sleep(0.2)
active = sum("active: subscribed to" in line for line in lines)
os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
try:
    proc.wait(timeout=30)
except subprocess.TimeoutExpired:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
reader.join(timeout=5)
print("".join(lines[-40:]))
assert active == 2, "the two nodes did not both become active"
assert proc.returncode == 0, f"ros2 launch exited {proc.returncode} after Ctrl-C"
assert not any("Traceback" in line for line in lines), "a traceback on shutdown"
PY
else
  skip ros2_launch "the ROS tools (ros2, launch_ros) are not installed"
fi

echo
echo "[newcomer] step times (logs in $LOG):"
for i in "${!NAMES[@]}"; do printf '  %-16s %6s s  %s\n' "${NAMES[$i]}" "${TIMES[$i]}" "${RESULTS[$i]}"; done
rm -rf "$CLONE"  # a few GB; the logs stay in $LOG
if [ $failed -eq 0 ]; then echo "[newcomer] all steps passed"; else echo "[newcomer] FAILED (logs in $LOG)"; fi
exit $failed
