"""MANO loading: the restricted unpickler, conversion, caching, the left-hand fix and the MANO forward pass.

Synthetic MANO-format pickles are built here (random values, the real keys, shapes and dtypes); chumpy and
scipy objects are emulated by tiny classes registered under their module names while pickling.
"""

from __future__ import annotations

import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.handmodel import HandModel, UnsafePickleError, load_hand_model, load_mano, read_mano_pickle
from hand_mesh_ros.handmodel.constants import MANO_PARENTS, MANO_TIP_VERTICES, TIP_KEYPOINTS


class FakeCh:
    """Pickles like chumpy.ch.Ch (its state is its __dict__ with the array in 'x' and a set)."""

    __module__ = "chumpy.ch"
    __qualname__ = "Ch"

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self._dirty_vars = {"x"}
        self._itr = None


class FakeCsc:
    """Pickles like scipy.sparse.csc_matrix (state: data, indices, indptr, _shape)."""

    __module__ = "scipy.sparse.csc"
    __qualname__ = "csc_matrix"

    def __init__(self, dense: np.ndarray) -> None:
        rows, cols = dense.shape
        data, indices, indptr = [], [], [0]
        for c in range(cols):
            nz = np.nonzero(dense[:, c])[0]
            indices.extend(nz.tolist())
            data.extend(dense[nz, c].tolist())
            indptr.append(len(indices))
        self.data = np.asarray(data)
        self.indices = np.asarray(indices, dtype=np.int32)
        self.indptr = np.asarray(indptr, dtype=np.int32)
        self._shape = (rows, cols)
        self.maxprint = 50


