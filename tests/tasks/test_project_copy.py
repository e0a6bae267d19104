"""Copying a project with all content: batches, tasks with tags, media rows and their stored
files (under the new project's prefix), and annotations, every id remapped."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from jobs.models import Job
from organizations.roles import Role
from projects.actors import copy_project_content as copy_job
from projects.models import Project
from tasks.models import Batch, Task
from tasks.services.claims import claim_next_task
from tests.conftest import DEFAULT_LABELS
from tests.tasks.conftest import new_batch, new_task, submit

pytestmark = pytest.mark.django_db


def _media(world, project, task, name, frames=1):
    from media.models import Asset, Frame

    path = default_storage.save(f"{project.storage_prefix}/media/{name}", ContentFile(f"bytes of {name}".encode()))
    thumb = default_storage.save(f"{project.storage_prefix}/thumbs/{name}.jpg", ContentFile(b"thumb"))
    asset = Asset.objects.create(
        organization=world.org,
        project=project,
        task=task,
        kind="image",
        original_name=name,
        file=path,
        thumbnail_path=thumb,
        content_hash=f"hash-{name}",
        width=64,
        height=48,
        status="ready",
    )
    Frame.objects.bulk_create(
        [
            Frame(organization=world.org, task=task, index=i, asset=asset, width=64, height=48, pts_ms=40.0 * i)
            for i in range(frames)
        ]
    )
    return asset


def _annotate(world, project, task, label_name, **kwargs):
    from annotations.models import Annotation

    label = project.labels.get(name=label_name)
    return Annotation.objects.create(
        organization=world.org,
        task=task,
        project=project,
        label=label,
        type=kwargs.pop("type", "bbox"),
        frame_index=0,
        geometry=kwargs.pop("geometry", {"x": 1, "y": 2, "width": 3, "height": 4}),
        author=world.owner,
        **kwargs,
    )


def test_copy_with_all_content_duplicates_batches_tasks_media_and_annotations(world_a, make_project, monkeypatch):
    import tasks.services.copy as copy_module

    monkeypatch.setattr(copy_module, "CHUNK", 2)  # several chunks, like a big project
    source = make_project(world_a, kind="image", labels=DEFAULT_LABELS)
    batch = new_batch(world_a, source, "Week 1")
    one = new_task(world_a, source, name="one.jpg", batch=batch, tags=["night"], priority=20)
    two = new_task(world_a, source, name="two.jpg", assignee=world_a.user(Role.ANNOTATOR))
    three = new_task(world_a, source, name="three.jpg")
    claim_next_task(user=world_a.owner, project=source)
    submit(one, world_a.owner)
    for task in (one, two, three):
        _media(world_a, source, task, task.name, frames=2)
    car = _annotate(world_a, source, one, "car")
    dog = _annotate(world_a, source, one, "dog", attributes={"color": "brown"})
    relation = _annotate(world_a, source, one, "car", type="relation", geometry={"from_id": car.pk, "to_id": dog.pk})
    claim_next_task(user=world_a.user(Role.ANNOTATOR), project=source)  # `two` in progress: not copied as such

    response = world_a.client(Role.MANAGER).post(
        f"/api/v1/projects/{source.pk}/copy", {"name": "Copy", "content": "all"}, format="json"
    )
    assert response.status_code == 201, response.json()
    target = Project.objects.get(pk=response.json()["id"])
    job = Job.objects.get(pk=response["Job-Id"])
    copy_job.fn(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", (job.message, job.errors)
    assert (job.progress_done, job.progress_total) == (3, 3)

    copies = {task.name: task for task in Task.objects.filter(project=target)}
    assert set(copies) == {"one.jpg", "two.jpg", "three.jpg"}
    assert not set(copies.values()) & {one, two, three}
    c1, c2 = copies["one.jpg"], copies["two.jpg"]
    assert (c1.status, c1.priority, c1.annotator) == ("submitted", 20, world_a.owner)
    assert list(c1.tags.values_list("name", flat=True)) == ["night"]
    assert (c2.status, c2.locked_by, c2.assignee) == ("assigned", None, world_a.user(Role.ANNOTATOR))
    assert Batch.objects.get(project=target).name == "Week 1" and c1.batch.project == target

    from media.models import Asset, Frame

    for name, copy in copies.items():
        asset = Asset.objects.get(task=copy)
        assert asset.project == target
        assert asset.file.startswith(target.storage_prefix + "/") and asset.thumbnail_path.startswith(
            target.storage_prefix
        )
        with default_storage.open(asset.file) as handle:
            assert handle.read() == f"bytes of {name}".encode()
        frames = list(Frame.objects.filter(task=copy).order_by("index"))
        assert [(f.index, f.asset_id, f.pts_ms) for f in frames] == [(0, asset.pk, 0.0), (1, asset.pk, 40.0)]
    assert Asset.objects.filter(project=source).count() == 3  # the source keeps its own

    from annotations.models import Annotation

    copied = {a.label.name if a.type != "relation" else "rel": a for a in Annotation.objects.filter(task=c1)}
    assert copied["car"].label.project == target and copied["car"].pk != car.pk
    assert copied["dog"].attributes == {"color": "brown"}
    assert copied["rel"].geometry == {"from_id": copied["car"].pk, "to_id": copied["dog"].pk}
    assert relation.geometry == {"from_id": car.pk, "to_id": dog.pk}


def test_a_redelivered_copy_job_does_not_copy_twice(world_a, make_project, monkeypatch):
    import tasks.services.copy as copy_module

    monkeypatch.setattr(copy_module, "CHUNK", 1)
    source = make_project(world_a, labels=DEFAULT_LABELS)
    for i in range(3):
        task = new_task(world_a, source, name=f"{i}.jpg")
        _media(world_a, source, task, f"{i}.jpg")
    from projects.services.projects import copy_project

    target, job = copy_project(actor=world_a.owner, project=source, name="Copy", content="all")
    calls = {"n": 0}
    original = copy_module._ContentCopy.copy_chunk

    def crash_after_two(self, after_id):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return original(self, after_id)

    monkeypatch.setattr(copy_module._ContentCopy, "copy_chunk", crash_after_two)
    with pytest.raises(RuntimeError):
        copy_module.copy_project_content(source, target, world_a.owner, Job.objects.get(pk=job.pk))
    assert Task.objects.filter(project=target).count() == 2
    monkeypatch.setattr(copy_module._ContentCopy, "copy_chunk", original)
    copy_module.copy_project_content(source, target, world_a.owner, Job.objects.get(pk=job.pk))
    assert sorted(Task.objects.filter(project=target).values_list("name", flat=True)) == ["0.jpg", "1.jpg", "2.jpg"]
    from media.models import Asset

    assert Asset.objects.filter(project=target).count() == 3
