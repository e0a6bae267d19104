"""Evaluation jobs: a model against reviewed annotations — mAP (COCOeval), precision, recall,
F1, per-class table, confusion matrix, counts — and the metric functions themselves."""

from __future__ import annotations

import pytest

from annotations.geometry import polygons_to_mask, rle_encode
from annotations.services import write_annotations
from ml.actors import evaluate_model
from ml.metrics import ImageShapes, classification_metrics, detection_metrics
from ml.models import EvaluationRun
from organizations.roles import Role
from tasks.models import Task
from tasks.services.lifecycle import transition_task
from tests.ml.conftest import LABELS, blank, import_pictures, scene

pytestmark = pytest.mark.django_db


# --- the metric functions ------------------------------------------------------------------------
def test_perfect_detections_score_one_everywhere():
    images = [ImageShapes(100, 100, gt=[(0, [10, 10, 20, 20])], dt=[(0, 0.9, [10, 10, 20, 20])])]
    out = detection_metrics(images, ["car", "person"], iou_threshold=0.5, confidence_threshold=0.5)
    assert out["metrics"]["map"] == out["metrics"]["map50"] == out["metrics"]["ap"] == 1.0
    assert (out["metrics"]["precision"], out["metrics"]["recall"], out["metrics"]["f1"]) == (1.0, 1.0, 1.0)
    assert out["per_class"][1]["ap"] is None  # no ground truth of that class
    assert out["confusion_matrix"]["matrix"] == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_wrong_class_missed_object_and_low_confidence_detections():
    images = [
        ImageShapes(100, 100, gt=[(0, [10, 10, 20, 20])], dt=[(0, 0.9, [11, 11, 20, 20])]),  # IoU 0.81
        ImageShapes(100, 100, gt=[(1, [50, 50, 10, 10])], dt=[(0, 0.8, [50, 50, 10, 10])]),  # wrong class
        ImageShapes(100, 100, gt=[(0, [0, 0, 30, 30])], dt=[(0, 0.2, [0, 0, 30, 30])]),  # under the threshold
    ]
    out = detection_metrics(images, ["car", "person"], iou_threshold=0.5, confidence_threshold=0.5)
    m = out["metrics"]
    assert (m["tp"], m["fp"], m["fn"]) == (1, 1, 2)
    assert (m["precision"], m["recall"]) == (0.5, pytest.approx(1 / 3, abs=1e-6))
    car, person = out["per_class"]
    assert (car["gt_count"], car["pred_count"], car["tp"], car["fp"], car["fn"]) == (2, 2, 1, 1, 1)
    assert (person["gt_count"], person["tp"], person["fn"]) == (1, 0, 1)
    # rows: truth, columns: prediction; the last row/column is background
    assert out["confusion_matrix"]["labels"] == ["car", "person", "background"]
    assert out["confusion_matrix"]["matrix"] == [[1, 0, 1], [1, 0, 0], [0, 0, 0]]
    # AP uses every score: car's ranking TP 0.9, FP 0.8, TP 0.2 → precision 1 up to recall 0.5,
    # then 2/3 (COCO's 101-point interpolation); person has no detection: 0.
    assert car["ap"] == pytest.approx((51 * 1 + 50 * 2 / 3) / 101, abs=1e-4)
    assert out["metrics"]["ap"] == pytest.approx(car["ap"] / 2, abs=1e-4)
    stricter = detection_metrics(images, ["car", "person"], iou_threshold=0.9, confidence_threshold=0.5)
    assert stricter["metrics"]["tp"] == 0


def test_masks_are_compared_by_mask_iou():
    square = rle_encode(polygons_to_mask([{"exterior": [[10, 10], [30, 10], [30, 30], [10, 30]], "holes": []}], 40, 40))
    images = [ImageShapes(40, 40, gt=[(0, square)], dt=[(0, 0.9, square)])]
    out = detection_metrics(images, ["car"], iou_type="segm")
    assert out["metrics"]["map"] == 1.0 and out["metrics"]["f1"] == 1.0


def test_classification_metrics_and_no_map():
    out = classification_metrics([(0, 0), (0, 1), (1, 1), (1, None)], ["car", "person"])
    m = out["metrics"]
    assert m["accuracy"] == 0.5 and m["map"] is None
    assert out["confusion_matrix"]["matrix"] == [[1, 1, 0], [0, 1, 1], [0, 0, 0]]
    assert out["per_class"][0]["precision"] == 1.0 and out["per_class"][1]["recall"] == 0.5


