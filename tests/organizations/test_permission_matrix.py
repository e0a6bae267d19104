"""Every row of the permission matrix, checked for every role through a real endpoint.

``CASES`` maps each permission to a request that needs it. A role holding the permission
must not get 403; a role without it must get 403 with a message naming the roles that may.
A permission named by any view but missing here fails ``test_every_permission_in_use_is_covered``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from organizations.roles import PERMISSIONS, ROLE_ORDER, matrix_markdown, role_has
from tests.conftest import World
from tests.routes import all_routes

pytestmark = pytest.mark.django_db


@dataclass
class Case:
    method: str
    url: Callable[[World, str], str]  # (world, role) -> url; may create fresh objects
    body: Callable[[World, str], dict] = lambda w, r: {}
    portal: bool = False  # a portal page: signed in with a session, not a token


def _project(world, name="perm"):
    from projects.services.projects import create_project

    return create_project(actor=world.owner, organization=world.org, name=name, kind="image")


def _label(world):
    from projects.services.labels import create_label

    project = _project(world)
    return create_label(actor=world.owner, project=project, data={"name": "l", "color": "#abcdef"})


def _template_id(world):
    from projects.models import LabelTemplate

    return LabelTemplate.objects.for_organization(world.org).first().pk


def _member_id(world, role):
    from organizations.services import add_member
    from tests.conftest import PASSWORD, make_user

    user = make_user()
    membership, _ = add_member(
        actor=world.owner, organization=world.org, username=user.username, role="annotator", password=PASSWORD
    )
    return membership.pk


def _task(world, status="created"):
    """A task of a fresh project, moved to ``status`` through the real workflow."""
    from tasks.services.claims import claim_next_task
    from tasks.services.lifecycle import transition_task
    from tasks.services.tasks import create_task

    project = _project(world)
    task = create_task(actor=world.owner, project=project, name="t")
    if status in ("in_progress", "submitted"):
        task = claim_next_task(user=world.owner, project=project)
    if status == "submitted":
        task = transition_task(task, "submitted", actor=world.owner)
    return task


def _demo_world(world):
    world.org.is_demo = True
    world.org.save(update_fields=["is_demo"])
    return "/organization/demo-reset/"


CASES: dict[str, list[Case]] = {
    "organization.view": [Case("get", lambda w, r: "/api/v1/organizations/current")],
    "organization.change": [
        Case("patch", lambda w, r: "/api/v1/organizations/current", lambda w, r: {"name": "Renamed"})
    ],
    "member.view": [Case("get", lambda w, r: "/api/v1/members")],
    "member.manage": [
        Case(
            "post",
            lambda w, r: "/api/v1/members",
            lambda w, r: {"username": f"new-{r}-{w.org.pk}", "role": "annotator", "password": "a-Long-password-42"},
        ),
        Case("patch", lambda w, r: f"/api/v1/members/{_member_id(w, r)}", lambda w, r: {"role": "reviewer"}),
        Case("delete", lambda w, r: f"/api/v1/members/{_member_id(w, r)}"),
    ],
    "audit.view": [Case("get", lambda w, r: "/api/v1/audit-events")],
    "project.view": [
        Case("get", lambda w, r: "/api/v1/projects"),
        Case("get", lambda w, r: f"/api/v1/projects/{_project(w).pk}/labels"),
        Case("get", lambda w, r: "/api/v1/jobs"),
    ],
    "project.create": [
        Case("post", lambda w, r: "/api/v1/projects", lambda w, r: {"name": "new", "kind": "image"}),
        Case("post", lambda w, r: f"/api/v1/projects/{_project(w).pk}/copy", lambda w, r: {"name": "copy"}),
    ],
    "project.change": [Case("patch", lambda w, r: f"/api/v1/projects/{_project(w).pk}", lambda w, r: {"name": "x"})],
    "project.delete": [Case("delete", lambda w, r: f"/api/v1/projects/{_project(w).pk}")],
    "label.change": [
        Case(
            "post",
            lambda w, r: f"/api/v1/projects/{_project(w).pk}/labels",
            lambda w, r: {"name": "n", "color": "#000001"},
        ),
        Case(
            "patch",
            lambda w, r: f"/api/v1/projects/{(lbl := _label(w)).project_id}/labels/{lbl.pk}",
            lambda w, r: {"color": "#101010"},
        ),
    ],
    "template.view": [
        Case("get", lambda w, r: "/api/v1/label-templates"),
        Case("get", lambda w, r: f"/api/v1/label-templates/{_template_id(w)}/export"),
    ],
    "template.change": [
        Case(
            "post",
            lambda w, r: "/api/v1/label-templates",
            lambda w, r: {"name": f"t-{r}", "labels": [{"name": "a", "color": "#111111"}]},
        ),
        Case(
            "post", lambda w, r: f"/api/v1/projects/{_project(w).pk}/save-as-template", lambda w, r: {"name": f"s-{r}"}
        ),
        Case("post", lambda w, r: "/api/v1/label-templates/import/preview", lambda w, r: {"name": "p", "labels": []}),
    ],
    "export.create": [
        Case("post", lambda w, r: f"/api/v1/projects/{_project(w).pk}/exports", lambda w, r: {"format": "coco"}),
        Case("get", lambda w, r: f"/api/v1/projects/{_project(w).pk}/exports"),
        Case("get", lambda w, r: f"/api/v1/projects/{_project(w).pk}/annotation-imports"),
    ],
    "task.manage": [
        Case("post", lambda w, r: "/api/v1/tasks", lambda w, r: {"project_id": _project(w).pk, "name": "new task"}),
        Case("patch", lambda w, r: f"/api/v1/tasks/{_task(w).pk}", lambda w, r: {"priority": 20}),
    ],
    "task.annotate": [
        Case("post", lambda w, r: "/api/v1/tasks/next", lambda w, r: {"project_id": _project(w).pk}),
        Case("put", lambda w, r: f"/api/v1/tasks/{_task(w).pk}/annotations/draft", lambda w, r: {"shapes": []}),
    ],
    "task.review": [Case("post", lambda w, r: "/api/v1/reviews/next", lambda w, r: {"project_id": _project(w).pk})],
    "task.complete": [
        Case("post", lambda w, r: f"/api/v1/tasks/{_task(w, 'submitted').pk}/complete"),
        Case("post", lambda w, r: f"/api/v1/tasks/{_task(w).pk}/history/restore", lambda w, r: {"revision": 1}),
    ],
    "comment.create": [Case("post", lambda w, r: f"/api/v1/tasks/{_task(w).pk}/comments", lambda w, r: {"body": "x"})],
    "media.upload": [
        Case(
            "post",
            lambda w, r: f"/api/v1/projects/{_project(w).pk}/uploads",
            lambda w, r: {"filename": "a.png", "size": 10},
        )
    ],
    "ai.assist": [
        Case(
            "post",
            lambda w, r: f"/api/v1/tasks/{_task(w).pk}/predictions/reject",
            lambda w, r: {"prediction_id": 1, "shape_index": 0},
        ),
    ],
    "model.manage": [Case("get", lambda w, r: "/api/data/getRecent")],
    "demo.reset": [Case("post", lambda w, r: _demo_world(w), portal=True)],
}


def _permissions_in_use() -> set[str]:
    used: set[str] = set()
    for route in all_routes():
        view = route.view_class
        for permission in (getattr(view, "required_permissions", None) or {}).values():
            if permission:
                used.add(permission)
    return used


def test_every_permission_in_use_is_covered():
    missing = _permissions_in_use() - set(CASES)
    assert not missing, f"add permission test cases for: {sorted(missing)}"


def test_permission_names_exist_in_the_matrix():
    assert set(CASES) <= set(PERMISSIONS)
    assert _permissions_in_use() <= set(PERMISSIONS)


@pytest.mark.parametrize("permission", sorted(CASES))
def test_each_role_gets_exactly_what_the_matrix_says(permission, world_a):
    for case in CASES[permission]:
        for role in ROLE_ORDER:
            url = case.url(world_a, role)
            if case.portal:
                client = Client()
                client.force_login(world_a.user(role))
                response = getattr(client, case.method)(url, case.body(world_a, role))
            else:
                response = getattr(world_a.client(role), case.method)(url, case.body(world_a, role), format="json")
            if role_has(role, permission):
                assert response.status_code != 403 and response.status_code < 500, (
                    f"{role} should be allowed {case.method.upper()} {url}: "
                    f"{response.status_code} {response.content[:300]}"
                )
            else:
                assert response.status_code == 403, f"{role} must be refused {case.method.upper()} {url}"
                if not case.portal:
                    assert f"Your role ({role}) may not" in response.json()["message"]


def test_readme_table_is_the_matrix():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert matrix_markdown() in readme, "README.md's permission table is stale: run manage.py permission_matrix"
