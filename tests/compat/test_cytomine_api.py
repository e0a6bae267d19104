"""The Cytomine face over HTTP: paths, JSON shapes, the envelope and paging, filters, writes,
errors, permissions and tenancy (the official client's own run is in test_official_client)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from shapely import wkt as shapely_wkt

from annotations.models import Annotation, AnnotationRevision
from compat.api import annotation_serializers as cas
from compat.api import serializers as cs
from organizations.roles import Role
from tests.compat.conftest import HEIGHT, WIDTH, draw, import_picture, picture

pytestmark = pytest.mark.django_db


def key_client(world, role: str = Role.OWNER) -> APIClient:
    pair, private = world.key_pair(role)
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    return client


@pytest.mark.parametrize("suffix", ["", ".json"])
def test_every_cytomine_path_answers_200_with_and_without_json_suffix(slide, suffix):
    client = key_client(slide.world)
    project, task = slide.project.pk, slide.task.pk
    label = slide.labels["tumor"].pk
    annotation = slide.annotations[0].pk
    paths = [
        "/api/user/current",
        "/api/currentuser",
        "/api/project",
        f"/api/project/{project}",
        f"/api/project/{project}/imageinstance",
        f"/api/project/{project}/term",
        "/api/ontology",
        f"/api/ontology/{project}",
        f"/api/ontology/{project}/term",
        f"/api/ontology/{project}/project",
        "/api/term",
        f"/api/term/{label}",
        f"/api/imageinstance/{task}",
        "/api/annotation",
        f"/api/annotation/{annotation}",
    ]
    for path in paths:
        response = client.get(path + suffix)
        assert response.status_code == 200, (path + suffix, response.status_code, response.content[:300])
        assert response["Content-Type"].startswith("application/json")


def test_ping_answers_without_credentials_or_queries(db, client, django_assert_num_queries):
    for path in ("/server/ping", "/server/ping.json", "/server/ping/"):
        with django_assert_num_queries(0):
            response = client.get(path)
        assert response.status_code == 200
        assert response.json()["alive"] is True
    assert client.post("/server/ping.json").status_code == 200


def test_current_user_is_the_key_owner_in_the_keys_organization(world_a):
    pair, private = world_a.key_pair(Role.ANNOTATOR)
    response = APIClient().get("/api/user/current.json", HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    body = response.json()
    assert body["id"] == world_a.user(Role.ANNOTATOR).pk
    assert body["username"] == world_a.user(Role.ANNOTATOR).username
    assert body["publicKey"] == pair.public_key
    assert body["organization"] == world_a.org.slug and body["role"] == "annotator"
    assert body["admin"] is False and "privateKey" not in body


def test_project_ontology_and_terms_map_our_project_and_labels(slide):
    client = key_client(slide.world)
    project = client.get(f"/api/project/{slide.project.pk}.json").json()
    assert project["class"] == cs.CLASS_PROJECT
    assert project["name"] == slide.project.name
    assert project["ontology"] == slide.project.pk
    assert project["numberOfImages"] == 1 and project["numberOfAnnotations"] == 2
    ontology = client.get(f"/api/ontology/{project['ontology']}.json").json()
    assert ontology["id"] == slide.project.pk and ontology["name"] == slide.project.name
    assert sorted(child["name"] for child in ontology["children"]) == ["stroma", "tumor"]
    terms = client.get(f"/api/term.json?ontology={slide.project.pk}").json()
    assert {t["name"]: t["id"] for t in terms["collection"]} == {n: lab.pk for n, lab in slide.labels.items()}
    assert terms["collection"][0]["color"].startswith("#")
    assert all(t["ontology"] == slide.project.pk for t in terms["collection"])


def test_image_instances_are_image_tasks_with_their_frame_size(slide):
    client = key_client(slide.world)
    body = client.get(f"/api/project/{slide.project.pk}/imageinstance.json").json()
    assert body["size"] == 1
    image = body["collection"][0]
    assert image["id"] == slide.task.pk and image["project"] == slide.project.pk
    assert (image["width"], image["height"]) == (WIDTH, HEIGHT)
    assert image["filename"] == "slide-a.png" and image["instanceFilename"] == slide.task.name
    assert image["baseImage"] is not None and image["numberOfAnnotations"] == 2


def test_collections_use_cytomines_envelope_and_paging(slide):
    extra = [import_picture(slide.world, slide.project, picture(variant=i + 1), name=f"more-{i}.png") for i in range(3)]
    assert len(extra) == 3
    client = key_client(slide.world)
    url = f"/api/project/{slide.project.pk}/imageinstance.json"
    everything = client.get(url).json()
    assert set(everything) == {"collection", "offset", "perPage", "size", "totalPages"}
    assert (everything["size"], everything["perPage"], everything["totalPages"]) == (4, 4, 1)
    page = client.get(url, {"max": 3, "offset": 3}).json()
    assert len(page["collection"]) == 1
    assert (page["size"], page["offset"], page["perPage"], page["totalPages"]) == (4, 3, 3, 2)
    ids = [i["id"] for i in client.get(url, {"max": 3}).json()["collection"]] + [page["collection"][0]["id"]]
    assert ids == sorted(i["id"] for i in everything["collection"])
    assert client.get(url, {"offset": 10}).json()["collection"] == []
    bad = client.get(url, {"max": "lots"})
    assert bad.status_code == 400 and "max" in bad.json()["errors"]
    for odd in ("1_0", "\uff11"):  # int() alone reads these as 10 and 1
        refused = client.get(url, {"max": odd})
        assert refused.status_code == 400 and "max" in refused.json()["errors"], refused.content


def test_annotations_list_with_wkt_and_terms_as_cytomine_serves_them(slide):
    client = key_client(slide.world)
    body = client.get("/api/annotation.json", {"image": slide.task.pk, "showWKT": "true", "showTerm": "true"}).json()
    assert body["size"] == 2
    box, holed = body["collection"]
    assert box["term"] == [slide.labels["tumor"].pk] and holed["term"] == [slide.labels["stroma"].pk]
    assert box["image"] == slide.task.pk and box["project"] == slide.project.pk
    # Our box x 10..30, y 5..17 (top-left origin) is y 31..43 with the origin at the bottom-left.
    assert shapely_wkt.loads(box["location"]).bounds == (10.0, HEIGHT - 17.0, 30.0, HEIGHT - 5.0)
    polygon = shapely_wkt.loads(holed["location"])
    assert polygon.geom_type == "Polygon" and len(polygon.interiors) == 1
    assert box["area"] == 240.0


def test_show_flags_choose_the_groups_of_fields(slide):
    client = key_client(slide.world)
    plain = client.get("/api/annotation.json", {"image": slide.task.pk}).json()["collection"][0]
    assert "location" not in plain and "term" not in plain and "image" in plain
    bare = client.get("/api/annotation.json", {"image": slide.task.pk, "showMeta": "false"}).json()["collection"][0]
    assert set(bare) == {"class", "id"}
    full = client.get(
        "/api/annotation.json",
        {"image": slide.task.pk, "showWKT": "True", "showGIS": "1", "showUser": "true", "showImage": "true"},
    ).json()["collection"][0]
    assert full["location"].startswith("POLYGON") and full["centroid"]["x"] == 20.0
    assert full["creator"] == slide.world.user(Role.ANNOTATOR).username
    assert full["originalfilename"] == "slide-a.png"
    assert client.get("/api/annotation.json", {"showWKT": "maybe"}).status_code == 400


def test_annotation_filters(slide):
    client = key_client(slide.world)
    other_project = draw(
        import_picture(slide.world, slide.project, picture(variant=7), name="other.png"),
        [{"type": "points", "class_name": "tumor", "geometry": {"points": [[3, 4]]}, "frame_index": 0}],
        slide.world.owner,
    )[0]

    def ids(**params):
        response = client.get("/api/annotation.json", params)
        assert response.status_code == 200, response.content
        return sorted(a["id"] for a in response.json()["collection"])

    box, holed = (a.pk for a in slide.annotations)
    assert ids(project=slide.project.pk) == sorted([box, holed, other_project.pk])
    assert ids(image=slide.task.pk) == [box, holed]
    assert ids(images=f"{slide.task.pk},{other_project.task_id}") == sorted([box, holed, other_project.pk])
    assert ids(term=slide.labels["stroma"].pk) == [holed]
    assert ids(terms=f"{slide.labels['tumor'].pk}") == sorted([box, other_project.pk])
    assert ids(user=slide.world.owner.pk) == [other_project.pk]
    assert ids(user=slide.world.user(Role.ANNOTATOR).pk, image=slide.task.pk) == [box, holed]
    assert ids(noTerm="true") == []
    point = client.get(f"/api/annotation/{other_project.pk}.json").json()
    assert point["location"] == f"POINT (3 {HEIGHT - 4})"
    unsupported = client.get("/api/annotation.json", {"bbox": "0,0,10,10"})
    assert unsupported.status_code == 400 and "bbox" in unsupported.json()["errors"]


def test_post_put_delete_annotations_in_wkt(slide):
    client = key_client(slide.world, Role.ANNOTATOR)
    tumor, stroma = slide.labels["tumor"].pk, slide.labels["stroma"].pk
    # Cytomine's y = 40..44 near the top edge is our y = 4..8.
    location = "POLYGON ((2 40, 12 40, 12 44, 2 44, 2 40))"
    created = client.post(
        "/api/annotation.json", {"location": location, "image": slide.task.pk, "term": [tumor]}, format="json"
    )
    assert created.status_code == 200, created.content
    body = created.json()
    assert body["message"].endswith("added") and body["annotation"]["term"] == [tumor]
    row = Annotation.objects.get(pk=body["annotation"]["id"])
    assert row.type == "polygon" and row.source == "manual" and row.frame_index == 0
    assert row.author == slide.world.user(Role.ANNOTATOR)
    exterior = row.geometry["polygons"][0]["exterior"]
    assert sorted({y for _, y in exterior}) == [4.0, 8.0]
    assert shapely_wkt.loads(body["annotation"]["location"]).equals(shapely_wkt.loads(location))
    assert AnnotationRevision.objects.filter(task=slide.task, action="cytomine").count() == 1

    edited = client.put(
        f"/api/annotation/{row.pk}.json",
        {**body["annotation"], "location": "POINT (5 5)", "term": [stroma]},
        format="json",
    )
    assert edited.status_code == 200, edited.content
    row.refresh_from_db()
    assert row.type == "points" and row.geometry == {"points": [[5.0, HEIGHT - 5.0]]} and row.label_id == stroma

    deleted = client.delete(f"/api/annotation/{row.pk}.json")
    assert deleted.status_code == 200 and deleted.json()["message"].endswith("deleted")
    assert not Annotation.objects.filter(pk=row.pk).exists()
    assert client.get(f"/api/annotation/{row.pk}.json").status_code == 404


def test_sending_back_a_fetched_annotation_with_a_new_term_keeps_its_shape(slide):
    client = key_client(slide.world)
    box = client.get(f"/api/annotation/{slide.annotations[0].pk}.json").json()
    response = client.put(
        f"/api/annotation/{box['id']}.json", {**box, "term": [slide.labels["stroma"].pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    row = Annotation.objects.get(pk=box["id"])
    assert row.type == "bbox" and row.geometry == slide.annotations[0].geometry
    assert row.label == slide.labels["stroma"]


def test_a_list_of_annotations_is_added_all_or_nothing(slide):
    client = key_client(slide.world)
    good = {"location": "POINT (1 1)", "image": slide.task.pk, "term": [slide.labels["tumor"].pk]}
    before = Annotation.objects.count()
    refused = client.post("/api/annotation.json", [good, {**good, "location": "POINT (1"}], format="json")
    assert refused.status_code == 400 and Annotation.objects.count() == before
    added = client.post("/api/annotation.json", [good, good], format="json")
    assert added.status_code == 200 and len(added.json()["data"]) == 2
    assert Annotation.objects.count() == before + 2


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("POLYGON ((1 1, 5 1", "not valid WKT"),
        ("", "location is required"),
        ("POLYGON EMPTY", "empty"),
        ("GEOMETRYCOLLECTION (POINT (1 1), POINT (2 2))", "one shape per annotation"),
        ("POLYGON ((1 1, 5 5, 9 9, 1 1))", "no area"),
        ("POLYGON ((500 500, 600 500, 600 600, 500 600, 500 500))", "outside"),
        ("POINT (-3 4)", "outside"),
        ("POLYGON ((1 1, nan 1, 5 5, 1 1))", "finite"),
    ],
)
def test_bad_geometry_is_400_with_a_message(slide, location, words):
    response = key_client(slide.world).post(
        "/api/annotation.json",
        {"location": location, "image": slide.task.pk, "term": [slide.labels["tumor"].pk]},
        format="json",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False
    assert words in " ".join(body["errors"]["location"]), body


def test_bodies_naming_foreign_or_missing_objects_are_400(slide, world_b, make_project):
    theirs = make_project(world_b, kind="image", labels=[{"name": "x", "color": "#123456", "maskid": 1}])
    their_label = theirs.labels.get()
    client = key_client(slide.world)
    base = {"location": "POINT (1 1)", "image": slide.task.pk}
    cases = [
        ({**base, "image": 999999999}, "image"),
        ({**base, "term": [their_label.pk]}, "term"),
        ({**base, "term": [slide.labels["tumor"].pk, slide.labels["stroma"].pk]}, "term"),
        ({**base, "project": theirs.pk, "term": [slide.labels["tumor"].pk]}, "project"),
        ({"location": "POINT (1 1)"}, "image"),
    ]
    for body, field in cases:
        response = client.post("/api/annotation.json", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["errors"], response.json()


def test_an_annotation_without_a_term_needs_the_unclassified_class(slide):
    client = key_client(slide.world)
    body = {"location": "POINT (1 1)", "image": slide.task.pk}
    refused = client.post("/api/annotation.json", body, format="json")
    assert refused.status_code == 400 and "tumor" in refused.json()["errors"]["term"][0]
    from projects.services.labels import create_label

    unclassified = create_label(
        actor=slide.world.owner, project=slide.project, data={"name": "unclassified", "color": "#000000", "maskid": 0}
    )
    added = client.post("/api/annotation.json", body, format="json")
    assert added.status_code == 200 and added.json()["annotation"]["term"] == [unclassified.pk]


def test_permissions_are_the_key_owners_role(slide):
    body = {"location": "POINT (1 1)", "image": slide.task.pk, "term": [slide.labels["tumor"].pk]}
    reviewer = key_client(slide.world, Role.REVIEWER)
    assert reviewer.get("/api/annotation.json").status_code == 200
    refused = reviewer.post("/api/annotation.json", body, format="json")
    assert refused.status_code == 403 and "reviewer" in refused.json()["message"]
    assert reviewer.delete(f"/api/annotation/{slide.annotations[0].pk}.json").status_code == 403
    assert key_client(slide.world, Role.ANNOTATOR).post("/api/annotation.json", body, format="json").status_code == 200


def test_a_task_someone_else_holds_is_423(slide):
    from tasks.services.claims import claim_next_task

    claimed = claim_next_task(user=slide.world.user(Role.ANNOTATOR), project=slide.project)
    assert claimed.pk == slide.task.pk
    body = {"location": "POINT (1 1)", "image": slide.task.pk, "term": [slide.labels["tumor"].pk]}
    response = key_client(slide.world, Role.MANAGER).post("/api/annotation.json", body, format="json")
    assert response.status_code == 423
    holder = key_client(slide.world, Role.ANNOTATOR).post("/api/annotation.json", body, format="json")
    assert holder.status_code == 200


def test_another_organizations_objects_answer_404(slide, world_b):
    theirs = key_client(world_b)
    project, task, annotation = slide.project.pk, slide.task.pk, slide.annotations[0].pk
    for path in (
        f"/api/project/{project}.json",
        f"/api/ontology/{project}.json",
        f"/api/ontology/{project}/term.json",
        f"/api/project/{project}/imageinstance.json",
        f"/api/term/{slide.labels['tumor'].pk}.json",
        f"/api/imageinstance/{task}.json",
        f"/api/imageinstance/{task}/window-0-0-10-10.png",
        f"/api/imageinstance/{task}/thumb.png",
        f"/api/imageinstance/{task}/download",
        f"/api/annotation/{annotation}.json",
        f"/api/annotation.json?image={task}",
        f"/api/annotation.json?project={project}",
    ):
        response = theirs.get(path)
        assert response.status_code == 404, (path, response.status_code)
    assert theirs.get("/api/project.json").json()["size"] == 0
    assert theirs.get("/api/term.json").json()["size"] == 0
    assert (
        theirs.put(f"/api/annotation/{annotation}.json", {"location": "POINT (1 1)"}, format="json").status_code == 404
    )
    assert theirs.delete(f"/api/annotation/{annotation}.json").status_code == 404
    assert Annotation.objects.filter(pk=annotation).exists()


def test_declared_fields_are_the_fields_served(slide, rf):
    from compat import selectors

    request = rf.get("/")
    task = selectors.image_tasks(slide.world.org).get(pk=slide.task.pk)
    project = selectors.projects(slide.world.org).get(pk=slide.project.pk)
    annotation = selectors.annotations(slide.world.org).get(pk=slide.annotations[0].pk)
    membership = slide.world.membership(Role.OWNER)
    cases = [
        (cs.CytomineProjectSerializer(project), project),
        (cs.CytomineTermSerializer(slide.labels["tumor"]), None),
        (cs.CytomineOntologySerializer(project, context={"labels": {}}), None),
        (cs.CytomineImageInstanceSerializer(task, context={"request": request}), None),
        (cas.CytomineAnnotationSerializer(annotation, context={"request": request}), None),
        (cs.CytomineCurrentUserSerializer(slide.world.owner, context={"membership": membership}), None),
    ]
    for serializer, _ in cases:
        assert set(serializer.data) == set(serializer.fields), type(serializer).__name__


def test_lists_take_the_same_number_of_queries_for_one_item_or_many(slide):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = key_client(slide.world)
    client.get("/api/project.json")  # open the client session first (a write of its own)

    def count(path: str, params: dict) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path, params).status_code == 200
        return len(queries)

    listing = ("/api/annotation.json", {"image": slide.task.pk, "showWKT": "true", "showTerm": "true", "showUser": "1"})
    images = (f"/api/project/{slide.project.pk}/imageinstance.json", {})
    few = [count(*listing), count(*images), count("/api/project.json", {}), count("/api/ontology.json", {})]
    point = {"type": "points", "class_name": "tumor", "frame_index": 0}
    draw(slide.task, [{**point, "geometry": {"points": [[i, i]]}} for i in range(1, 12)], slide.world.owner)
    for i in range(3):
        import_picture(slide.world, slide.project, picture(variant=20 + i), name=f"q-{i}.png")
    from projects.services.projects import create_project

    create_project(actor=slide.world.owner, organization=slide.world.org, name="another", kind="image")
    many = [count(*listing), count(*images), count("/api/project.json", {}), count("/api/ontology.json", {})]
    assert many == few


def test_deleting_is_a_new_revision_and_refused_while_someone_else_holds_the_task(slide):
    from tasks.services.claims import claim_next_task

    box = slide.annotations[0]
    claim_next_task(user=slide.world.user(Role.ANNOTATOR), project=slide.project)
    manager = key_client(slide.world, Role.MANAGER)
    assert manager.delete(f"/api/annotation/{box.pk}.json").status_code == 423
    assert Annotation.objects.filter(pk=box.pk).exists()
    assert key_client(slide.world, Role.ANNOTATOR).delete(f"/api/annotation/{box.pk}.json").status_code == 200
    revision = AnnotationRevision.objects.filter(task=slide.task).latest("number")
    assert revision.action == "cytomine" and revision.summary["removed"] == [box.pk]
