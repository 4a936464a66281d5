"""Caching the synthetic sequence as .npz: round trip, keys, and recovery from a bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.synthetic import VERSION, load_or_make_sequence, load_sequence, make_sequence, save_sequence
from hand_mesh_ros.synthetic.cache import cache_path


def test_round_trip(prepared: None, tmp_path: Path) -> None:
    seq = make_sequence(num_frames=4, width=160, height=120, seed=5)
    path = tmp_path / "s.npz"
    save_sequence(seq, path)
    back = load_sequence(path)
    assert len(back) == len(seq) and back.seed == 5 and back.version == VERSION and back.fps == seq.fps
    np.testing.assert_array_equal(back.camera.k, seq.camera.k)
    assert (back.width, back.height) == (160, 120)
    for a, b in zip(seq, back, strict=True):
        assert a.index == b.index and a.stamp_s == b.stamp_s
        np.testing.assert_array_equal(a.rgb, b.rgb)
        np.testing.assert_array_equal(a.hand_mask, b.hand_mask)
        assert [h.side for h in a.hands] == [h.side for h in b.hands]
        for ha, hb in zip(a.hands, b.hands, strict=True):
            np.testing.assert_array_equal(ha.joints, hb.joints)
            np.testing.assert_allclose(ha.joints_px, hb.joints_px, atol=1e-9)
            np.testing.assert_array_equal(ha.vertices, hb.vertices)
            np.testing.assert_array_equal(ha.faces, hb.faces)
            assert ha.hand_length_m == pytest.approx(hb.hand_length_m)


def test_load_or_make_writes_once_and_reuses(prepared: None, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    seq = load_or_make_sequence(tmp_path, num_frames=2, width=96, height=64, seed=1)
    path = cache_path(tmp_path, 2, 96, 64, 1)
    assert path.is_file() and f"v{VERSION}" in path.name
    assert "rendering" in capsys.readouterr().err
    mtime = path.stat().st_mtime_ns
    again = load_or_make_sequence(tmp_path, num_frames=2, width=96, height=64, seed=1)
    assert path.stat().st_mtime_ns == mtime and "rendering" not in capsys.readouterr().err
    np.testing.assert_array_equal(seq[1].rgb, again[1].rgb)
    assert cache_path(tmp_path, 2, 96, 64, 2) != path  # the seed is part of the key


def test_corrupt_or_foreign_cache_is_replaced(prepared: None, tmp_path: Path) -> None:
    path = cache_path(tmp_path, 2, 96, 64, 0)
    path.write_bytes(b"not an npz")
    seq = load_or_make_sequence(tmp_path, num_frames=2, width=96, height=64, seed=0)
    assert load_sequence(path).frames[0].rgb.shape == (64, 96, 3) and len(seq) == 2
    with np.load(path) as z:
        arrays = dict(z)
    arrays["version"] = np.array(VERSION + 100)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, **arrays)
    with pytest.raises(ValueError, match="version"):
        load_sequence(foreign)
