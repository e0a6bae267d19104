"""Project pages: list with progress, create from a template, rename, settings, copy, delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from organizations.roles import Role
from projects.models import LabelTemplate, Project
from tests.conftest import DEFAULT_LABELS
from tests.portal.conftest import has_form, text

pytestmark = pytest.mark.django_db


def head_and_neck(world) -> LabelTemplate:
    return LabelTemplate.objects.for_organization(world.org).get(is_builtin=True)


def test_list_shows_projects_with_label_counts_and_no_tasks_yet(world_a, world_b, owner_a, make_project):
    make_project(world_a, name="Mine", labels=DEFAULT_LABELS)
    make_project(world_b, name="Theirs")
    body = text(owner_a.get("/"))
    assert "Mine" in body and "Theirs" not in body
    assert "No tasks yet" in body


def test_list_shows_task_counts_by_status_and_progress(world_a, owner_a, make_project):
    from tasks.models import Task, TaskStatus

    project = make_project(world_a, name="Counted")
    for status in [TaskStatus.COMPLETED, TaskStatus.COMPLETED, TaskStatus.SUBMITTED, TaskStatus.CREATED]:
        task = Task(project=project, name=f"t-{status}", status=status)
        task.inherit_organization(project)
        task.save()
    body = text(owner_a.get("/"))
    assert "2/4 done" in body
    assert 'aria-label="2 of 4 tasks completed (50%)"' in body
    assert "submitted 1" in body and "created 1" in body
    detail = text(owner_a.get(reverse("portal:project", args=[project.pk])))
    assert "Completed" in detail and "2/4 done" in detail


def test_list_pages_with_a_constant_number_of_queries(world_a, owner_a, make_project, django_assert_max_num_queries):
    for i in range(8):
        make_project(world_a, name=f"P{i}", labels=DEFAULT_LABELS)
    with django_assert_max_num_queries(14):
        assert owner_a.get("/").status_code == 200


def test_create_a_project_from_the_head_and_neck_template(world_a, owner_a):
    template = head_and_neck(world_a)
    form = owner_a.get(reverse("portal:project-create"))
    assert "Head and neck CT (organs at risk)" in text(form)
    response = owner_a.post(
        reverse("portal:project-create"),
        {"name": "HN study", "kind": "dicom", "template": str(template.pk), "description": ""},
    )
    project = Project.objects.for_organization(world_a.org).get(name="HN study")
    assert response.status_code == 302 and response["Location"] == reverse("portal:project", args=[project.pk])
    assert project.labels.count() == len(template.labels)
    assert project.labels.filter(maskid=0, name="Unclassified").exists()


def test_create_shows_validation_errors(owner_a):
    response = owner_a.post(reverse("portal:project-create"), {"name": "", "kind": "hologram"})
    assert response.status_code == 400
    body = text(response)
    assert "This field is required." in body
    assert "Select a valid choice" in body


def test_create_refuses_another_organizations_template(world_a, world_b, owner_a):
    response = owner_a.post(
        reverse("portal:project-create"), {"name": "X", "kind": "image", "template": str(head_and_neck(world_b).pk)}
    )
    assert response.status_code == 400
    assert not Project.objects.filter(name="X").exists()


def test_rename_from_the_list_dialog_returns_to_the_list(world_a, owner_a, make_project):
    project = make_project(world_a, name="Old")
    response = owner_a.post(reverse("portal:project-rename", args=[project.pk]), {"name": "New", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    project.refresh_from_db()
    assert project.name == "New"
    page = text(owner_a.get("/"))
    assert "Renamed “Old” to “New”." in page


def test_rename_refuses_an_empty_name_and_an_outside_redirect(world_a, owner_a, make_project):
    project = make_project(world_a, name="Kept")
    response = owner_a.post(
        reverse("portal:project-rename", args=[project.pk]), {"name": "", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("portal:project-settings", args=[project.pk])
    project.refresh_from_db()
    assert project.name == "Kept"


def test_settings_save_and_show_errors(world_a, owner_a, make_project):
    project = make_project(world_a, name="S")
    url = reverse("portal:project-settings", args=[project.pk])
    ok = owner_a.post(url, {"name": "S2", "description": "d", "review_required": "on"})
    assert ok.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.description, project.review_required, project.reviewer_must_differ) == (
        "S2",
        "d",
        True,
        False,
    )
    bad = owner_a.post(url, {"name": "x" * 201})
    assert bad.status_code == 400 and "at most 200 characters" in text(bad)


def test_copy_settings_only_and_with_all_content(world_a, owner_a, make_project):
    project = make_project(world_a, name="Source", labels=DEFAULT_LABELS)
    response = owner_a.post(
        reverse("portal:project-copy", args=[project.pk]), {"name": "Copy 1", "content": "settings"}
    )
    copy = Project.objects.for_organization(world_a.org).get(name="Copy 1")
    assert response["Location"] == reverse("portal:project", args=[copy.pk])
    assert sorted(copy.labels.values_list("name", flat=True)) == ["car", "dog", "person"]
    owner_a.post(reverse("portal:project-copy", args=[project.pk]), {"name": "Copy 2", "content": "all"})
    copy2 = Project.objects.for_organization(world_a.org).get(name="Copy 2")
    assert copy2.jobs.filter(kind="project.copy").exists()
    bad = owner_a.post(reverse("portal:project-copy", args=[project.pk]), {"name": "", "content": "nothing"})
    assert bad.status_code == 400 and "Select a valid choice" in text(bad)


def test_delete_asks_in_the_page_first_then_deletes(world_a, owner_a, make_project):
    project = make_project(world_a, name="Doomed", labels=DEFAULT_LABELS)
    settings_page = text(owner_a.get(reverse("portal:project-settings", args=[project.pk])))
    # The form opens our own dialog (data-confirm) naming what will be lost.
    assert "data-confirm" in settings_page and "3 label classes" in settings_page
    url = reverse("portal:project-delete", args=[project.pk])
    unconfirmed = owner_a.post(url)
    assert unconfirmed.status_code == 200
    assert "Delete project “Doomed”?" in text(unconfirmed) and 'name="confirmed" value="yes"' in text(unconfirmed)
    assert Project.objects.filter(pk=project.pk).exists()
    confirmed = owner_a.post(url, {"confirmed": "yes"})
    assert confirmed.status_code == 302
    assert not Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ANNOTATOR])
def test_workers_see_no_project_buttons_and_the_server_refuses_them(world_a, signed_in, make_project, role):
    project = make_project(world_a, name="Guarded")
    client = signed_in(world_a, role)
    body = text(client.get("/"))
    assert "Guarded" in body
    assert (
        "New project" not in body
        and "Rename" not in body
        and not has_form(client.get("/"), reverse("portal:project-delete", args=[project.pk]))
    )
    settings_page = client.get(reverse("portal:project-settings", args=[project.pk]))
    assert "Delete this project" not in text(settings_page) and "Copy this project" not in text(settings_page)
    assert client.get(reverse("portal:project-create")).status_code == 403
    assert client.post(reverse("portal:project-create"), {"name": "x", "kind": "image"}).status_code == 403
    assert client.post(reverse("portal:project-rename", args=[project.pk]), {"name": "x"}).status_code == 403
    assert client.post(reverse("portal:project-copy", args=[project.pk]), {"name": "x"}).status_code == 403
    delete = client.post(reverse("portal:project-delete", args=[project.pk]), {"confirmed": "yes"})
    assert delete.status_code == 403
    project.refresh_from_db()
    assert project.name == "Guarded"


def test_a_manager_may_rename_and_copy_but_not_delete(world_a, signed_in, make_project):
    project = make_project(world_a, name="Managed")
    client = signed_in(world_a, Role.MANAGER)
    body = text(client.get("/"))
    assert "Rename" in body and "Copy" in body
    assert not has_form(client.get("/"), reverse("portal:project-delete", args=[project.pk]))
    assert client.post(reverse("portal:project-delete", args=[project.pk]), {"confirmed": "yes"}).status_code == 403


def test_another_organizations_project_does_not_exist(world_b, owner_a, make_project):
    theirs = make_project(world_b, name="Secret")
    for name in ("portal:project", "portal:project-settings", "portal:labels"):
        assert owner_a.get(reverse(name, args=[theirs.pk])).status_code == 404
    for name in ("portal:project-rename", "portal:project-copy", "portal:project-delete"):
        assert owner_a.post(reverse(name, args=[theirs.pk]), {"name": "x", "confirmed": "yes"}).status_code == 404
    assert Project.objects.filter(pk=theirs.pk, name="Secret").exists()
