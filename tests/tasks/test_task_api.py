"""Tasks through the API: create, read (TaskOut), change, delete, list with filters, ordering
and paging, count, id→name map, bulk changes; tenancy and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from organizations.roles import Role
from tasks.models import Task, TaskTransition
from tasks.services.claims import claim_next_task
from tests.tasks.conftest import fresh, new_batch, new_task

pytestmark = pytest.mark.django_db

M, A = Role.MANAGER, Role.ANNOTATOR


# --- create --------------------------------------------------------------------------------
def test_manager_creates_a_text_task_without_media(world_a, make_project):
    project = make_project(world_a, kind="text")
    batch = new_batch(world_a, project, "week 1")
    body = {
        "project_id": project.pk,
        "batch_id": batch.pk,
        "name": "review-0001",
        "text": "Alice flew to Paris.",
        "priority": 20,
        "tags": ["ner", "news"],
        "assignee_id": world_a.user(A).pk,
        "reviewer_id": world_a.user(Role.REVIEWER).pk,
    }
    response = world_a.client(M).post("/api/v1/tasks", body, format="json")
    assert response.status_code == 201, response.json()
    out = response.json()
    assert out["status"] == "assigned"
    assert out["text"] == "Alice flew to Paris."
    assert out["tags"] == ["ner", "news"]
    assert out["batch_id"] == batch.pk and out["batch_name"] == "week 1"
    assert out["assignee"]["id"] == world_a.user(A).pk
    assert out["video_metadata"] is None
    assert AuditEvent.objects.filter(action="task.created", object_id=str(out["id"])).exists()


def test_created_task_without_assignee_is_created(world_a, project):
    response = world_a.client(M).post("/api/v1/tasks", {"project_id": project.pk, "name": "a.jpg"}, format="json")
    assert response.json()["status"] == "created"
    assert response.json()["allowed_transitions"] == ["assigned", "in_progress", "skipped"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x"}, "project_id"),
        ({"project_id": "p", "name": "x"}, "project_id"),
        ({"project_id": 1}, "name"),
        ({"project_id": 1, "name": ""}, "name"),
        ({"project_id": 1, "name": "n" * 501}, "name"),
        ({"project_id": 1, "name": "x", "priority": 2**31}, "priority"),
        ({"project_id": 1, "name": "x", "tags": "a"}, "tags"),
        ({"project_id": 1, "name": "x", "tags": ["t" * 101]}, "tags.0"),
        ({"project_id": 1, "name": "x", "status": "completed"}, "status"),
    ],
)
def test_bad_create_bodies_are_400_naming_the_field(world_a, body, field):
    response = world_a.client(M).post("/api/v1/tasks", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_assignee_must_be_a_member_who_may_annotate(world_a, world_b, project):
    client = world_a.client(M)
    outsider = client.post(
        "/api/v1/tasks", {"project_id": project.pk, "name": "x", "assignee_id": world_b.user(A).pk}, format="json"
    )
    assert outsider.status_code == 400
    assert "No member" in outsider.json()["errors"]["assignee_id"][0]
    reviewer = client.post(
        "/api/v1/tasks",
        {"project_id": project.pk, "name": "x", "assignee_id": world_a.user(Role.REVIEWER).pk},
        format="json",
    )
    assert reviewer.status_code == 400
    assert "may not claim tasks" in reviewer.json()["errors"]["assignee_id"][0]
    annotator_as_reviewer = client.post(
        "/api/v1/tasks", {"project_id": project.pk, "name": "x", "reviewer_id": world_a.user(A).pk}, format="json"
    )
    assert annotator_as_reviewer.status_code == 400


def test_create_in_another_organizations_project_or_batch_is_404(world_a, world_b, project, foreign_project):
    client = world_a.client(M)
    assert (
        client.post("/api/v1/tasks", {"project_id": foreign_project.pk, "name": "x"}, format="json").status_code == 404
    )
    foreign_batch = new_batch(world_b, foreign_project)
    response = client.post(
        "/api/v1/tasks", {"project_id": project.pk, "name": "x", "batch_id": foreign_batch.pk}, format="json"
    )
    assert response.status_code == 404
    assert not Task.objects.filter(project=project).exists()


# --- read, change, delete ------------------------------------------------------------------
def test_task_out_carries_video_metadata_from_the_media_hook(world_a, project, monkeypatch):
    import types

    task = new_task(world_a, project)
    fake = types.ModuleType("media.selectors")
    fake.video_metadata_for = lambda t: {"duration_ms": 1000, "fps": 25, "frame_count": 25} if t.pk == task.pk else None
    monkeypatch.setitem(__import__("sys").modules, "media.selectors", fake)
    body = world_a.client(A).get(f"/api/v1/tasks/{task.pk}").json()
    assert body["video_metadata"] == {"duration_ms": 1000, "fps": 25, "frame_count": 25}


def test_every_member_may_read_a_task(world_a, project):
    task = new_task(world_a, project)
    for role in (Role.OWNER, Role.ADMIN, M, Role.REVIEWER, A):
        assert world_a.client(role).get(f"/api/v1/tasks/{task.pk}").status_code == 200


def test_manager_updates_name_priority_tags_batch_and_assignee(world_a, project):
    task = new_task(world_a, project, tags=["old"])
    batch = new_batch(world_a, project)
    response = world_a.client(M).patch(
        f"/api/v1/tasks/{task.pk}",
        {
            "name": "renamed",
            "priority": 30,
            "tags": ["night", "rain"],
            "batch_id": batch.pk,
            "assignee_id": world_a.user(A).pk,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    out = response.json()
    assert (out["name"], out["priority"], out["tags"], out["batch_id"]) == ("renamed", 30, ["night", "rain"], batch.pk)
    assert out["status"] == "assigned"
    event = AuditEvent.objects.get(action="task.updated", object_id=str(task.pk))
    assert event.before["tags"] == ["old"] and event.after["status"] == "assigned"
    assert TaskTransition.objects.get(task=task).to_status == "assigned"
    unassigned = world_a.client(M).patch(f"/api/v1/tasks/{task.pk}", {"assignee_id": None}, format="json").json()
    assert (unassigned["assignee"], unassigned["status"]) == (None, "created")


def test_update_with_a_batch_of_another_project_is_404_and_bad_fields_400(world_a, project, make_project):
    task = new_task(world_a, project)
    other_batch = new_batch(world_a, make_project(world_a))
    client = world_a.client(M)
    assert client.patch(f"/api/v1/tasks/{task.pk}", {"batch_id": other_batch.pk}, format="json").status_code == 404
    response = client.patch(f"/api/v1/tasks/{task.pk}", {"status": "completed"}, format="json")
    assert response.status_code == 400 and "status" in response.json()["errors"]
    assert client.patch(f"/api/v1/tasks/{task.pk}", {"priority": "high"}, format="json").status_code == 400


def test_text_of_a_task_someone_else_holds_cannot_change(world_a, make_project):
    project = make_project(world_a, kind="text")
    task = new_task(world_a, project, text="Alice flew to Paris.")
    claim_next_task(user=world_a.user(A), project=project)
    response = world_a.client(M).patch(f"/api/v1/tasks/{task.pk}", {"text": "Bob"}, format="json")
    assert response.status_code == 423
    assert response.json()["locked_by"] == world_a.user(A).username
    assert world_a.client(M).patch(f"/api/v1/tasks/{task.pk}", {"priority": 5}, format="json").status_code == 200


def test_manager_deletes_a_task_but_not_one_someone_holds(world_a, project):
    task = new_task(world_a, project)
    held = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)  # takes `task`, the older one
    assert world_a.client(M).delete(f"/api/v1/tasks/{task.pk}").status_code == 423
    assert world_a.client(M).delete(f"/api/v1/tasks/{held.pk}").status_code == 204
    assert not Task.objects.filter(pk=held.pk).exists()
    assert AuditEvent.objects.filter(action="task.deleted", object_id=str(held.pk)).exists()


def test_annotators_and_reviewers_may_not_change_tasks(world_a, project):
    task = new_task(world_a, project)
    for role in (A, Role.REVIEWER):
        client = world_a.client(role)
        for response in (
            client.post("/api/v1/tasks", {"project_id": project.pk, "name": "x"}, format="json"),
            client.patch(f"/api/v1/tasks/{task.pk}", {"name": "y"}, format="json"),
            client.delete(f"/api/v1/tasks/{task.pk}"),
            client.post("/api/v1/tasks/bulk", {"task_ids": [task.pk], "priority": 1}, format="json"),
        ):
            assert response.status_code == 403
            assert f"Your role ({role}) may not create, delete, assign" in response.json()["message"]


def test_another_organizations_task_is_404_for_every_method(world_a, world_b, foreign_project):
    task = new_task(world_b, foreign_project)
    client = world_a.client(Role.OWNER)
    assert client.get(f"/api/v1/tasks/{task.pk}").status_code == 404
    assert client.patch(f"/api/v1/tasks/{task.pk}", {"name": "x"}, format="json").status_code == 404
    assert client.delete(f"/api/v1/tasks/{task.pk}").status_code == 404
    assert client.get(f"/api/v1/tasks/{task.pk}/transitions").status_code == 404
    assert client.get(f"/api/v1/tasks/{task.pk}/comments").status_code == 404
    assert Task.objects.filter(pk=task.pk, name=task.name).exists()


# --- lists ---------------------------------------------------------------------------------
@pytest.fixture
def listed(world_a, project):
    batch = new_batch(world_a, project, "b1")
    annotator = world_a.user(A)
    tasks = {
        "cat": new_task(world_a, project, name="cat-001.jpg", priority=10, tags=["animal"], batch=batch),
        "dog": new_task(
            world_a, project, name="dog-001.jpg", priority=30, tags=["animal", "night"], assignee=annotator
        ),
        "car": new_task(world_a, project, name="car-001.jpg", priority=0, tags=["vehicle"]),
        "bus": new_task(
            world_a, project, name="bus-001.jpg", priority=20, batch=batch, reviewer=world_a.user(Role.REVIEWER)
        ),
    }
    return batch, tasks


def _ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_list_filters(world_a, world_b, project, listed, foreign_project):
    batch, t = listed
    new_task(world_b, foreign_project, name="cat-foreign.jpg")
    client = world_a.client(A)
    base = f"/api/v1/tasks?project={project.pk}"
    assert set(_ids(client.get(base))) == {task.pk for task in t.values()}
    assert _ids(client.get(f"{base}&status=assigned")) == [t["dog"].pk]
    assert set(_ids(client.get(f"{base}&status=assigned&status=created"))) == {task.pk for task in t.values()}
    assert set(_ids(client.get(f"{base}&tags=animal"))) == {t["cat"].pk, t["dog"].pk}
    assert set(_ids(client.get(f"{base}&tags=night,vehicle"))) == {t["dog"].pk, t["car"].pk}
    assert _ids(client.get(f"{base}&assignee={world_a.user(A).pk}")) == [t["dog"].pk]
    assert _ids(client.get(f"{base}&reviewer={world_a.user(Role.REVIEWER).pk}")) == [t["bus"].pk]
    assert set(_ids(client.get(f"{base}&batch={batch.pk}"))) == {t["cat"].pk, t["bus"].pk}
    assert set(_ids(client.get(f"{base}&no_batch=true"))) == {t["dog"].pk, t["car"].pk}
    assert _ids(client.get(f"{base}&name__icontains=DOG")) == [t["dog"].pk]
    assert _ids(client.get("/api/v1/tasks?name__icontains=cat")) == [t["cat"].pk]  # not the other org's
    Task.objects.filter(pk=t["car"].pk).update(updated_at=timezone.now() + timedelta(hours=1))
    since = (timezone.now() + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    assert _ids(client.get(f"{base}&updated_since={since}")) == [t["car"].pk]


def test_list_default_order_is_the_queue_order_and_ordering_is_selectable(world_a, project, listed):
    _, t = listed
    client = world_a.client(A)
    assert _ids(client.get("/api/v1/tasks")) == [t["dog"].pk, t["bus"].pk, t["cat"].pk, t["car"].pk]
    assert _ids(client.get("/api/v1/tasks?ordering=name")) == [t["bus"].pk, t["car"].pk, t["cat"].pk, t["dog"].pk]
    assert _ids(client.get("/api/v1/tasks?ordering=-created_at"))[0] == t["bus"].pk


def test_list_pages_with_limit_offset_and_count(world_a, project, listed):
    client = world_a.client(A)
    page = client.get("/api/v1/tasks?limit=2&offset=1").json()
    assert page["count"] == 4 and len(page["results"]) == 2
    assert client.get("/api/v1/tasks?limit=1000").status_code == 200
    for bad in ("limit=1001", "limit=0", "offset=-1", "status=nope", "updated_since=yesterday"):
        response = client.get(f"/api/v1/tasks?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["code"] == "invalid"


def test_list_query_count_is_constant(world_a, project, django_assert_max_num_queries):
    client = world_a.client(A)
    client.get("/api/v1/tasks")  # warm the credential and membership caches alike
    for _ in range(3):
        new_task(world_a, project, tags=["a", "b"], assignee=world_a.user(A), batch=new_batch(world_a, project))
    with django_assert_max_num_queries(12) as few:
        client.get("/api/v1/tasks")
    for i in range(30):
        new_task(
            world_a,
            project,
            tags=["a", f"t{i}"],
            reviewer=world_a.user(Role.REVIEWER),
            batch=new_batch(world_a, project),
        )
    claim_next_task(user=world_a.user(A), project=project)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/v1/tasks")
    assert response.json()["count"] == 33


def test_count_endpoint_uses_the_list_filters(world_a, project, listed):
    client = world_a.client(A)
    assert client.get("/api/v1/tasks/count").json() == {"count": 4}
    assert client.get(f"/api/v1/tasks/count?project={project.pk}&tags=animal").json() == {"count": 2}
    assert client.get("/api/v1/tasks/count?status=completed").json() == {"count": 0}


def test_id_name_map(world_a, project, listed):
    _, t = listed
    client = world_a.client(A)
    assert client.get(f"/api/v1/tasks/id-name-map?project={project.pk}").json() == {
        str(task.pk): task.name for task in t.values()
    }
    second = sorted(t.values(), key=lambda task: task.pk)[1]
    assert client.get("/api/v1/tasks/id-name-map?limit=1&offset=1").json() == {str(second.pk): second.name}
    assert client.get("/api/v1/tasks/id-name-map?limit=0").status_code == 400


def test_tags_list_is_the_organizations(world_a, world_b, project, foreign_project, listed):
    new_task(world_b, foreign_project, tags=["secret"])
    names = [row["name"] for row in world_a.client(A).get("/api/v1/tags").json()["results"]]
    assert names == ["animal", "night", "vehicle"]


# --- bulk ----------------------------------------------------------------------------------
def test_bulk_assign_tag_prioritise_and_move(world_a, project, listed):
    batch, t = listed
    ids = [t["car"].pk, t["cat"].pk, t["dog"].pk]
    response = world_a.client(M).post(
        "/api/v1/tasks/bulk",
        {
            "task_ids": ids,
            "assignee_id": world_a.user(M).pk,
            "priority": 5,
            "batch_id": batch.pk,
            "add_tags": ["urgent"],
            "remove_tags": ["animal"],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"updated": 3}
    for pk in ids:
        task = fresh(Task(pk=pk))
        assert (task.assignee, task.priority, task.batch_id, task.status) == (world_a.user(M), 5, batch.pk, "assigned")
        assert set(task.tags.values_list("name", flat=True)) <= {"urgent", "night", "vehicle"}
        assert "urgent" in task.tags.values_list("name", flat=True)
    moved = TaskTransition.objects.filter(task_id__in=ids, to_status="assigned")
    assert moved.count() == 2  # dog was already assigned
    event = AuditEvent.objects.get(action="task.bulk_updated")
    assert event.after["task_ids"] == sorted(ids)
    unassign = world_a.client(M).post("/api/v1/tasks/bulk", {"task_ids": ids, "assignee_id": None}, format="json")
    assert unassign.status_code == 200
    assert set(Task.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"created"}


def test_bulk_with_any_foreign_task_id_changes_nothing_and_is_404(world_a, world_b, project, listed, foreign_project):
    _, t = listed
    foreign = new_task(world_b, foreign_project)
    response = world_a.client(M).post(
        "/api/v1/tasks/bulk", {"task_ids": [t["car"].pk, foreign.pk], "priority": 99}, format="json"
    )
    assert response.status_code == 404
    assert str(foreign.pk) in response.json()["message"]
    assert fresh(t["car"]).priority == 0 and fresh(foreign).priority == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"priority": 1}, "task_ids"),
        ({"task_ids": [], "priority": 1}, "task_ids"),
        ({"task_ids": list(range(1, 1002)), "priority": 1}, "task_ids"),
        ({"task_ids": [1]}, "non_field_errors"),
        ({"task_ids": [1], "status": "completed"}, "status"),
    ],
)
def test_bad_bulk_bodies_are_400(world_a, body, field):
    response = world_a.client(M).post("/api/v1/tasks/bulk", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_bulk_move_to_a_batch_of_another_project_is_400_and_foreign_batch_404(
    world_a, world_b, project, listed, make_project, foreign_project
):
    _, t = listed
    other_batch = new_batch(world_a, make_project(world_a))
    response = world_a.client(M).post(
        "/api/v1/tasks/bulk", {"task_ids": [t["car"].pk], "batch_id": other_batch.pk}, format="json"
    )
    assert response.status_code == 400 and "batch_id" in response.json()["errors"]
    foreign_batch = new_batch(world_b, foreign_project)
    response = world_a.client(M).post(
        "/api/v1/tasks/bulk", {"task_ids": [t["car"].pk], "batch_id": foreign_batch.pk}, format="json"
    )
    assert response.status_code == 404
