"""Start our nodes as separate processes (the demo, the tests and the benchmark do; `ros2 launch` is the
normal way on a real ROS install). Every process inherits this environment, so it stays on loopback DDS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .local_dds import require_local_dds

NODES = {
    "detector_node": "hand_mesh_ros.ros.detector_node",
    "reconstruction_node": "hand_mesh_ros.ros.reconstruction_node",
    "retargeting_node": "hand_mesh_ros.ros.retargeting_node",
}


def node_command(executable: str, params_file: Path | None = None, remaps: Sequence[str] = (),
                 params: Sequence[str] = ()) -> list[str]:
    """The command line of one node process (``python -m`` of its module with ROS arguments)."""
    cmd = [sys.executable, "-m", NODES[executable], "--ros-args"]
    if params_file is not None:
        cmd += ["--params-file", str(params_file)]
    for r in remaps:
        cmd += ["-r", r]
    for p in params:
        cmd += ["-p", p]
    return cmd


class NodeProcesses:
    """Context manager running the detector and reconstruction nodes; logs go to ``log_dir``."""

    def __init__(self, params_file: Path | None = None, remaps: Sequence[str] = (),
                 params: dict[str, Sequence[str]] | None = None, log_dir: Path | None = None,
                 nodes: Sequence[str] = ("detector_node", "reconstruction_node")) -> None:
        require_local_dds()
        self.params_file, self.remaps, self.params = params_file, remaps, params or {}
        self.nodes = nodes
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="hand_mesh_ros_nodes_"))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> NodeProcesses:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in self.nodes:
            self._start(name)
        return self

    def _start(self, name: str) -> None:
        cmd = node_command(name, self.params_file, self.remaps, self.params.get(name, ()))
        with open(self.log_dir / f"{name}.log", "ab") as log:  # the child keeps its own handle
            self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def restart(self, name: str) -> None:
        """Stop node ``name`` as Ctrl-C would and start it again (its log continues in the same file)."""
        self._stop([self.procs[name]])
        self._start(name)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs.values())

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{(self.log_dir / f'{n}.log').read_text(errors='replace')[-3000:]}"
                         for n in self.procs)

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop(list(self.procs.values()))

    @staticmethod
    def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
