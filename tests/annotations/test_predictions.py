"""AI predictions as candidates: the schema adapter, listing, accepting and rejecting shapes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from annotations.adapters import AdapterError, to_internal_shape, to_internal_shapes
from annotations.models import Annotation, PredictionDecision, Source
from annotations.services import create_prediction
from audit.models import AuditEvent
from jobs.services import create_job
from organizations.roles import Role

pytestmark = pytest.mark.django_db


def ls_rect(x, y, w, h, label="automobile", score=0.9, rid="r1", **extra):
    return {
        "id": rid,
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": 640,
        "original_height": 480,
        "score": score,
        "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label], **extra},
    }


# --- the adapter -------------------------------------------------------------------------------
def test_label_studio_rectangle_percent_becomes_pixels():
    (shape,) = to_internal_shape(ls_rect(10, 25, 50, 50))
    assert shape == {
        "type": "bbox",
        "class_name": "automobile",
        "geometry": {"x": 64.0, "y": 120.0, "width": 320.0, "height": 240.0},
        "attributes": {},
        "score": 0.9,
    }


def test_label_studio_rotated_rectangle_becomes_a_rotated_box():
    (shape,) = to_internal_shape(ls_rect(10, 10, 10, 10, rotation=90))
    assert shape["type"] == "rotated_bbox"
    assert shape["geometry"]["angle"] == 90.0


def test_label_studio_polygon_keypoint_text_choices_and_video():
    raw = [
        {"type": "polygonlabels", "original_width": 200, "original_height": 100,
         "value": {"points": [[0, 0], [50, 0], [50, 50]], "polygonlabels": ["car"]}},
        {"type": "keypointlabels", "original_width": 200, "original_height": 100,
         "value": {"x": 50, "y": 50, "width": 1, "keypointlabels": ["car"]}},
        {"type": "labels", "value": {"start": 0, "end": 5, "text": "Alice", "labels": ["person"]}},
        {"type": "choices", "value": {"choices": ["dog", "car"]}},
        {"type": "videorectangle", "value": {"labels": ["person"], "sequence": [
            {"frame": 1, "enabled": False, "x": 10, "y": 10, "width": 20, "height": 20},
            {"frame": 5, "enabled": True, "x": 20, "y": 10, "width": 20, "height": 20},
        ]}},
    ]  # fmt: skip
    polygon, point, span, choice_a, choice_b, video = to_internal_shapes(raw)
    assert polygon["geometry"] == {"points": [[0.0, 0.0], [100.0, 0.0], [100.0, 50.0]]}
    assert point == {"type": "points", "class_name": "car", "geometry": {"points": [[100.0, 50.0]]}, "attributes": {}}
    assert span["geometry"] == {"start": 0, "end": 5, "text": "Alice"} and span["type"] == "text_span"
    assert [choice_a["class_name"], choice_b["class_name"]] == ["dog", "car"]
    keyframes = video["geometry"]["keyframes"]
    assert [(k["frame_index"], k["absent"]) for k in keyframes] == [(0, False), (1, True), (4, False)]
    assert keyframes[0]["bbox"] == {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}


def test_label_studio_relations_become_index_references():
    relation = {"type": "relation", "from_id": "a", "to_id": "b", "direction": "right", "labels": ["near"]}
    raw = {"result": [ls_rect(1, 1, 5, 5, rid="a"), ls_rect(50, 50, 5, 5, rid="b"), relation]}
    *_, relation = to_internal_shapes(raw)
    assert relation["geometry"] == {"from": {"index": 0}, "to": {"index": 1}, "direction": "right"}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"type": "brushlabels", "value": {"format": "rle", "rle": [1, 2], "brushlabels": ["car"]}}, "not COCO RLE"),
        (
            {"type": "rectanglelabels", "value": {"x": 1, "y": 1, "width": 1, "height": 1, "rectanglelabels": ["a"]}},
            "image size",
        ),
        ({"type": "ellipse", "value": {}}, "unsupported result type"),
        (
            {"type": "rectanglelabels", "original_width": 5, "original_height": 5, "value": {"x": 1}},
            "value.y must be a number",
        ),
        ({"type": "choices", "value": {"choices": []}}, "non-empty list"),
    ],
)
def test_adapter_refusals_say_why(item, message):
    with pytest.raises(AdapterError, match=message):
        to_internal_shapes([item])


# --- create_prediction ---------------------------------------------------------------------------
def test_create_prediction_from_raw_keeps_raw_and_stores_our_schema(desk, world_a):
    job = create_job(organization=world_a.org, kind="auto_annotate")
    raw = [ls_rect(10, 25, 50, 50), ls_rect(0, 0, 10, 10, label="pedestrian", score=0.4, rid="r2")]
    prediction = create_prediction(desk.task, "yolo-v8@3", raw=raw, score=0.77, job=job)
    assert prediction.raw == raw and prediction.job == job and prediction.score == 0.77
    assert prediction.shapes[0] == {
        "type": "bbox",
        "class_name": "automobile",
        "geometry": {"x": 64.0, "y": 120.0, "width": 320.0, "height": 240.0},
        "attributes": {},
        "frame_index": 0,
        "score": 0.9,
    }
    assert AuditEvent.objects.filter(action="prediction.created", object_id=str(prediction.pk)).exists()


def test_create_prediction_refuses_bad_output(desk):
    with pytest.raises(ValidationError) as raised:
        create_prediction(desk.task, "m", raw=[{"type": "brushlabels", "value": {}}])
    assert "result 0" in str(raised.value)
    with pytest.raises(ValidationError) as raised:
        create_prediction(desk.task, "m", shapes=[{"type": "bbox", "class_name": "x", "geometry": {"x": 1}}])
    assert "shapes.0.geometry.y" in raised.value.message_dict


def test_raw_without_sizes_uses_the_task_frame(desk):
    item = ls_rect(50, 50, 10, 10)
    del item["original_width"], item["original_height"]
    prediction = create_prediction(desk.task, "m", raw=[item])
    assert prediction.shapes[0]["geometry"]["x"] == 320.0


# --- the API ------------------------------------------------------------------------------------------
def candidates(desk, **params):
    response = desk.client().get(f"{desk.url}/predictions", params)
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def accept(desk, prediction_id, shape_index, role=Role.ANNOTATOR, **extra):
    body = {"prediction_id": prediction_id, "shape_index": shape_index, **extra}
    return desk.client(role).post(f"{desk.url}/annotations/accept", body, format="json")


def reject(desk, prediction_id, shape_index, role=Role.ANNOTATOR):
    body = {"prediction_id": prediction_id, "shape_index": shape_index}
    return desk.client(role).post(f"{desk.url}/predictions/reject", body, format="json")


def test_get_predictions_in_internal_schema_with_mapped_classes(desk):
    prediction = create_prediction(
        desk.task, "m@1", raw=[ls_rect(10, 25, 50, 50), ls_rect(1, 1, 2, 2, label="zebra")], score=0.5
    )
    (item,) = candidates(desk)
    assert item["id"] == prediction.pk and item["model_version"] == "m@1" and item["score"] == 0.5
    first, second = item["shapes"]
    assert first["shape_index"] == 0 and first["type"] == "bbox" and first["class_name"] == "automobile"
    assert first["project_class_name"] == "car" and first["decision"] is None and first["score"] == 0.9
    assert second["project_class_name"] is None
    assert "value" not in first  # never the raw Label Studio form


def test_accept_writes_an_ai_accepted_annotation_with_the_project_class(desk):
    prediction = create_prediction(desk.task, "m@1", raw=[ls_rect(10, 25, 50, 50, label="VEHICLE")])
    response = accept(desk, prediction.pk, 0, revision=0)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["revision"] == 1
    annotation = body["annotation"]
    assert annotation["class_name"] == "car" and annotation["source"] == "ai-accepted"
    assert annotation["prediction_id"] == prediction.pk and annotation["prediction_shape_index"] == 0
    assert annotation["score"] == 0.9 and annotation["model_version"] == "m@1"
    assert annotation["author"]["username"] == desk.annotator.username
    event = AuditEvent.objects.get(action="annotation.prediction_accepted")
    assert event.after["model_class"] == "VEHICLE" and event.after["class_name"] == "car"
    assert candidates(desk)[0]["shapes"] == []  # decided shapes leave the candidates
    decided = candidates(desk, include_decided="true")[0]["shapes"]
    assert decided[0]["decision"] == "accepted"


def test_accept_refuses_an_unknown_alias_naming_it(desk):
    prediction = create_prediction(desk.task, "m", raw=[ls_rect(1, 1, 5, 5, label="zebra")])
    response = accept(desk, prediction.pk, 0)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_class" and body["class_name"] == "zebra"
    assert "'zebra'" in body["message"] and "'zebra'" in body["errors"]["class_name"][0]
    assert not Annotation.objects.filter(task=desk.task).exists()


def test_accept_and_reject_refusals(desk, world_a, desk_factory):
    prediction = create_prediction(desk.task, "m", raw=[ls_rect(1, 1, 5, 5), ls_rect(2, 2, 5, 5, rid="x")])
    out_of_range = accept(desk, prediction.pk, 5)
    assert (
        out_of_range.status_code == 400
        and "has 2 shapes (0-1); got 5" in out_of_range.json()["errors"]["shape_index"][0]
    )
    assert accept(desk, 999999, 0).status_code == 404
    other_task = desk_factory(world_a)
    elsewhere = create_prediction(other_task.task, "m", raw=[ls_rect(1, 1, 5, 5)])
    assert accept(desk, elsewhere.pk, 0).status_code == 404  # a prediction of another task
    assert reject(desk, prediction.pk, 1).status_code == 200
    again = reject(desk, prediction.pk, 1)
    assert again.status_code == 409 and again.json()["decision"] == "rejected"
    assert accept(desk, prediction.pk, 1).status_code == 409
    stale = accept(desk, prediction.pk, 0, revision=3)
    assert stale.status_code == 409 and stale.json()["current_revision"] == 0
    bad = desk.client().post(f"{desk.url}/annotations/accept", {"prediction_id": "x", "shape_index": -1}, format="json")
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"prediction_id", "shape_index"}


def test_reject_hides_the_shape_and_is_audited(desk):
    prediction = create_prediction(desk.task, "m", raw=[ls_rect(1, 1, 5, 5), ls_rect(2, 2, 5, 5, rid="x")])
    response = reject(desk, prediction.pk, 0)
    assert response.status_code == 200
    assert response.json() == {"prediction_id": prediction.pk, "shape_index": 0, "decision": "rejected"}
    assert [s["shape_index"] for s in candidates(desk)[0]["shapes"]] == [1]
    assert PredictionDecision.objects.get(prediction=prediction).decided_by == desk.annotator
    assert AuditEvent.objects.filter(action="annotation.prediction_rejected").exists()
    assert not Annotation.objects.filter(task=desk.task).exists()


def test_accept_and_reject_need_the_lock_and_ai_assist(desk, world_a):
    prediction = create_prediction(desk.task, "m", raw=[ls_rect(1, 1, 5, 5)])
    assert accept(desk, prediction.pk, 0, role=Role.MANAGER).status_code == 423
    assert reject(desk, prediction.pk, 0, role=Role.REVIEWER).status_code == 423
    assert PredictionDecision.objects.count() == 0


def test_accepted_shape_is_validated_against_the_project(desk):
    prediction = (
        create_prediction(desk.task, "m", shapes=[{"type": "text_span", "class_name": "car", "geometry": {}}])
        if False
        else None
    )
    prediction = create_prediction(
        desk.task,
        "m",
        shapes=[
            {
                "type": "bbox",
                "class_name": "dog",
                "geometry": {"x": 1, "y": 1, "width": 5, "height": 5},
                "attributes": {"color": "pink"},
            }
        ],
    )
    response = accept(desk, prediction.pk, 0)
    assert response.status_code == 400
    assert "'pink' is not one of" in response.json()["errors"]["attributes.color"][0]


def test_accepting_a_relation_needs_its_ends_first(desk):
    raw = [ls_rect(1, 1, 5, 5, rid="a"), ls_rect(50, 50, 5, 5, rid="b"),
           {"type": "relation", "from_id": "a", "to_id": "b"}]  # fmt: skip
    prediction = create_prediction(desk.task, "m", raw=raw)
    early = accept(desk, prediction.pk, 2)
    assert early.status_code == 400 and "accept that shape first" in early.json()["errors"]["shape_index"][0]
    a = accept(desk, prediction.pk, 0).json()["annotation"]
    b = accept(desk, prediction.pk, 1).json()["annotation"]
    relation = accept(desk, prediction.pk, 2)
    assert relation.status_code == 201, relation.json()
    assert relation.json()["annotation"]["geometry"] == {"from": a["id"], "to": b["id"], "direction": "right"}
    assert Annotation.objects.filter(task=desk.task, source=Source.AI_ACCEPTED).count() == 3


def test_predictions_query_count_is_constant(desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = desk.client()
    create_prediction(desk.task, "m", raw=[ls_rect(1, 1, 5, 5)])
    with CaptureQueriesContext(connection) as few:
        client.get(f"{desk.url}/predictions")
    for i in range(10):
        prediction = create_prediction(desk.task, f"m{i}", raw=[ls_rect(1, 1, 5, 5), ls_rect(2, 2, 5, 5, rid="x")])
        reject(desk, prediction.pk, 0)
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"{desk.url}/predictions").json()["count"] == 11
    assert len(many) == len(few)
