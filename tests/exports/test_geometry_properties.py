"""Property tests of the shared geometry that exports and imports rely on (polygon ⇄ mask
with holes), under the pixel convention of ``annotations.geometry``: continuous pixel
coordinates, pixel (i, j) covers [i, i+1) x [j, j+1), a pixel painted when its centre is inside."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from shapely.geometry import Polygon

from annotations import geometry
from annotations import shape_geometry as sg

masks = arrays(np.uint8, st.tuples(st.integers(2, 24), st.integers(2, 24)), elements=st.integers(0, 1))


@settings(max_examples=200, deadline=None)
@given(masks)
def test_mask_to_polygons_to_mask_is_exact_for_any_mask(mask):
    """Any mask — noise, one-pixel lines, diagonal neighbours, holes — paints back exactly."""
    polygons = geometry.mask_to_polygons(mask)
    assert np.array_equal(geometry.polygons_to_mask(polygons, *mask.shape), mask)


@settings(max_examples=200, deadline=None)
@given(masks)
def test_valid_polygons_survive_annotation_validation_pixel_for_pixel(mask):
    """What GT-mask, VOC-mask and labelme-mask imports store paints back the same mask."""
    polygons = geometry.mask_to_polygons(mask)
    if not mask.any():
        assert polygons == []
        return
    assert geometry.to_shapely(polygons).is_valid
    problems = sg.Problems()
    clean = sg.clean_polygons({"polygons": polygons}, (mask.shape[1], mask.shape[0]), problems)
    assert not problems, problems.errors
    assert np.array_equal(geometry.polygons_to_mask(clean["polygons"], *mask.shape), mask)


@st.composite
def polygons_with_holes(draw):
    """A star-shaped exterior with up to two small square holes strictly inside it."""
    cx, cy = draw(st.floats(20, 44)), draw(st.floats(20, 44))
    count = draw(st.integers(5, 14))
    angles = sorted(draw(st.lists(st.floats(0, 6.28), min_size=count, max_size=count, unique=True)))
    radii = draw(st.lists(st.floats(12, 18), min_size=count, max_size=count))
    exterior = [[cx + r * np.cos(a), cy + r * np.sin(a)] for a, r in zip(angles, radii, strict=True)]
    holes = []
    for dx, dy in draw(st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), max_size=2)):
        size = draw(st.floats(1.5, 3.0))
        x, y = cx + dx, cy + dy
        holes.append([[x - size, y - size], [x + size, y - size], [x + size, y + size], [x - size, y + size]])
    return {"exterior": exterior, "holes": holes}


def _enclosed_regions(mask: np.ndarray, connectivity: int) -> int:
    count, labels = cv2.connectedComponents((mask == 0).astype(np.uint8), connectivity=connectivity)
    border = set(labels[0]) | set(labels[-1]) | set(labels[:, 0]) | set(labels[:, -1])
    return len(set(range(1, count)) - border)


@settings(max_examples=150, deadline=None)
@given(polygons_with_holes())
def test_polygon_with_holes_to_mask_and_back_paints_the_same_pixels(polygon):
    shape = Polygon(polygon["exterior"], polygon["holes"])
    if not shape.is_valid:
        return  # holes overlapping each other or the outline are not polygons
    mask = geometry.polygons_to_mask([polygon], 64, 64)
    traced = geometry.mask_to_polygons(mask)
    assert np.array_equal(geometry.polygons_to_mask(traced, 64, 64), mask)
    assert np.array_equal(geometry.polygons_to_mask(geometry.mask_to_polygons(mask), 64, 64), mask)
    # Holes stay holes. A hole that meets the outside (or another hole) only at a pixel corner
    # may be traced as a notch (or one ring): the count lies between the enclosed background
    # regions counted with 8- and with 4-connectivity.
    rings = sum(len(p["holes"]) for p in traced)
    assert _enclosed_regions(mask, 8) <= rings <= _enclosed_regions(mask, 4)


@settings(max_examples=150, deadline=None)
@given(polygons_with_holes())
def test_a_keyhole_ring_paints_the_polygon_with_its_holes(polygon):
    """YOLO segmentation lines cannot hold holes: the keyhole ring must paint the same pixels."""
    if not Polygon(polygon["exterior"], polygon["holes"]).is_valid:
        return
    keyhole = {"exterior": geometry.bridge_holes(polygon), "holes": []}
    assert np.array_equal(geometry.polygons_to_mask([keyhole], 64, 64), geometry.polygons_to_mask([polygon], 64, 64))


@settings(max_examples=100, deadline=None)
@given(masks)
def test_rle_round_trip_and_area(mask):
    rle = geometry.rle_encode(mask)
    assert np.array_equal(geometry.rle_decode(rle), mask)
    assert geometry.rle_area(rle) == int(mask.sum())
