"""The official Cytomine Python client (PyPI ``cytomine-python-client``) against a live server.

``test_the_seed_script_runs_unchanged`` follows ``../shared/seeds/cytomine-api-usage.md``
step by step, with only the host and keys changed: connect, project → ontology → terms →
images → annotations with WKT (GeoJSON features and a PIL mask exactly as the seed draws
them) → a window through ``cyto._session.get`` — and adds an annotation.
"""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest
from PIL import Image, ImageDraw
from shapely import wkt
from shapely.geometry import mapping

from annotations.models import Annotation
from organizations.roles import Role
from tests.compat.conftest import HEIGHT, WIDTH

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cytomine_client(live_server):
    """Connect the official client with a key pair, as a script would."""
    from cytomine import Cytomine

    opened = []

    def connect(public_key: str, private_key: str):
        client = Cytomine(live_server.url, public_key, private_key, verbose=logging.WARNING)
        opened.append(client)
        return client

    yield connect
    for client in opened:
        client._session.close()


def draw_polygon(drawer, geom, class_id: int) -> None:
    """The seed's drawing code, verbatim in substance (PIL, holes painted back with 0)."""
    if geom.geom_type == "Polygon":
        exterior = [(x, y) for x, y in np.array(geom.exterior.coords)]
        interiors = [[(x, y) for x, y in np.array(ring.coords)] for ring in geom.interiors]
        drawer.polygon(exterior, fill=int(class_id))
        for hole in interiors:
            drawer.polygon(hole, fill=0)
    elif geom.geom_type == "MultiPolygon":
        for g in geom.geoms:
            draw_polygon(drawer, g, class_id)


