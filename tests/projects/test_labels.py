"""Label classes: validation at the edge, uniqueness, maskid 0, reorder, deletion."""

from __future__ import annotations

import pytest

from projects.labels import check_attribute_values, validate_label_rows
from tests.conftest import DEFAULT_LABELS

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(world_a, make_project):
    return make_project(world_a, labels=DEFAULT_LABELS)


def _url(project, suffix=""):
    return f"/api/v1/projects/{project.pk}/labels{suffix}"


def test_create_label_assigns_next_free_maskid_and_top_z_order(world_a, project):
    response = world_a.client().post(_url(project), {"name": "bike", "color": "#ABCDEF"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["maskid"] == 4
    assert body["color"] == "#abcdef"
    assert body["z_order"] == max(lbl.z_order for lbl in project.labels.exclude(name="bike")) + 1


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"name": "x", "color": "red"}, "color", "#RRGGBB"),
        ({"name": "x", "color": "#12345"}, "color", "#RRGGBB"),
        ({"name": "car", "color": "#123456"}, "name", "duplicate name"),
        ({"name": "CAR", "color": "#123456"}, "name", "duplicate name"),
        ({"name": "x", "color": "#123456", "maskid": 2}, "maskid", "clashes"),
        ({"name": "x", "color": "#123456", "maskid": 256}, "maskid", "less than or equal to 255"),
        ({"name": "x", "color": "#123456", "maskid": -1}, "maskid", "greater than or equal to 0"),
        ({"name": "x" * 101, "color": "#123456"}, "name", "100 characters"),
        ({"name": "x", "color": "#123456", "aliases": ["pedestrian"]}, "aliases", "already used"),
        ({"name": "x", "color": "#123456", "aliases": "car"}, "aliases", "list"),
        (
            {"name": "x", "color": "#123456", "attributes": [{"name": "a", "type": "colour"}]},
            "attributes",
            "type must be",
        ),
        ({"name": "x", "color": "#123456", "attributes": [{"name": "a", "type": "select"}]}, "attributes", "options"),
        (
            {"name": "x", "color": "#123456", "attributes": [{"name": "n", "type": "number", "min": 5, "max": 1}]},
            "attributes",
            "greater than max",
        ),
        (
            {"name": "x", "color": "#123456", "keypoints": {"names": ["a", "b"], "edges": [[0, 2]]}},
            "keypoints",
            "edges",
        ),
        ({"name": "x", "color": "#123456", "shape": "box"}, "shape", "Unknown field"),
    ],
)
def test_bad_label_is_400_naming_the_field(world_a, project, payload, field, fragment):
    response = world_a.client().post(_url(project), payload, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body
    assert any(fragment in message for message in body["errors"][field]), body
    assert project.labels.count() == len(DEFAULT_LABELS)


def test_maskid_zero_is_the_reserved_unclassified_class_and_unique(world_a, project):
    client = world_a.client()
    first = client.post(_url(project), {"name": "Unclassified", "color": "#808080", "maskid": 0}, format="json")
    assert first.status_code == 201
    second = client.post(_url(project), {"name": "Other", "color": "#808081", "maskid": 0}, format="json")
    assert second.status_code == 400
    assert "maskid" in second.json()["errors"]


def test_update_label_checks_against_siblings(world_a, project):
    car = project.labels.get(name="car")
    client = world_a.client()
    assert client.patch(_url(project, f"/{car.pk}"), {"maskid": 3}, format="json").status_code == 400
    ok = client.patch(_url(project, f"/{car.pk}"), {"maskid": 9, "color": "#010203"}, format="json")
    assert ok.status_code == 200
    car.refresh_from_db()
    assert (car.maskid, car.color) == (9, "#010203")


def test_reorder_sets_z_order_bottom_to_top(world_a, project):
    ids = list(project.labels.order_by("-id").values_list("pk", flat=True))
    response = world_a.client().post(_url(project, "/reorder"), {"order": ids}, format="json")
    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == ids
    assert [lbl.pk for lbl in project.labels.order_by("z_order")] == ids


def test_reorder_must_name_every_label_once(world_a, project, world_b, make_project):
    ids = list(project.labels.values_list("pk", flat=True))
    client = world_a.client()
    assert client.post(_url(project, "/reorder"), {"order": ids[:-1]}, format="json").status_code == 400
    assert client.post(_url(project, "/reorder"), {"order": [*ids, ids[0]]}, format="json").status_code == 400
    foreign = make_project(world_b, labels=DEFAULT_LABELS).labels.first().pk
    response = client.post(_url(project, "/reorder"), {"order": [*ids[:-1], foreign]}, format="json")
    assert response.status_code == 400
    assert "not in this project" in response.json()["errors"]["order"][0]


def test_delete_label(world_a, project):
    dog = project.labels.get(name="dog")
    assert world_a.client().delete(_url(project, f"/{dog.pk}")).status_code == 204
    assert not project.labels.filter(name="dog").exists()


def test_label_of_another_project_is_404_through_this_project(world_a, make_project, project):
    other = make_project(world_a, labels=[{"name": "z", "color": "#000000"}])
    label = other.labels.get()
    assert world_a.client().get(_url(project, f"/{label.pk}")).status_code == 404


def test_validate_label_rows_reports_each_row():
    rows, errors = validate_label_rows(
        [
            {"name": "a", "color": "#000000", "maskid": 1},
            {"name": "a", "color": "nope", "maskid": 1},
            "not an object",
            {"name": "b", "color": "#FFFFFF"},
        ]
    )
    assert set(errors) == {1, 2}
    assert {"name", "color", "maskid"} <= set(errors[1])
    assert rows[3]["maskid"] == 2  # next free after 1
    assert rows[3]["color"] == "#ffffff"


def test_attribute_values_are_checked_against_the_schema():
    schema = [
        {"name": "color", "type": "select", "options": ["brown", "black"], "required": True},
        {"name": "age", "type": "number", "min": 0, "max": 30},
        {"name": "tags", "type": "multiselect", "options": ["a", "b"]},
        {"name": "occluded", "type": "checkbox"},
        {"name": "note", "type": "text", "max_length": 5},
    ]
    assert check_attribute_values(schema, {"color": "brown", "age": 3, "tags": ["a"], "occluded": True}) == {}
    errors = check_attribute_values(
        schema, {"age": 31, "tags": ["c"], "occluded": "yes", "note": "too long", "size": 1}
    )
    assert set(errors) == {"color", "age", "tags", "occluded", "note", "size"}


@pytest.mark.parametrize(
    "field, value",
    [("aliases", True), ("aliases", "car"), ("attributes", 5), ("keypoints", "x"), ("keypoints", [1]), ("color", 7)],
)
def test_a_label_field_of_the_wrong_type_is_400_never_500(world_a, make_project, field, value):
    """Found by the schema fuzz: ``aliases: true`` crashed the row builder (500)."""
    project = make_project(world_a)
    body = {"name": "bad", "color": "#123456", field: value}
    response = world_a.client().post(f"/api/v1/projects/{project.pk}/labels", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.content
