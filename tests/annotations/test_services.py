"""The services other apps call: write_annotations (importers, propagation) and clear_chain."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from annotations.models import Annotation, AnnotationRevision, Source
from annotations.services import clear_chain, create_prediction, delete_annotations, write_annotations
from annotations.shapes import ShapesInvalid
from audit.models import AuditEvent
from jobs.services import create_job
from tests.annotations.conftest import box

pytestmark = pytest.mark.django_db

SQUARE = [[10, 10], [60, 10], [60, 60], [10, 60]]


def mask(frame: int, object_id: str | None = None) -> dict:
    shape = {
        "type": "mask",
        "class_name": "car",
        "frame_index": frame,
        "geometry": {"polygons": [{"exterior": SQUARE}]},
    }
    if object_id:
        shape["object_id"] = object_id
    return shape


def test_importer_writes_imported_annotations_mapping_aliases(desk, world_a):
    result = write_annotations(desk.task, [box(class_name="automobile"), box(class_name="dog")], source=Source.IMPORTED)
    assert [a.label.name for a in result.annotations] == ["car", "dog"]
    assert {a.source for a in result.annotations} == {"imported"}
    assert result.revision.number == 1 and result.revision.action == "import"
    assert result.revision.summary["source"] == "imported"
    assert AuditEvent.objects.filter(action="annotation.import").exists()
    again = write_annotations(desk.task, [box(x=1)], source=Source.IMPORTED)
    assert Annotation.objects.filter(task=desk.task).count() == 3 and again.revision.number == 2
    replaced = write_annotations(desk.task, [box(x=2)], source=Source.IMPORTED, replace=True)
    assert list(Annotation.objects.filter(task=desk.task)) == replaced.annotations


def test_write_refuses_bad_shapes_and_writes_nothing(desk):
    with pytest.raises(ShapesInvalid) as raised:
        write_annotations(desk.task, [box(), box(class_name="zebra")], source=Source.IMPORTED)
    assert "unknown class 'zebra'" in raised.value.errors["shapes.1.class_name"][0]
    assert not Annotation.objects.filter(task=desk.task).exists()
    with pytest.raises(ValueError, match="unknown source"):
        write_annotations(desk.task, [box()], source="robot")


def test_a_background_write_makes_the_annotators_stale_save_409(desk):
    desk.draft([box()], revision=0)
    write_annotations(desk.task, [box(x=200)], source=Source.IMPORTED)
    response = desk.draft([box(x=3)], revision=1)
    assert response.status_code == 409 and response.json()["current_revision"] == 2
    assert Annotation.objects.filter(task=desk.task).count() == 2


def test_clear_chain_removes_exactly_that_jobs_propagated_annotations(video_desk, world_a):
    task = video_desk.task
    job = create_job(organization=world_a.org, kind="sam_propagate", project=video_desk.project)
    other_job = create_job(organization=world_a.org, kind="sam_propagate", project=video_desk.project)
    manual = video_desk.draft([mask(0, "obj-1")]).json()["annotations"][0]
    chain = write_annotations(
        task,
        [mask(i) for i in range(1, 6)],
        source=Source.PROPAGATED,
        produced_by=job,
        object_id="obj-1",
        action="propagate",
    )
    assert {a.object_id for a in chain.annotations} == {"obj-1"} and {a.produced_by_id for a in chain.annotations} == {
        job.pk
    }
    independent = write_annotations(task, [mask(7)], source=Source.PROPAGATED, produced_by=other_job, object_id="obj-2")
    ai = write_annotations(task, [mask(8)], source=Source.AI)
    imported_by_job = write_annotations(task, [mask(9)], source=Source.IMPORTED, produced_by=job)
    # a person corrects one propagated mask: it leaves the chain
    current = video_desk.current()
    corrected_id = chain.annotations[0].pk
    shapes = [
        {**a, "geometry": {"polygons": [{"exterior": [[0, 0], [30, 0], [30, 30]]}]}} if a["id"] == corrected_id else a
        for a in current["annotations"]
    ]
    assert video_desk.draft(shapes, revision=current["revision"]).status_code == 200
    corrected = Annotation.objects.get(pk=corrected_id)
    assert corrected.source == Source.MANUAL and corrected.produced_by_id is None and corrected.object_id == "obj-1"

    deleted = clear_chain(task, job)
    assert deleted == 4
    left = set(Annotation.objects.filter(task=task).values_list("pk", flat=True))
    assert left == {
        manual["id"],
        corrected_id,
        independent.annotations[0].pk,
        ai.annotations[0].pk,
        imported_by_job.annotations[0].pk,
    }
    latest = AnnotationRevision.objects.filter(task=task).latest("number")
    assert latest.action == "clear_chain" and len(latest.summary["removed"]) == 4
    assert AuditEvent.objects.filter(action="annotation.chain_cleared").exists()
    assert clear_chain(task, job) == 0


def test_create_prediction_takes_internal_shapes(desk):
    prediction = create_prediction(desk.task, "sam2.1", shapes=[{**box(class_name="pedestrian"), "score": 0.8}])
    assert prediction.shapes[0]["class_name"] == "pedestrian" and prediction.shapes[0]["score"] == 0.8


def test_delete_annotations_is_one_revision_and_refuses_other_ids(desk):
    a, b = desk.draft([box(), box(x=50)]).json()["annotations"]
    result = delete_annotations(desk.task, [a["id"]], actor=desk.annotator, revision=1)
    assert result.revision.summary["removed"] == [a["id"]] and result.revision.action == "delete"
    assert list(Annotation.objects.filter(task=desk.task).values_list("pk", flat=True)) == [b["id"]]
    with pytest.raises(ValidationError, match="no annotation 999999"):
        delete_annotations(desk.task, [b["id"], 999999], actor=desk.annotator)
    assert Annotation.objects.filter(pk=b["id"]).exists()
