"""Check the launch file statically against the package (no `launch` needed; test_ros_launch.py runs it).

Every executable it starts exists (installed from scripts/ by CMakeLists.txt), every file it names is
installed, every parameter it sets is declared by the node, and config/hand_mesh.yaml holds exactly the
declared parameters with their defaults.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from hand_mesh_ros.reconstruction.config import ReconstructionConfig
from hand_mesh_ros.ros.node_config import DetectorConfig, ReconstructionNodeConfig, RetargetingNodeConfig
from hand_mesh_ros.settings import settings_of

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "launch" / "hand_mesh.launch.py"
DECLARED = {
    "hand_detector": {s.name: s for s in settings_of(DetectorConfig)},
    "hand_reconstruction": {s.name: s for t in (ReconstructionConfig, ReconstructionNodeConfig)
                            for s in settings_of(t)},
    "hand_retargeting": {s.name: s for s in settings_of(RetargetingNodeConfig)},
}
EXECUTABLE_NODE = {"detector_node": "hand_detector", "reconstruction_node": "hand_reconstruction",
                   "retargeting_node": "hand_retargeting"}


def _kwargs(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def _node_calls(tree: ast.AST) -> list[dict[str, ast.expr]]:
    return [_kwargs(n) for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Node"]


def _overrides(tree: ast.AST) -> set[str]:
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "overrides" for t in n.targets):
            assert isinstance(n.value, ast.Dict)
            return {k.value for k in n.value.keys if isinstance(k, ast.Constant)}
    return set()


def _comprehension_dict_keys(tree: ast.AST, name: str) -> set[str]:
    """The keys of the dict literals a comprehension variable ``name`` iterates over (a node started in variants,
    as the retargeting node with and without urdf_dir)."""
    keys: set[str] = set()
    for comp in (n for n in ast.walk(tree) if isinstance(n, ast.comprehension)):
        if name in {t.id for t in ast.walk(comp.target) if isinstance(t, ast.Name)}:
            for d in (n for n in ast.walk(comp.iter) if isinstance(n, ast.Dict)):
                keys |= {k.value for k in d.keys if isinstance(k, ast.Constant)}
    assert keys, f"parameters {name!r} of a node: no dict literal found for it"
    return keys


def test_launch_file_references_exist() -> None:
    tree = ast.parse(LAUNCH.read_text())
    nodes = _node_calls(tree)
    ours = [n for n in nodes if ast.literal_eval(n["package"]) == "hand_mesh_ros"]
    assert {ast.literal_eval(n["executable"]) for n in ours} == set(EXECUTABLE_NODE)
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert "scripts/*" in cmake and "lib/${PROJECT_NAME}" in cmake
    for n in ours:
        exe = ast.literal_eval(n["executable"])
        script = REPO / "scripts" / exe
        assert script.is_file() and script.stat().st_mode & 0o111, f"{script} missing or not executable"
        assert ast.literal_eval(n["name"]) == EXECUTABLE_NODE[exe]
    overrides = _overrides(tree)
    assert overrides, "the launch file's parameter overrides were not found"
    for n in ours:  # every parameter a node gets from the launch file (the shared overrides, its own dict)
        node_name = ast.literal_eval(n["name"])
        params = n["parameters"]
        assert isinstance(params, ast.List)
        names: set[str] = set()
        for e in params.elts:
            if isinstance(e, ast.Name) and e.id == "overrides":
                names |= overrides
            elif isinstance(e, ast.Dict):
                names |= {k.value for k in e.keys if isinstance(k, ast.Constant)}
            elif isinstance(e, ast.Name) and e.id not in ("config_file", "sim_time"):
                names |= _comprehension_dict_keys(tree, e.id)
        declared = set(DECLARED[node_name])
        assert names <= declared, f"{node_name} does not declare {names - declared}"
    source = LAUNCH.read_text()
    for rel in ('"config" / "hand_mesh.yaml"', '"rviz" / "hand_mesh.rviz"'):
        assert rel in source
    assert (REPO / "config" / "hand_mesh.yaml").is_file() and (REPO / "rviz" / "hand_mesh.rviz").is_file()
    for d in ("launch", "config", "rviz"):
        assert d in cmake


def test_yaml_holds_the_declared_defaults() -> None:
    data = yaml.safe_load((REPO / "config" / "hand_mesh.yaml").read_text())
    # Sections keyed /**/<node>: they apply under any namespace (a bare node name would not).
    assert set(data) == {f"/**/{name}" for name in DECLARED}
    for node_name, declared in DECLARED.items():
        values = data[f"/**/{node_name}"]["ros__parameters"]
        assert set(values) == set(declared), f"{node_name}: YAML and declared parameters differ"
        for name, value in values.items():
            assert value == declared[name].default, f"{node_name}.{name}: YAML {value!r} != default"
            assert declared[name].check(value) is None


def _declared_arguments(tree: ast.AST) -> dict[str, ast.Call]:
    return {ast.literal_eval(n.args[0]): n for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "DeclareLaunchArgument"}


def test_use_sim_time_reaches_every_node() -> None:
    """`use_sim_time:=true` (for `ros2 bag play --clock`) sets rclpy's use_sim_time on every node, as a bool."""
    tree = ast.parse(LAUNCH.read_text())
    args = _declared_arguments(tree)
    assert "use_sim_time" in args
    assert ast.literal_eval(_kwargs(args["use_sim_time"])["default_value"]) == "false"
    sim_time = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "sim_time" for t in n.targets))
    assert isinstance(sim_time, ast.Dict) and [ast.literal_eval(k) for k in sim_time.keys if k] == ["use_sim_time"]
    value = sim_time.values[0]
    assert isinstance(value, ast.Call) and ast.unparse(value.func) == "ParameterValue"
    assert ast.unparse(value.args[0]) == "LaunchConfiguration('use_sim_time')"
    assert ast.unparse(_kwargs(value)["value_type"]) == "bool"
    for node in _node_calls(tree):
        params = node["parameters"]
        assert isinstance(params, ast.List) and "sim_time" in [ast.unparse(e) for e in params.elts], \
            f"{ast.unparse(node['executable'])} does not get use_sim_time"
    # Not one of our own settings: rclpy declares it on every node.
    assert all("use_sim_time" not in declared for declared in DECLARED.values())


def test_docstring_lists_every_argument() -> None:
    source = LAUNCH.read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    for name in _declared_arguments(ast.parse(source)):
        assert name in doc, f"launch argument {name} missing from the launch file's docstring"


def test_tool_help_shows_defaults_without_setting_up() -> None:
    """`tools/run_demo.sh --help` answers at once (no setup check) and names the defaults."""
    import subprocess
    import time

    start = time.monotonic()
    proc = subprocess.run([str(REPO / "tools" / "run_demo.sh"), "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "[setup" not in proc.stderr  # the setup step did not run
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    assert "(default: 60)" in text and "(default: 15.0)" in text
    assert time.monotonic() - start < 20
