"""Cytomine's coordinates: y_cytomine = height - y_ours, at the API edge only, both ways.

An annotation drawn in our workspace and fetched through the Cytomine API rasterises to the
same pixels once its location is flipped back the way Cytomine users do
(``affine_transform(geom, [1, 0, 0, -1, 0, height])``).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from rest_framework.test import APIClient
from shapely import wkt as shapely_wkt
from shapely.affinity import affine_transform
from shapely.geometry import Polygon

from annotations import geometry
from compat import wkt
from organizations.roles import Role
from tests.compat.conftest import HEIGHT, WIDTH, draw

pytestmark = pytest.mark.django_db


def users_flip(geom, height: int):
    """How Cytomine users bring a location into image (top-left) coordinates."""
    return affine_transform(geom, [1, 0, 0, -1, 0, height])


def our_mask(annotation) -> np.ndarray:
    """The annotation's pixels by our shared rasteriser (what exports and masks use)."""
    if annotation.type == "mask" and "rle" in annotation.geometry:
        return geometry.rle_decode(annotation.geometry["rle"])
    shape = wkt.stored_shape(annotation)
    return geometry.polygons_to_mask(geometry.from_shapely(shape), HEIGHT, WIDTH)


def pil_mask(geom) -> np.ndarray:
    """The seed's PIL drawing (exterior filled, holes painted back with 0)."""
    image = Image.new("L", (WIDTH, HEIGHT), 0)
    drawer = ImageDraw.Draw(image, "L")
    for part in getattr(geom, "geoms", [geom]):
        drawer.polygon(list(part.exterior.coords), fill=1)
        for ring in part.interiors:
            drawer.polygon(list(ring.coords), fill=0)
    return np.array(image)


def test_the_flip_is_its_own_inverse_and_exact_on_pixel_grids():
    ours = Polygon([(0, 0), (10, 0), (10.5, 7.5), (0, 3)], [[(2, 1), (4, 1), (4, 2)]])
    theirs = wkt.to_cytomine(ours, 48)
    assert list(theirs.exterior.coords)[:4] == [(0, 48), (10, 48), (10.5, 40.5), (0, 45)]
    back = wkt.parse_location(wkt.wkt_of(theirs), 48)
    assert back.type == "polygon"
    assert back.geometry["polygons"][0]["exterior"] == [[0, 0], [10, 0], [10.5, 7.5], [0, 3]]
    assert back.geometry["polygons"][0]["holes"] == [[[2, 1], [4, 1], [4, 2]]]
    assert wkt.parse_location("POINT (3 45)", 48).geometry == {"points": [[3.0, 3.0]]}
    assert wkt.parse_location("LINESTRING (0 48, 5 43)", 48).geometry == {"points": [[0.0, 0.0], [5.0, 5.0]]}


def test_annotations_drawn_here_rasterise_to_the_same_pixels_once_flipped_back(slide):
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    mask[3:20, 40:60] = 1
    mask[8:12, 45:52] = 0
    extra = draw(
        slide.task,
        [
            {
                "type": "polygon",
                "class_name": "tumor",
                "frame_index": 0,
                "geometry": {"polygons": [{"exterior": [[3.2, 30.1], [30.7, 33.3], [25.1, 46.9], [5.5, 40.2]]}]},
            },
            {
                "type": "rotated_bbox",
                "class_name": "stroma",
                "frame_index": 0,
                "geometry": {"cx": 20, "cy": 24, "width": 16, "height": 6, "angle": 30},
            },
            {"type": "mask", "class_name": "stroma", "frame_index": 0, "geometry": {"rle": geometry.rle_encode(mask)}},
        ],
        slide.world.owner,
    )
    pair, private = slide.world.key_pair(Role.REVIEWER)
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    served = client.get("/api/annotation.json", {"image": slide.task.pk, "showWKT": "true"}).json()["collection"]
    by_id = {item["id"]: item for item in served}
    drawn = [*slide.annotations, *extra]
    assert set(by_id) == {a.pk for a in drawn}
    for annotation in drawn:
        location = shapely_wkt.loads(by_id[annotation.pk]["location"])
        image_coordinates = users_flip(location, HEIGHT)
        pixels = geometry.polygons_to_mask(geometry.from_shapely(image_coordinates), HEIGHT, WIDTH)
        expected = our_mask(annotation)
        assert expected.any()
        assert np.array_equal(pixels, expected), (annotation.type, int((pixels != expected).sum()))
        # Without the flip the shape lands mirrored: the flip is not optional.
        unflipped = geometry.polygons_to_mask(geometry.from_shapely(location), HEIGHT, WIDTH)
        assert not np.array_equal(unflipped, expected)


def test_the_seeds_pil_drawing_of_the_flipped_location_gives_our_pixels(slide):
    """PIL (the seed's rasteriser) paints a polygon's edges too, while ours paints the pixels
    whose centre is inside: on integer outlines PIL's pixels are ours plus the row below and
    the column right of the shape, never anything else. A flip that slipped by a row either
    way breaks that relation. The exact check for any shape is
    ``test_annotations_drawn_here_rasterise_to_the_same_pixels_once_flipped_back``."""
    ell = [[2, 30], [30, 30], [30, 36], [12, 36], [12, 46], [2, 46]]
    shape = {"type": "polygon", "class_name": "tumor", "frame_index": 0, "geometry": {"points": ell}}
    ell_annotation = draw(slide.task, [shape], slide.world.owner)[0]
    box, _holed = slide.annotations
    pair, private = slide.world.key_pair(Role.OWNER)
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)

    def flipped(annotation):
        body = client.get(f"/api/annotation/{annotation.pk}.json").json()
        return users_flip(shapely_wkt.loads(body["location"]), HEIGHT)

    def grown_right_and_down(mask):
        grown = mask.copy()
        grown[:, 1:] |= mask[:, :-1]
        grown[1:, :] |= mask[:-1, :]
        grown[1:, 1:] |= mask[:-1, :-1]
        return grown

    for annotation in (box, ell_annotation):
        pil, ours = pil_mask(flipped(annotation)).astype(bool), our_mask(annotation).astype(bool)
        assert (ours <= pil).all(), annotation.type
        assert (pil <= grown_right_and_down(ours)).all(), annotation.type
        assert pil.sum() > ours.sum()
        for shift in (1, -1):  # what a one-row error in the flip would give
            slipped = np.roll(pil, shift, axis=0)
            assert not ((ours <= slipped).all() and (slipped <= grown_right_and_down(ours)).all())
