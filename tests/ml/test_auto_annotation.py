"""Auto-annotation jobs: a registered model over a project's tasks → predictions (candidates),
live progress, idempotent on retry, no duplicates across runs; SAM masks from a detector's boxes."""

from __future__ import annotations

import pytest

from annotations.models import Prediction
from jobs.models import Job
from ml import annotation_sink
from ml.actors import auto_annotate
from ml.models import AutoAnnotationRun
from organizations.roles import Role
from tests.ml.conftest import LABELS, blank, import_pictures, scene

pytestmark = pytest.mark.django_db


@pytest.fixture
def project_with_pictures(world_a, make_project):
    project = make_project(world_a, kind="image", labels=LABELS)
    tasks = [import_pictures(world_a, project, [picture]) for picture in (scene(), blank(), scene(shift=30))]
    return project, tasks


def start(world, project, model, **body):
    payload = {"project_id": project.pk, "model_id": model.pk, **body}
    return world.client(Role.MANAGER).post("/api/v1/ml/auto-annotations", payload, format="json")


def test_a_detector_over_the_project_stores_one_prediction_per_task(world_a, register, project_with_pictures):
    project, tasks = project_with_pictures
    model = register()
    response = start(world_a, project, model)
    assert response.status_code == 202, response.content
    run = AutoAnnotationRun.objects.get(pk=response.json()["id"])
    assert (run.task_count, run.job.kind) == (3, "ml.auto_annotation")
    auto_annotate.fn(run.job_id)
    run.refresh_from_db()
    assert run.job.status == "succeeded" and (run.job.progress_done, run.job.progress_total) == (3, 3)
    assert (run.tasks_done, run.predictions_created, run.shapes_created) == (3, 3, 2)
    first = Prediction.objects.get(task=tasks[0])
    assert (first.job_id, first.model_version) == (run.job_id, "detection-model:v1")
    (shape,) = first.shapes
    # the model's "vehicle" is the project's "car" through the label map's alias
    assert (shape["type"], shape["class_name"], shape["frame_index"]) == ("bbox", "car", 0)
    assert abs(shape["geometry"]["x"] - 20) <= 2 and abs(shape["geometry"]["width"] - 24) <= 2
    assert first.score == shape["score"]
    assert Prediction.objects.get(task=tasks[1]).shapes == []


def test_a_redelivered_job_continues_without_duplicating(world_a, register, project_with_pictures, monkeypatch):
    project, tasks = project_with_pictures
    run = AutoAnnotationRun.objects.get(pk=start(world_a, project, register()).json()["id"])
    real = annotation_sink.create_prediction
    calls = {"n": 0}

    class WorkerKilled(BaseException):
        """The worker process dies (not an error the job could catch)."""

    def dies_on_the_second_task(**kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerKilled
        return real(**kw)

    monkeypatch.setattr(annotation_sink, "create_prediction", dies_on_the_second_task)
    with pytest.raises(WorkerKilled):
        auto_annotate.fn(run.job_id)
    assert Job.objects.get(pk=run.job_id).status == "running"
    assert Prediction.objects.filter(job_id=run.job_id).count() == 1
    auto_annotate.fn(run.job_id)  # the broker delivers the message again
    assert Job.objects.get(pk=run.job_id).status == "succeeded"
    assert sorted(Prediction.objects.filter(job_id=run.job_id).values_list("task_id", flat=True)) == [
        t.pk for t in tasks
    ]


def test_running_the_same_model_again_skips_tasks_it_already_predicted(world_a, register, project_with_pictures):
    project, tasks = project_with_pictures
    model = register()
    auto_annotate.fn(AutoAnnotationRun.objects.get(pk=start(world_a, project, model).json()["id"]).job_id)
    again = AutoAnnotationRun.objects.get(
        pk=start(world_a, project, model, task_filter={"task_ids": [tasks[0].pk, tasks[1].pk]}).json()["id"]
    )
    assert again.task_count == 2
    auto_annotate.fn(again.job_id)
    again.refresh_from_db()
    assert (again.tasks_skipped, again.predictions_created) == (2, 0)
    assert Prediction.objects.count() == 3
    forced = AutoAnnotationRun.objects.get(
        pk=start(world_a, project, model, skip_existing=False, task_filter={"task_ids": [tasks[0].pk]}).json()["id"]
    )
    auto_annotate.fn(forced.job_id)
    assert Prediction.objects.filter(task=tasks[0]).count() == 2


def test_filters_are_checked_and_scoped(world_a, world_b, register, project_with_pictures, make_project):
    project, _tasks = project_with_pictures
    model = register()
    assert start(world_a, project, model, task_filter={"statuses": ["completed"]}).status_code == 400
    assert start(world_a, project, model, task_filter={"colour": "red"}).status_code == 400
    other_project = make_project(world_b, kind="image", labels=LABELS)
    other_task = import_pictures(world_b, other_project, [scene()])
    response = start(world_a, project, model, task_filter={"task_ids": [other_task.pk]})
    assert response.status_code == 400 and "task_filter.task_ids" in response.json()["errors"]
    assert start(world_a, other_project, model).status_code == 404
    assert start(world_b, other_project, model).status_code == 404  # B cannot use A's model


def test_cancel_stops_before_the_next_task(world_a, register, project_with_pictures):
    project, _ = project_with_pictures
    run = AutoAnnotationRun.objects.get(pk=start(world_a, project, register()).json()["id"])
    world_a.client(Role.MANAGER).post(f"/api/v1/jobs/{run.job_id}/cancel")
    auto_annotate.fn(run.job_id)
    assert Job.objects.get(pk=run.job_id).status == "cancelled"
    assert not Prediction.objects.exists()


def test_sam_masks_from_the_detectors_boxes(sam_settings, world_a, register, make_project):
    project = make_project(world_a, kind="image", labels=LABELS)
    task = import_pictures(world_a, project, [scene()])
    response = start(world_a, project, register(), mode="sam_from_boxes")
    assert response.status_code == 202, response.content
    run = AutoAnnotationRun.objects.get(pk=response.json()["id"])
    assert run.model_version == "detection-model:v1+sam2.1"
    auto_annotate.fn(run.job_id)
    assert Job.objects.get(pk=run.job_id).status == "succeeded"
    prediction = Prediction.objects.get(task=task)
    # random SAM weights may find no pixel in the box; every shape kept is a traced mask
    for shape in prediction.shapes:
        assert shape["type"] == "mask" and shape["geometry"]["rle"]["size"] == [64, 96]
        assert shape["class_name"] == "car"


def test_sam_from_boxes_needs_sam_configured(no_sam, world_a, register, project_with_pictures):
    project, _ = project_with_pictures
    response = start(world_a, project, register(), mode="sam_from_boxes")
    assert response.status_code == 503