@pytest.fixture()
def fake_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the fake classes as chumpy.ch.Ch and scipy.sparse.csc.csc_matrix (the names in MANO files)."""
    for parent in ("chumpy", "scipy", "scipy.sparse"):
        monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
    for mod_name, cls, name in (("chumpy.ch", FakeCh, "Ch"), ("scipy.sparse.csc", FakeCsc, "csc_matrix")):
        mod = types.ModuleType(mod_name)
        setattr(mod, name, cls)
        monkeypatch.setitem(sys.modules, mod_name, mod)


def synthetic_mano_arrays(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.normal(scale=0.05, size=(778, 3))
    j_reg = np.zeros((16, 778))
    for j in range(16):  # each joint: mean of a few vertices (sparse, rows sum to 1)
        ids = rng.choice(778, size=6, replace=False)
        j_reg[j, ids] = 1.0 / 6.0
    weights = rng.uniform(size=(778, 16)) ** 4
    weights /= weights.sum(axis=1, keepdims=True)
    return {
        "v_template": v,
        "f": rng.integers(0, 778, size=(1538, 3)).astype(np.uint32),
        "J_regressor": j_reg,
        "weights": weights,
        "posedirs": rng.normal(scale=1e-3, size=(778, 3, 135)),
        "shapedirs": rng.normal(scale=1e-3, size=(778, 3, 10)),
        "kintree_table": np.stack([np.where(MANO_PARENTS < 0, 4294967295, MANO_PARENTS), np.arange(16)]),
        "hands_components": rng.normal(size=(45, 45)),
        "hands_mean": rng.normal(scale=0.1, size=45),
    }


def write_mano(path: Path, arrays: dict[str, np.ndarray], protocol: int = 2) -> None:
    obj = dict(arrays)
    obj["shapedirs"] = FakeCh(arrays["shapedirs"])
    obj["J_regressor"] = FakeCsc(arrays["J_regressor"])
    obj["bs_style"] = "lbs"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


@pytest.mark.parametrize("protocol", [0, 2])
def test_reads_chumpy_and_sparse_without_them(tmp_path: Path, fake_modules: None, protocol: int) -> None:
    arrays = synthetic_mano_arrays(0)
    write_mano(tmp_path / "MANO_RIGHT.pkl", arrays, protocol)
    got = read_mano_pickle(tmp_path / "MANO_RIGHT.pkl")
    for key, value in arrays.items():
        np.testing.assert_allclose(got[key].astype(np.float64), value.astype(np.float64), err_msg=key)


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_refuses_code_execution(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(pickle.dumps({"v_template": _Evil(marker)}, protocol=2))
    with pytest.raises(UnsafePickleError, match="refusing to load global"):
        read_mano_pickle(path)
    assert not marker.exists()
    # sanity: the same pickle really would run the command with the stock unpickler
    pickle.loads(path.read_bytes())
    assert marker.exists()


def test_refuses_other_globals(tmp_path: Path) -> None:
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"f": Path("/etc/passwd")}, protocol=2))
    with pytest.raises(UnsafePickleError):
        read_mano_pickle(path)


def test_bad_shapes_and_missing_files(tmp_path: Path, fake_modules: None) -> None:
    arrays = synthetic_mano_arrays(1)
    arrays["weights"] = arrays["weights"][:, :15]
    write_mano(tmp_path / "MANO_RIGHT.pkl", arrays)
    with pytest.raises(ValueError, match="weights has shape"):
        read_mano_pickle(tmp_path / "MANO_RIGHT.pkl")
    with pytest.raises(FileNotFoundError, match=r"MANO_LEFT\.pkl"):
        load_mano(tmp_path, "left")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="not a readable MANO pickle"):
        read_mano_pickle(tmp_path / "junk.pkl")


def test_conversion_cache_left_fix_and_forward(
    tmp_path: Path, fake_modules: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAND_MESH_ROS_CACHE", str(tmp_path / "cache"))
    arrays = synthetic_mano_arrays(2)
    write_mano(tmp_path / "MANO_RIGHT.pkl", arrays)
    write_mano(tmp_path / "MANO_LEFT.pkl", arrays)
    right = load_mano(tmp_path, "right")
    left = load_mano(tmp_path, "left")
    assert list((tmp_path / "cache" / "mano").glob("*.npz"))
    np.testing.assert_allclose(right.shapedirs, arrays["shapedirs"])
    np.testing.assert_allclose(left.shapedirs[:, 0], -arrays["shapedirs"][:, 0])
    np.testing.assert_allclose(left.shapedirs[:, 1:], arrays["shapedirs"][:, 1:])
    # a corrected left file (x component already the negated right one) is left alone
    fixed = dict(arrays)
    fixed["shapedirs"] = arrays["shapedirs"] * np.array([-1.0, 1.0, 1.0])[None, :, None]
    other = tmp_path / "corrected"
    other.mkdir()
    write_mano(other / "MANO_RIGHT.pkl", arrays)
    write_mano(other / "MANO_LEFT.pkl", fixed)
    np.testing.assert_allclose(load_mano(other, "left").shapedirs, fixed["shapedirs"])
    # second load comes from the cache, identical
    again = load_mano(tmp_path, "right")
    np.testing.assert_array_equal(again.v_template, right.v_template)

    model = load_hand_model("right", str(tmp_path))
    assert model.name == "mano"
    rest = model(with_vertices=True)
    v = arrays["v_template"]
    np.testing.assert_allclose(rest.vertices[0], v, atol=1e-12)  # zero pose: no pose blend shapes
    kp = rest.keypoints[0]
    np.testing.assert_allclose(kp[TIP_KEYPOINTS], v[list(MANO_TIP_VERTICES)], atol=1e-12)
    np.testing.assert_allclose(kp[0], arrays["J_regressor"][0] @ v, atol=1e-12)
    # posed: the fingertip keypoints follow the skinned tip vertices up to the tip vertex's skin weights and
    # pose blend shapes; with one-hot skinning they coincide exactly
    out = model.outputs(rest)[0]
    assert out.model == "mano" and out.side == "right" and out.vertices.shape == (778, 3)


def test_mano_pose_blend_shapes_and_pca(
    tmp_path: Path, fake_modules: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAND_MESH_ROS_CACHE", str(tmp_path / "cache"))
    arrays = synthetic_mano_arrays(3)
    write_mano(tmp_path / "MANO_RIGHT.pkl", arrays)
    data = load_mano(tmp_path, "right")
    model = HandModel(data, flat_hand_mean=False)
    coeffs = np.random.default_rng(0).normal(size=(2, 6))
    by_pca = model(hand_pose_pca=coeffs)
    full = coeffs @ arrays["hands_components"][:6]
    by_full = model(hand_pose=full)
    np.testing.assert_allclose(by_pca.vertices, by_full.vertices, atol=1e-12)
    # mean hand (flat_hand_mean=False, zero pose) is posed, so vertices move away from the template
    assert float(np.abs(model().vertices[0] - model.v_template).max()) > 1e-4
    # pose blend shapes: posed minus the same pose without them is nonzero
    no_pd = HandModel(
        type(data)(**{**data.__dict__, "posedirs": np.zeros((778, 3, 0))}),
        flat_hand_mean=False,
    )
    diff = np.abs(no_pd(hand_pose=full).vertices - by_full.vertices).max()
    assert float(diff) > 1e-5