# --- the job --------------------------------------------------------------------------------------
def reviewed(task: Task, actor) -> Task:
    for status in ("in_progress", "submitted", "reviewed"):
        task = transition_task(task, status, actor=actor)
    return task


def box(class_name: str, x: float, y: float, w: float, h: float) -> dict:
    return {"type": "bbox", "class_name": class_name, "geometry": {"x": x, "y": y, "width": w, "height": h}}


@pytest.fixture
def reviewed_project(world_a, make_project):
    """Three reviewed image tasks (a car seen right, a person the model calls a car, a car the
    model misses) and one task still in progress."""
    project = make_project(world_a, kind="image", labels=LABELS)
    truth = [(scene(), box("car", 20, 16, 24, 24)), (scene(), box("person", 20, 16, 24, 24))]
    truth.append((blank(), box("car", 60, 30, 20, 20)))
    tasks = []
    for picture, shape in truth:
        task = import_pictures(world_a, project, [picture])
        write_annotations(task, [{**shape, "frame_index": 0}], source="manual", actor=world_a.owner)
        tasks.append(reviewed(task, world_a.owner))
    unfinished = import_pictures(world_a, project, [scene()])
    transition_task(unfinished, "in_progress", actor=world_a.owner)
    return project, tasks


def test_evaluation_compares_the_model_with_reviewed_work(world_a, register, reviewed_project):
    project, _tasks = reviewed_project
    model = register()
    response = world_a.client(Role.MANAGER).post(
        "/api/v1/ml/evaluations",
        {"project_id": project.pk, "model_id": model.pk, "iou_threshold": 0.5, "confidence_threshold": 0.3},
        format="json",
    )
    assert response.status_code == 202, response.content
    run = EvaluationRun.objects.get(pk=response.json()["id"])
    assert run.task_count == 3  # reviewed/completed only, by default
    evaluate_model.fn(run.job_id)
    body = world_a.client(Role.MANAGER).get(f"/api/v1/ml/evaluations/{run.pk}").json()
    assert body["job"]["status"] == "succeeded"
    assert (body["image_count"], body["gt_count"], body["pred_count"]) == (3, 3, 2)
    metrics = body["metrics"]
    assert (metrics["tp"], metrics["fp"], metrics["fn"]) == (1, 1, 2)
    assert metrics["precision"] == 0.5 and metrics["recall"] == pytest.approx(1 / 3, abs=1e-6)
    assert 0 < metrics["map50"] < 1
    assert body["confusion_matrix"] == {
        "labels": ["car", "person", "background"],
        "matrix": [[1, 0, 1], [1, 0, 0], [0, 0, 0]],
    }
    car = next(row for row in body["per_class"] if row["label"] == "car")
    assert (car["gt_count"], car["pred_count"], car["tp"]) == (2, 2, 1)


def test_a_classifier_is_evaluated_against_classification_annotations(world_a, register, make_project):
    project = make_project(world_a, kind="image", labels=LABELS)
    for picture, label in ((scene(), "car"), (blank(), "person"), (blank(), "car")):
        task = import_pictures(world_a, project, [picture])
        shape = {"type": "classification", "class_name": label, "frame_index": 0, "geometry": {}}
        write_annotations(task, [shape], source="manual", actor=world_a.owner)
        reviewed(task, world_a.owner)
    model = register("classification")
    run = EvaluationRun.objects.get(
        pk=world_a.client()
        .post("/api/v1/ml/evaluations", {"project_id": project.pk, "model_id": model.pk}, format="json")
        .json()["id"]
    )
    evaluate_model.fn(run.job_id)
    run.refresh_from_db()
    assert run.metrics["accuracy"] == pytest.approx(2 / 3, abs=1e-6) and run.metrics["map"] is None
    assert run.confusion_matrix["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]


def test_nothing_to_evaluate_is_a_400(world_a, register, make_project):
    project = make_project(world_a, kind="image", labels=LABELS)
    import_pictures(world_a, project, [scene()])
    response = world_a.client().post(
        "/api/v1/ml/evaluations", {"project_id": project.pk, "model_id": register().pk}, format="json"
    )
    assert response.status_code == 400 and "reviewed or completed" in response.json()["message"]
