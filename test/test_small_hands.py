"""Finding small (far) hands: the tiles and the region of interest of the palm search, and a hand at 6 % of the
image's long side found with ``small_hands`` on but not off."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.perception.palm_search import PalmSearch, parse_roi, roi_pixels, tile_regions, tiles_per_side
from hand_mesh_ros.perception.types import HandRegion, PalmDetection


def test_roi_and_tiles() -> None:
    assert parse_roi("") is None and parse_roi(" 0.1, 0.2,0.9,1 ") == (0.1, 0.2, 0.9, 1.0)
    for bad in ("1,2,3", "a,b,c,d", "0.5,0,0.4,1", "-1,0,1,1"):
        with pytest.raises(ValueError, match="detection_roi"):
            parse_roi(bad)
    assert roi_pixels((0.25, 0.0, 0.75, 0.5), 640, 480) == (160.0, 0.0, 480.0, 240.0)
    assert roi_pixels((100.0, 50.0, 2000.0, 300.0), 640, 480) == (100.0, 50.0, 640.0, 300.0)  # pixels, clipped
    with pytest.raises(ValueError, match="covers less than a pixel"):
        roi_pixels((700.0, 0.0, 800.0, 100.0), 640, 480)
    assert tiles_per_side("off") == 0 and tiles_per_side("auto") == 3 and tiles_per_side("tiles4") == 4
    for w, h in ((640, 480), (1280, 720), (384, 683)):
        tiles = tile_regions((0.0, 0.0, float(w), float(h)), 3)
        side = tiles[0].w
        assert side == pytest.approx(max(w, h) / 3 * 1.25) or side == pytest.approx(min(w, h))
        ys, xs = np.mgrid[0:h:7, 0:w:7]  # every pixel of the image is inside some tile
        covered = np.zeros(xs.shape, bool)
        for t in tiles:
            covered |= (np.abs(xs - t.cx) <= t.w / 2) & (np.abs(ys - t.cy) <= t.h / 2)
        assert covered.all() and len(tiles) <= 9


class _FakePalms:
    """Stands in for PalmModel: one palm at each of ``hits`` that lies inside the tile it is asked to search."""

    def __init__(self, hits: list[tuple[float, float]], whole: bool = False) -> None:
        self.hits, self.whole = hits, whole  # whole: the whole-image pass finds a (big) palm too
        self.calls: list[HandRegion | None] = []

    def detect(self, image: np.ndarray, min_score: float = 0.5, region: HandRegion | None = None
               ) -> list[PalmDetection]:
        self.calls.append(region)
        if region is None:
            return [PalmDetection(0.8, np.array([100.0, 100.0, 200.0, 200.0]), np.zeros((7, 2)))] if self.whole else []
        return [PalmDetection(0.9, np.array([x - 5, y - 5, x + 5, y + 5], float), np.zeros((7, 2)))
                for x, y in self.hits if abs(x - region.cx) <= region.w / 2 and abs(y - region.cy) <= region.h / 2]


def test_search_takes_tiles_in_turn_and_keeps_to_the_roi() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    model = _FakePalms([(600.0, 440.0)])  # a small palm in the bottom-right corner
    search = PalmSearch(model, "auto")  # type: ignore[arg-type]
    n = len(tile_regions((0.0, 0.0, 640.0, 480.0), 3))
    found_at = [i for i in range(n) if search.detect(image, wanted=1)]
    assert found_at == [n - 1]  # one tile per call, in turn: the last tile holds the corner
    assert len(model.calls) == 2 * n  # each call: the whole image once, one tile
    assert len(search.detect(image, wanted=1, all_tiles=True)) == 1  # a photo: every tile at once
    model.calls.clear()
    assert search.detect(image, wanted=0) == [] and len(model.calls) == 1  # enough hands: no tile pass
    off = PalmSearch(_FakePalms([(600.0, 440.0)]), "off")  # type: ignore[arg-type]
    assert not any(off.detect(image, wanted=1) for _ in range(n))
    roi = PalmSearch(_FakePalms([(600.0, 440.0)]), "auto", roi="0,0,0.5,0.5")  # type: ignore[arg-type]
    assert not roi.detect(image, wanted=1, all_tiles=True)  # outside the ROI
    with pytest.raises(ValueError, match="small_hands"):
        PalmSearch(model, "tiles9")  # type: ignore[arg-type]


def test_with_nothing_tracked_whole_image_and_tiles_take_turns() -> None:
    """One palm pass per call: the whole image, then (as it found nothing) the next tile, and so on; a scene
    whose whole image shows a palm is searched whole every time."""
    image = np.zeros((480, 640, 3), np.uint8)
    model = _FakePalms([(600.0, 440.0)])
    search = PalmSearch(model, "auto")  # type: ignore[arg-type]
    n = len(tile_regions((0.0, 0.0, 640.0, 480.0), 3))
    found = [bool(search.detect(image, wanted=2, alternate=True)) for _ in range(2 * n)]
    assert len(model.calls) == 2 * n  # one pass per call
    assert [c is None for c in model.calls] == [True, False] * n  # whole, tile, whole, tile...
    assert found.index(True) == 2 * n - 1  # the corner's tile is the last one
    busy = _FakePalms([(600.0, 440.0)], whole=True)
    search = PalmSearch(busy, "auto")  # type: ignore[arg-type]
    assert all(search.detect(image, wanted=2, alternate=True) for _ in range(4))
    assert busy.calls == [None] * 4


def test_a_far_hand_is_found_with_small_hands_on(prepared: None) -> None:
    from hand_mesh_ros.evaluation.scenes import scaled_scene
    from hand_mesh_ros.geometry.camera import CameraModel
    from hand_mesh_ros.perception.model_cache import ModelNotConvertedError
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
    from hand_mesh_ros.synthetic import load_or_make_sequence

    frame = load_or_make_sequence(num_frames=30, motion="lateral")[0]  # an open hand at the left
    truth = frame.hands[0].joints_px
    span = float(np.ptp(truth, axis=0).max()) / 640.0
    scene, to_scene = scaled_scene(frame.rgb, 0.06 / span)  # the hand spans 6 % of the long side
    expected = truth @ to_scene[:, :2].T + to_scene[:, 2]
    camera = CameraModel.pinhole(640, 480, 600.0)

    def found(small_hands: str) -> bool:
        try:
            rec = HandReconstructor(ReconstructionConfig(small_hands=small_hands))
        except ModelNotConvertedError as exc:
            pytest.skip(f"perception models not converted: {exc}")
        for i in range(10):
            for hand in rec.process_frame(scene, camera, i / 30.0).hands:
                if np.linalg.norm(hand.keypoints_px - expected, axis=1).mean() < 0.5 * 0.06 * 640:
                    return True
        return False

    assert not found("off")
    assert found("auto")


def test_detection_roi_limits_where_new_hands_are_found(prepared: None) -> None:
    from hand_mesh_ros.perception.model_cache import ModelNotConvertedError
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
    from hand_mesh_ros.synthetic import load_or_make_sequence

    seq = load_or_make_sequence(num_frames=30, motion="lateral")  # the hand starts in the image's left half
    assert seq[0].hands[0].joints_px[:, 0].max() < 320

    def hands(roi: str) -> int:
        try:
            rec = HandReconstructor(ReconstructionConfig(detection_roi=roi, small_hands="off"))
        except ModelNotConvertedError as exc:
            pytest.skip(f"perception models not converted: {exc}")
        return sum(len(rec.process_frame(seq[0].rgb, seq.camera, i / 30.0).hands) for i in range(3))

    assert hands("0.5,0,1,1") == 0  # the right half only
    assert hands("0,0,320,480") == 3  # the left half, in pixels
    from hand_mesh_ros.errors import InvalidSettingError

    with pytest.raises(InvalidSettingError, match="detection_roi"):
        ReconstructionConfig(detection_roi="0,0,1")


def test_process_image_searches_every_tile_of_a_photo(prepared: None) -> None:
    """A single photo with a far hand: found by process_image with small_hands on (every tile at once), not
    off; and a stream handled by the same reconstructor carries on with its own turn of tiles."""
    from hand_mesh_ros.evaluation.scenes import scaled_scene
    from hand_mesh_ros.geometry.camera import CameraModel
    from hand_mesh_ros.perception.model_cache import ModelNotConvertedError
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
    from hand_mesh_ros.synthetic import load_or_make_sequence

    frame = load_or_make_sequence(num_frames=30, motion="lateral")[0]
    span = float(np.ptp(frame.hands[0].joints_px, axis=0).max()) / 640.0
    scene, _ = scaled_scene(frame.rgb, 0.06 / span)
    camera = CameraModel.pinhole(640, 480, 600.0)
    try:
        on = HandReconstructor(ReconstructionConfig(small_hands="auto"))
        off = HandReconstructor(ReconstructionConfig(small_hands="off"))
    except ModelNotConvertedError as exc:
        pytest.skip(f"perception models not converted: {exc}")
    assert len(off.process_image(scene, camera).hands) == 0
    search = on.tracker.search
    assert search is not None
    turn = (search._next_tile, search._tile_turn)
    assert len(on.process_image(scene, camera).hands) == 1
    assert (search._next_tile, search._tile_turn) == turn  # the stream's state is left alone
