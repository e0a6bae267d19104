"""History of a task's annotations and restoring a revision."""

from __future__ import annotations

import pytest

from annotations.models import Annotation, AnnotationRevision
from audit.models import AuditEvent
from organizations.roles import Role
from tests.annotations.conftest import box

pytestmark = pytest.mark.django_db


def test_history_lists_every_revision_with_who_when_action_and_changes(desk):
    first = desk.draft([box(), box(x=50)]).json()["annotations"]
    desk.draft(
        [first[0], {**first[1], "geometry": {"x": 51, "y": 20, "width": 30, "height": 40}}, box(x=90)], revision=1
    )
    desk.submit([first[0]], revision=2)
    response = desk.client(Role.REVIEWER).get(f"{desk.url}/history")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    newest, middle, oldest = body["results"]
    assert [r["revision"] for r in body["results"]] == [3, 2, 1]
    assert [r["action"] for r in body["results"]] == ["submit", "draft", "draft"]
    assert oldest["author"]["username"] == desk.annotator.username and oldest["created_at"]
    assert oldest["summary"]["added"] == sorted(a["id"] for a in first)
    assert middle["summary"]["changed"] == [first[1]["id"]] and len(middle["summary"]["added"]) == 1
    assert sorted(newest["summary"]["removed"]) == sorted([first[1]["id"], *middle["summary"]["added"]])
    assert "snapshot" not in newest
    with_snapshots = desk.client().get(f"{desk.url}/history", {"include_snapshot": "true", "limit": 1}).json()
    assert [a["id"] for a in with_snapshots["results"][0]["snapshot"]] == [first[0]["id"]]


