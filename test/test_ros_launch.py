"""The real `ros2 launch` of the shipped launch file, as a user runs it, end to end.

`ros2 launch hand_mesh_ros hand_mesh.launch.py namespace:=robot1 config_file:=<copy with one change>`:
both nodes come up under /robot1, generated two-hand frames go in on /robot1/image and /robot1/camera_info,
HandArray messages come out on /robot1/hands, `ros2 param describe/get` see the declared parameter and the
changed value, and one Ctrl-C (SIGINT to the launch's process group, as a terminal sends it) stops
everything cleanly: exit code 0, no traceback, both nodes "finished cleanly". Needs the launch system and
the ros2 CLI (a ROS install, or the upstream extras that tools/setup_env.sh adds to the wheels); skipped
without them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "robot1"
HAND_LENGTH = 0.171  # the generated hands' length; the shipped default is 0.187
STARTUP_S = 20.0


def _ros2_or_skip() -> str:
    ros2 = shutil.which("ros2")
    if ros2 is None or importlib.util.find_spec("launch_ros") is None:
        pytest.skip("the ros2 CLI / launch_ros are not installed (tools/setup_env.sh adds them from ../shared/ros)")
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        get_package_share_directory("hand_mesh_ros")
    except PackageNotFoundError:
        pytest.fail("ros2 is installed but hand_mesh_ros is not in the ament index: source tools/env.sh")
    return ros2


def _ros2(ros2: str, *args: str) -> subprocess.Popen[str]:
    # Without the daemon (none is left behind); discovery needs the spin time.
    return subprocess.Popen([ros2, *args, "--no-daemon", "--spin-time", "3"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.ros
def test_ros2_launch_namespace_config_params_and_clean_sigint(  # type: ignore[no-untyped-def]
        ros_context, ros_messages, prepared, tmp_path: Path) -> None:
    ros2 = _ros2_or_skip()
    import rclpy
    from hand_mesh_ros.msg import HandArray
    from rclpy.executors import SingleThreadedExecutor

    from hand_mesh_ros.ros.qos import RESULTS
    from hand_mesh_ros.synthetic import load_or_make_sequence
    from hand_mesh_ros.tools.player import FramePlayer

    config = yaml.safe_load((REPO / "config" / "hand_mesh.yaml").read_text())
    config["/**/hand_reconstruction"]["ros__parameters"]["hand_length_m"] = HAND_LENGTH
    params = tmp_path / "hand_mesh.yaml"
    params.write_text(yaml.safe_dump(config))
    seq = load_or_make_sequence()  # cached; the second half shows both hands
    half = len(seq) // 2
    frames = list(seq)[half - 4:]  # one hand, then both (the second is found at the next palm detection)

    log_path = tmp_path / "launch.log"
    with log_path.open("w") as log:
        # Its own session and process group (a script's background child would ignore SIGINT otherwise), so
        # the Ctrl-C below reaches exactly this launch and its nodes.
        launch = subprocess.Popen(
            [ros2, "launch", "hand_mesh_ros", "hand_mesh.launch.py", f"namespace:={NAMESPACE}",
             f"config_file:={params}", f"image:=/{NAMESPACE}/image", f"camera_info:=/{NAMESPACE}/camera_info"],
            stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    node = rclpy.create_node("launch_test_driver", context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    received: list[Any] = []
    node.create_subscription(HandArray, f"/{NAMESPACE}/hands", received.append, RESULTS)
    player = FramePlayer(node, image_topic=f"/{NAMESPACE}/image", info_topic=f"/{NAMESPACE}/camera_info")
    try:
        # Lock-step: one frame in flight; a frame sent before the nodes are up is sent again.
        deadline = time.monotonic() + STARTUP_S
        answered: list[Any] = []
        stamp_ns = 1_000_000_000
        index = 0
        while (index < len(frames) and time.monotonic() < deadline and launch.poll() is None
               and not (index >= 8 and len(answered[-1].hands) == 2)):
            stamp_ns += 33_000_000
            header = player.publish(frames[index].rgb, seq.camera, stamp_ns)
            wait_until = time.monotonic() + (3.0 if answered else 0.5)
            while time.monotonic() < wait_until and not any(m.header.stamp == header.stamp for m in received):
                executor.spin_once(timeout_sec=0.02)
            match = [m for m in received if m.header.stamp == header.stamp]
            if match:
                answered.append(match[0])
                index += 1
        assert launch.poll() is None, "ros2 launch exited early:\n" + log_path.read_text()[-4000:]
        assert answered and len(answered[-1].hands) == 2, (
            f"{[len(m.hands) for m in answered]} hands in the answers on /{NAMESPACE}/hands\n"
            + log_path.read_text()[-4000:])
        assert all(m.header.frame_id == "camera_optical_frame" for m in answered)
        assert len(answered[0].hands) == 1

        # The ros2 CLI sees the namespaced node, the declared parameter and the value from config_file.
        target = f"/{NAMESPACE}/hand_reconstruction"
        describe = _ros2(ros2, "param", "describe", target, "hand_length_m")
        get = _ros2(ros2, "param", "get", target, "hand_length_m")
        described, _ = describe.communicate(timeout=30)
        got, _ = get.communicate(timeout=30)
        assert describe.returncode == 0 and "Parameter name: hand_length_m" in described, described
        assert "Type: double" in described and "Description:" in described, described
        assert get.returncode == 0 and f"Double value is: {HAND_LENGTH}" in got, got
    finally:
        executor.shutdown()
        node.destroy_node()
        if launch.poll() is None:
            started = time.monotonic()
            # One Ctrl-C in a terminal: SIGINT to the whole foreground process group (launch and both nodes),
            # and launch forwards one more to each node, so a node sees two in a row.
            os.killpg(launch.pid, signal.SIGINT)
            try:
                launch.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(launch.pid, signal.SIGKILL)
                launch.wait()
            stop_s = time.monotonic() - started
        else:
            stop_s = 0.0
    out = log_path.read_text()
    assert launch.returncode == 0, f"ros2 launch exit code {launch.returncode}\n{out[-4000:]}"
    assert "Traceback" not in out and "process has died" not in out, out[-4000:]
    assert out.count("process has finished cleanly") == 2, out[-4000:]
    assert stop_s < 10.0, f"stopping took {stop_s:.1f} s"
