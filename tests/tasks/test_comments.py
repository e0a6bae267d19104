"""Comments: list, add (pinned to a frame and position, or an annotation of the same task),
resolve and unresolve; validation, permissions and tenancy."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from organizations.roles import Role
from tasks.models import Comment
from tests.tasks.conftest import new_task

pytestmark = pytest.mark.django_db


def _annotation(world, task, project):
    from annotations.models import Annotation

    return Annotation.objects.create(
        organization=world.org, task=task, project=project, type="bbox", frame_index=0, geometry={}
    )


def _frames(world, task, project, count):
    from media.models import Asset, Frame

    asset = Asset.objects.create(
        organization=world.org,
        project=project,
        task=task,
        kind="video",
        original_name="v.mp4",
        file="x",
        content_hash="h",
    )
    Frame.objects.bulk_create(
        [Frame(organization=world.org, task=task, index=i, asset=asset, width=64, height=48) for i in range(count)]
    )


def test_every_role_comments_and_lists_comments(world_a, project):
    task = new_task(world_a, project)
    for role in (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR):
        response = world_a.client(role).post(
            f"/api/v1/tasks/{task.pk}/comments", {"body": f"from {role}"}, format="json"
        )
        assert response.status_code == 201, response.json()
    listed = world_a.client(Role.ANNOTATOR).get(f"/api/v1/tasks/{task.pk}/comments").json()
    assert listed["count"] == 5
    assert listed["results"][0]["body"] == "from owner"
    assert AuditEvent.objects.filter(action="comment.created").count() == 5


def test_comment_pinned_to_a_frame_position_and_annotation(world_a, project):
    task = new_task(world_a, project)
    _frames(world_a, task, project, 3)
    annotation = _annotation(world_a, task, project)
    response = world_a.client(Role.REVIEWER).post(
        f"/api/v1/tasks/{task.pk}/comments",
        {"body": "Occluded here", "frame_index": 2, "position": {"x": 12.5, "y": 40}, "annotation_id": annotation.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    out = response.json()
    assert (out["frame_index"], out["position"], out["annotation_id"]) == (2, {"x": 12.5, "y": 40.0}, annotation.pk)
    assert out["author"]["username"] == world_a.user(Role.REVIEWER).username
    assert out["resolved"] is False
    by_frame = world_a.client().get(f"/api/v1/tasks/{task.pk}/comments?frame_index=2").json()
    assert by_frame["count"] == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 10001}, "body"),
        ({"body": "x", "frame_index": -1}, "frame_index"),
        ({"body": "x", "frame_index": 3}, "frame_index"),
        ({"body": "x", "position": {"x": 1, "y": 1}}, "frame_index"),
        ({"body": "x", "frame_index": 0, "position": {"x": -1, "y": 1}}, "position.x"),
        ({"body": "x", "frame_index": 0, "position": {"x": 1}}, "position.y"),
        ({"body": "x", "frame_index": 0, "position": {"x": 1, "y": 1, "z": 1}}, "position.z"),
        ({"body": "x", "pinned": True}, "pinned"),
    ],
)
def test_bad_comments_are_400_naming_the_field(world_a, project, body, field):
    task = new_task(world_a, project)
    _frames(world_a, task, project, 3)
    response = world_a.client().post(f"/api/v1/tasks/{task.pk}/comments", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_annotation_of_another_task_is_400_and_of_another_organization_404(world_a, world_b, project, foreign_project):
    task = new_task(world_a, project)
    other = _annotation(world_a, new_task(world_a, project), project)
    foreign = _annotation(world_b, new_task(world_b, foreign_project), foreign_project)
    url = f"/api/v1/tasks/{task.pk}/comments"
    response = world_a.client().post(url, {"body": "x", "annotation_id": other.pk}, format="json")
    assert response.status_code == 400 and "annotation_id" in response.json()["errors"]
    assert world_a.client().post(url, {"body": "x", "annotation_id": foreign.pk}, format="json").status_code == 404
    assert not Comment.objects.exists()


def test_resolve_and_unresolve(world_a, project):
    task = new_task(world_a, project)
    created = world_a.client(Role.REVIEWER).post(f"/api/v1/tasks/{task.pk}/comments", {"body": "fix"}, format="json")
    comment_id = created.json()["id"]
    resolved = world_a.client(Role.ANNOTATOR).post(f"/api/v1/comments/{comment_id}/resolve")
    assert resolved.status_code == 200
    assert resolved.json()["resolved"] is True
    assert resolved.json()["resolved_by"]["username"] == world_a.user(Role.ANNOTATOR).username
    assert world_a.client().get(f"/api/v1/tasks/{task.pk}/comments?resolved=false").json()["count"] == 0
    again = world_a.client(Role.REVIEWER).post(f"/api/v1/comments/{comment_id}/unresolve")
    assert again.json()["resolved"] is False and again.json()["resolved_at"] is None
    assert world_a.client().get(f"/api/v1/comments/{comment_id}").json()["body"] == "fix"
    actions = list(AuditEvent.objects.filter(object_type="tasks.comment").values_list("action", flat=True))
    assert sorted(actions) == ["comment.created", "comment.resolved", "comment.unresolved"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("resolved=yes", "resolved"), ("frame_index=1.0", "frame_index"), ("frame_index=-1", "frame_index")],
)
def test_list_filters_that_cannot_be_read_are_400_not_ignored(world_a, project, query, field):
    task = new_task(world_a, project)
    response = world_a.client().get(f"/api/v1/tasks/{task.pk}/comments?{query}")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()
    assert world_a.client().get(f"/api/v1/tasks/{task.pk}/comments?resolved=&frame_index=").status_code == 200


def test_another_organizations_comments_are_404(world_a, world_b, foreign_project):
    task = new_task(world_b, foreign_project)
    created = world_b.client().post(f"/api/v1/tasks/{task.pk}/comments", {"body": "secret"}, format="json").json()
    client = world_a.client()
    assert client.get(f"/api/v1/tasks/{task.pk}/comments").status_code == 404
    assert client.post(f"/api/v1/tasks/{task.pk}/comments", {"body": "x"}, format="json").status_code == 404
    assert client.get(f"/api/v1/comments/{created['id']}").status_code == 404
    assert client.post(f"/api/v1/comments/{created['id']}/resolve").status_code == 404