def test_the_seed_script_runs_unchanged(slide, cytomine_client, tmp_path):
    from cytomine.models import (
        Annotation as CytomineAnnotation,
    )
    from cytomine.models import (
        AnnotationCollection,
        ImageInstanceCollection,
        Ontology,
        Project,
        TermCollection,
    )

    pair, private = slide.world.key_pair(Role.ANNOTATOR)
    project_id = slide.project.pk
    with cytomine_client(pair.public_key, private) as cyto:
        assert cyto.current_user.username == slide.world.user(Role.ANNOTATOR).username

        project = Project().fetch(project_id)
        assert project.name == slide.project.name and project.ontology == project_id

        ontology = Ontology().fetch(project.ontology)
        terms = TermCollection().fetch_with_filter("ontology", ontology.id)
        assert {t.name: t.id for t in terms} == {name: label.pk for name, label in slide.labels.items()}
        class_name_to_id = {"tumor": 1, "stroma": 2}

        images = ImageInstanceCollection().fetch_with_filter("project", project_id)
        assert len(images) == 1
        img = images[0]
        assert (img.id, img.filename, img.width, img.height) == (slide.task.pk, "slide-a.png", WIDTH, HEIGHT)

        image_id = img.id
        W, H = img.width, img.height
        anns = AnnotationCollection(image=image_id, showWKT=True, showTerm=True)
        anns.fetch()
        assert len(anns) == 2
        mask_img = Image.new("L", (W, H), 0)
        drawer = ImageDraw.Draw(mask_img, "L")
        geo = {"type": "FeatureCollection", "features": []}
        for a in anns:
            poly = wkt.loads(a.location)
            term_id = a.term[0]
            tname = next((t.name for t in terms if t.id == term_id), "Unlabeled")
            class_id = class_name_to_id.get(tname, 255)
            geo["features"].append(
                {
                    "type": "Feature",
                    "properties": {
                        "image_id": image_id,
                        "annotation_id": a.id,
                        "class_id": class_id,
                        "class_name": tname,
                    },
                    "geometry": mapping(poly),
                }
            )
            draw_polygon(drawer, poly, class_id)
        (tmp_path / f"{image_id}.geojson").write_text(json.dumps(geo, ensure_ascii=False))
        mask_img.save(tmp_path / f"{image_id}_mask.png")
        assert sorted(f["properties"]["class_name"] for f in geo["features"]) == ["stroma", "tumor"]
        # The seed draws Cytomine's y-up coordinates straight into a y-down picture, so its mask
        # is upside down: the tumor box (ours: x 10..30, y 5..17) sits at rows 31..43.
        seed_mask = np.array(mask_img)
        assert set(np.unique(seed_mask)) == {0, 1, 2}
        rows, cols = np.nonzero(seed_mask == 1)
        assert (rows.min(), rows.max(), cols.min(), cols.max()) == (H - 17, H - 5, 10, 30)

        # The seed's window line, as written: window-{W}-{H}-0-0 asks for nothing (x=W, y=H,
        # w=h=0). We say so and how to ask for the whole image, instead of a broken picture.
        win_url = f"{cyto._base_url(with_base_path=False)}/api/imageinstance/{image_id}/window-{W}-{H}-0-0.jpg?zoom=0"
        r = cyto._session.get(win_url)
        assert r.status_code == 400 and f"window-0-0-{W}-{H}" in r.json()["message"]
        # What it meant: the whole image, through the cookie of the signed session.
        r = cyto._session.get(win_url.replace(f"window-{W}-{H}-0-0", f"window-0-0-{W}-{H}"))
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
        (tmp_path / "image.jpg").write_bytes(r.content)
        assert Image.open(io.BytesIO(r.content)).size == (W, H)
        png = cyto._session.get(
            f"{cyto._base_url(with_base_path=False)}/api/imageinstance/{image_id}/window-8-4-20-10.png"
        )
        assert np.array_equal(np.array(Image.open(io.BytesIO(png.content))), slide.pixels[4:14, 8:28])

        # Adding an annotation, as Cytomine scripts do (y up: 40..44 is our 4..8).
        location = "POLYGON ((2 40, 12 40, 12 44, 2 44, 2 40))"
        added = CytomineAnnotation(location=location, id_image=image_id, id_terms=[slide.labels["tumor"].pk]).save()
        assert added is not False and added.id is not None
        row = Annotation.objects.get(pk=added.id)
        assert (row.task_id, row.label, row.source) == (slide.task.pk, slide.labels["tumor"], "manual")
        assert sorted({y for _, y in row.geometry["polygons"][0]["exterior"]}) == [4.0, 8.0]
        again = AnnotationCollection(image=image_id, showWKT=True, showTerm=True)
        again.fetch()
        assert len(again) == 3
        fetched = CytomineAnnotation().fetch(added.id)
        assert wkt.loads(fetched.location).equals(wkt.loads(location)) and fetched.term == [slide.labels["tumor"].pk]
        assert fetched.delete() is True
        assert not Annotation.objects.filter(pk=added.id).exists()


def test_paging_with_the_clients_max(slide, cytomine_client):
    from cytomine.models import AnnotationCollection

    pair, private = slide.world.key_pair(Role.OWNER)
    with cytomine_client(pair.public_key, private):
        page = AnnotationCollection(image=slide.task.pk, max=1, offset=1, showWKT=True)
        page.fetch()
        assert [a.id for a in page] == [slide.annotations[1].pk]


def test_another_organizations_key_sees_nothing_of_ours(slide, world_b, cytomine_client):
    from cytomine.models import Annotation as CytomineAnnotation
    from cytomine.models import AnnotationCollection, ImageInstanceCollection, Ontology, Project, ProjectCollection

    pair, private = world_b.key_pair(Role.OWNER)
    with cytomine_client(pair.public_key, private) as cyto:
        assert len(ProjectCollection().fetch()) == 0
        assert Project().fetch(slide.project.pk) is False
        assert Ontology().fetch(slide.project.pk) is False
        assert ImageInstanceCollection().fetch_with_filter("project", slide.project.pk) is False
        assert AnnotationCollection(image=slide.task.pk, showWKT=True).fetch() is False
        assert CytomineAnnotation().fetch(slide.annotations[0].pk) is False
        written = CytomineAnnotation(location="POINT (1 1)", id_image=slide.task.pk, id_terms=[]).save()
        assert written is False
        window = cyto._session.get(
            f"{cyto._base_url(with_base_path=False)}/api/imageinstance/{slide.task.pk}/window-0-0-10-10.png"
        )
        assert window.status_code == 404
    assert Annotation.objects.filter(task=slide.task).count() == 2
