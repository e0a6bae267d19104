"""Who may use each annotation endpoint (the permission matrix), and tenancy: another
organization's tasks, annotations and predictions do not exist (404), in URLs and bodies."""

from __future__ import annotations

import pytest

from annotations.models import Annotation, PredictionDecision
from annotations.services import create_prediction
from organizations.roles import ROLE_ORDER, Role, role_has
from tests.annotations.conftest import box, keyframe, track

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    # (method, path under /api/v1/tasks/{id}, body, permission)
    ("get", "/annotations", None, "project.view"),
    ("post", "/annotations", {"shapes": []}, "task.annotate"),
    ("put", "/annotations/draft", {"shapes": []}, "task.annotate"),
    ("get", "/annotations/{annotation}", None, "project.view"),
    ("get", "/annotations/{track}/video/frames", None, "project.view"),
    ("post", "/annotations/{track}/video/convert-to-bboxes", {"operation": "copy", "scope": "track"}, "task.annotate"),
    (
        "post",
        "/annotations/video/track-compositions",
        {"operation": "split_track", "annotation_ids": ["{track}"], "frame_index": 0},
        "task.annotate",
    ),
    ("post", "/annotations/accept", {"prediction_id": "{prediction}", "shape_index": 0}, "ai.assist"),
    ("get", "/predictions", None, "project.view"),
    ("post", "/predictions/reject", {"prediction_id": "{prediction}", "shape_index": 0}, "ai.assist"),
    ("get", "/history", None, "project.view"),
    ("post", "/history/restore", {"number": 1}, "task.complete"),
]


@pytest.fixture
def objects(video_desk):
    """A video task with a track and a box, and a prediction; the annotator then lets go."""
    saved = video_desk.submit([track(keyframe(0), keyframe(5)), {**box(class_name="car"), "frame_index": 1}]).json()[
        "annotations"
    ]
    by_type = {a["type"]: a["id"] for a in saved}
    prediction = create_prediction(video_desk.task, "m", shapes=[{**box(class_name="automobile"), "frame_index": 2}])
    return {"annotation": by_type["bbox"], "track": by_type["video_track"], "prediction": prediction.pk}


def fill(value, objects):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return objects[value[1:-1]]
    if isinstance(value, dict):
        return {k: fill(v, objects) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, objects) for v in value]
    return value


def call(client, method, url, body):
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, format="json")


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS, ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS])
def test_each_role_gets_what_the_matrix_says(video_desk, objects, method, path, body, permission):
    url = video_desk.url + path.format(**objects)
    for role in ROLE_ORDER:
        response = call(video_desk.client(role), method, url, fill(body, objects))
        if role_has(role, permission):
            assert response.status_code != 403, (role, response.json())
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert f"Your role ({role}) may not" in response.json()["message"]


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS, ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS])
def test_another_organization_gets_404_for_every_endpoint(video_desk, objects, world_b, method, path, body, permission):
    url = video_desk.url + path.format(**objects)
    before = Annotation.objects.count()
    response = call(world_b.client(Role.OWNER), method, url, fill(body, objects))
    assert response.status_code == 404, response.json()
    assert Annotation.objects.count() == before


def test_ids_in_bodies_from_another_organization_are_not_found(world_a, world_b, desk_factory):
    mine = desk_factory(world_a, kind="video", frames=10)
    theirs = desk_factory(world_b, kind="video", frames=10)
    their_track = theirs.draft([track(keyframe(0), keyframe(2))]).json()["annotations"][0]
    their_prediction = create_prediction(theirs.task, "m", shapes=[{**box(), "frame_index": 0}])
    accept = mine.client().post(
        f"{mine.url}/annotations/accept", {"prediction_id": their_prediction.pk, "shape_index": 0}, format="json"
    )
    assert accept.status_code == 404
    reject = mine.client().post(
        f"{mine.url}/predictions/reject", {"prediction_id": their_prediction.pk, "shape_index": 0}, format="json"
    )
    assert reject.status_code == 404
    assert not PredictionDecision.objects.exists()
    merge = mine.client().post(
        f"{mine.url}/annotations/video/track-compositions",
        {"operation": "split_track", "annotation_ids": [their_track["id"]], "frame_index": 0},
        format="json",
    )
    assert merge.status_code == 404
    convert = mine.client().post(
        f"{mine.url}/annotations/{their_track['id']}/video/convert-to-bboxes",
        {"operation": "split", "scope": "track"},
        format="json",
    )
    assert convert.status_code == 404
    # their annotation id in my shapes is "no annotation on this task", never theirs updated
    response = mine.draft([{**track(keyframe(0)), "id": their_track["id"]}])
    assert response.status_code == 400 and "no annotation" in response.json()["errors"]["shapes.0.id"][0]
    assert Annotation.objects.get(pk=their_track["id"]).geometry == their_track["geometry"]
    relation = mine.draft([box(), {"type": "relation", "geometry": {"from": {"index": 0}, "to": their_track["id"]}}])
    assert relation.status_code == 400
    assert (
        f"annotation {their_track['id']} is not in this task's set"
        in relation.json()["errors"]["shapes.1.geometry.to"][0]
    )


def test_their_annotation_under_my_task_url_is_404(world_a, world_b, desk_factory):
    mine = desk_factory(world_a)
    theirs = desk_factory(world_b)
    their_box = theirs.draft([box()]).json()["annotations"][0]
    assert mine.client().get(f"{mine.url}/annotations/{their_box['id']}").status_code == 404