def test_manager_restores_an_old_revision_as_a_new_one(desk, world_a):
    first = desk.draft([box(), box(x=50)]).json()["annotations"]
    desk.submit([{**first[0], "geometry": {"x": 1, "y": 1, "width": 5, "height": 5}}, box(x=300)], revision=1)
    response = world_a.client(Role.MANAGER).post(
        f"{desk.url}/history/restore", {"number": 1, "revision": 2}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["revision"] == 3
    restored = sorted(body["annotations"], key=lambda a: a["id"])
    assert [a["id"] for a in restored] == [first[0]["id"], first[1]["id"]]  # deleted ones come back with their ids
    assert [a["geometry"]["x"] for a in restored] == [10.0, 50.0]
    revision = AnnotationRevision.objects.get(task=desk.task, number=3)
    assert revision.action == "restore" and revision.summary["restored_from"] == 1
    assert revision.author == world_a.user(Role.MANAGER)
    assert AuditEvent.objects.filter(action="annotation.revision_restored").exists()


def test_restore_refusals(desk, world_a):
    desk.draft([box()])
    manager = world_a.client(Role.MANAGER)
    # the annotator still holds the lock: their work must not change under them
    locked = manager.post(f"{desk.url}/history/restore", {"number": 1}, format="json")
    assert locked.status_code == 423 and locked.json()["locked_by"] == desk.annotator.username
    desk.submit([], revision=1)
    assert manager.post(f"{desk.url}/history/restore", {"number": 9}, format="json").status_code == 404
    stale = manager.post(f"{desk.url}/history/restore", {"number": 1, "revision": 1}, format="json")
    assert stale.status_code == 409 and stale.json()["current_revision"] == 2
    for role in (Role.ANNOTATOR, Role.REVIEWER):
        denied = world_a.client(role).post(f"{desk.url}/history/restore", {"number": 1}, format="json")
        assert denied.status_code == 403


def test_restore_refuses_when_a_class_was_deleted(desk, world_a):
    from projects.services.labels import create_label, delete_label

    label = create_label(actor=world_a.owner, project=desk.project, data={"name": "tmp", "color": "#123456"})
    desk.submit([box(class_name="tmp")])
    desk.refresh()
    Annotation.objects.filter(task=desk.task).delete()  # (as if a later revision removed it)
    delete_label(actor=world_a.owner, label=label)
    response = world_a.client(Role.MANAGER).post(f"{desk.url}/history/restore", {"number": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["missing_classes"] == ["tmp"]


def test_history_query_count_is_constant(desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = desk.client()
    desk.draft([box()])
    with CaptureQueriesContext(connection) as few:
        client.get(f"{desk.url}/history")
    for i in range(1, 15):
        desk.draft([box(x=i)], revision=i)
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"{desk.url}/history").json()["count"] == 15
    assert len(many) == len(few)


def test_history_with_snapshots_takes_constant_queries_and_rebuilds_each_revision(desk):
    """The workspace opens every task with ``include_snapshot=true&limit=30``: the page's
    snapshots come from one walk over the revisions, not one rebuild (3 queries) each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotations.services.revisions import revision_state

    client = desk.client()
    url = f"{desk.url}/history?include_snapshot=true&limit=30"
    desk.draft([box()])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    shapes: list[dict] = []
    for i in range(1, 45):  # a growing set past two checkpoints, with a deletion now and then
        if i % 7 == 3 and len(shapes) > 3:
            shapes.pop(1)
        response = desk.draft([*shapes, box(x=i)], revision=i)
        assert response.status_code == 200, response.json()
        keys = ("id", "type", "class_name", "geometry", "frame_index")
        shapes = [{k: a[k] for k in keys} for a in response.json()["annotations"]]
    assert AnnotationRevision.objects.filter(task=desk.task, is_checkpoint=False).count() > 30
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).json()
    assert len(many) == len(few)
    assert [r["revision"] for r in page["results"]] == list(range(45, 15, -1))
    for row in page["results"]:
        assert row["snapshot"] == revision_state(desk.task, row["revision"]), row["revision"]
    second = client.get(url + "&offset=30").json()["results"]
    assert [r["revision"] for r in second] == list(range(15, 0, -1))
    assert all(r["snapshot"] == revision_state(desk.task, r["revision"]) for r in second)


def test_revisions_between_checkpoints_store_only_changes_and_rebuild_exactly(desk):
    """Autosaves of a growing set: only every CHECKPOINT_EVERY-th revision stores the whole
    set, yet every revision rebuilds (and restores) exactly."""
    from annotations.services.revisions import CHECKPOINT_EVERY, revision_state

    expected = {}
    shapes: list[dict] = []
    for step in range(CHECKPOINT_EVERY + 5):
        if step % 7 == 3 and len(shapes) > 3:
            shapes.pop(1)  # a deletion now and then
        shapes = [*shapes, box(x=2 + step, y=3, w=5, h=5)]
        response = desk.draft(shapes)
        assert response.status_code == 200, response.json()
        shapes = [
            {k: a[k] for k in ("id", "type", "class_name", "geometry", "frame_index")}
            for a in response.json()["annotations"]
        ]
        expected[desk.refresh().annotation_revision] = sorted(a["id"] for a in response.json()["annotations"])
    revisions = AnnotationRevision.objects.filter(task=desk.task).order_by("number")
    full = [r.number for r in revisions if r.is_checkpoint]
    assert 1 in full and CHECKPOINT_EVERY + 1 in full
    assert len(full) < len(revisions) / 3
    assert all(r.snapshot == [] and r.delta for r in revisions if not r.is_checkpoint)
    for number, ids in expected.items():
        state = revision_state(desk.task, number)
        assert [item["id"] for item in state] == ids, number
    # Restoring a revision stored as a delta brings back exactly its set.
    middle = CHECKPOINT_EVERY - 2
    desk.client().delete(f"{desk.url}/lock")  # the annotator lets go; a manager restores
    response = desk.client("manager").post(f"{desk.url}/history/restore", {"number": middle}, format="json")
    assert response.status_code == 200, response.json()
    assert sorted(a["id"] for a in response.json()["annotations"]) == expected[middle]
    assert revision_state(desk.task, 10**6) is None
