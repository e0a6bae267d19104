"""The project work pages (tasks table, review queue, upload, exports, workspace) and the
models page: they render for the roles that may see them, their buttons follow the role,
the server refuses the rest, and another organization's ids are 404."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from organizations.roles import Role
from tests.conftest import DEFAULT_LABELS
from tests.portal.conftest import has_form, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(world_a, make_project):
    return make_project(world_a, labels=DEFAULT_LABELS, name="Streets")


@pytest.fixture
def tasks(world_a, project):
    from tasks.services.tasks import create_batch, create_task

    batch = create_batch(actor=world_a.owner, project=project, name="Week 1")
    return [
        create_task(actor=world_a.owner, project=project, name="a.jpg", priority=5, batch=batch, tags=["night"]),
        create_task(actor=world_a.owner, project=project, name="b.jpg", priority=30),
        create_task(actor=world_a.owner, project=project, name="c.jpg"),
    ]


def urls(project, task) -> list[str]:
    return [
        reverse("portal:tasks", args=[project.pk]),
        reverse("portal:review-queue", args=[project.pk]),
        reverse("portal:upload", args=[project.pk]),
        reverse("portal:exports", args=[project.pk]),
        reverse("portal:workspace", args=[task.pk]),
        reverse("portal:models"),
    ]


def test_every_work_page_renders_for_the_owner_under_the_csp(world_a, owner_a, project, tasks):
    for url in urls(project, tasks[0]):
        response = owner_a.get(url)
        assert response.status_code == 200, url
        body = text(response)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), url
        assert not re.search(r"\son(click|submit|change|load|input)=", body), url
        assert "cdn" not in body.lower(), url
        for form in re.findall(r"<form[^>]*>.*?</form>", body, flags=re.S):
            if 'method="post"' in form:
                assert "csrfmiddlewaretoken" in form, (url, form[:200])


def test_tasks_table_filters_sorts_and_pages(owner_a, project, tasks):
    url = reverse("portal:tasks", args=[project.pk])
    body = text(owner_a.get(url))
    # Default order is the queue order: highest priority first.
    assert body.index("b.jpg") < body.index("a.jpg") < body.index("c.jpg")
    body = text(owner_a.get(url, {"sort": "name"}))
    assert body.index("a.jpg") < body.index("b.jpg") < body.index("c.jpg")
    assert 'aria-sort="ascending"' in body
    body = text(owner_a.get(url, {"sort": "-name"}))
    assert body.index("c.jpg") < body.index("b.jpg")
    body = text(owner_a.get(url, {"tags": "night"}))
    assert "a.jpg" in body and "b.jpg" not in body
    body = text(owner_a.get(url, {"name__icontains": "C."}))
    assert "c.jpg" in body and "a.jpg" not in body
    body = text(owner_a.get(url, {"status": "submitted"}))
    assert "0 tasks" in body


def test_bulk_change_assigns_tags_and_prioritises(world_a, owner_a, project, tasks):
    annotator = world_a.user(Role.ANNOTATOR)
    response = owner_a.post(
        reverse("portal:tasks-bulk", args=[project.pk]),
        {
            "task_ids": [tasks[0].pk, tasks[2].pk],
            "assignee": annotator.pk,
            "priority": 70,
            "add_tags": "urgent, rain",
            "reviewer": "",
            "batch": "none",
        },
    )
    assert response.status_code == 302
    for task in (tasks[0], tasks[2]):
        task.refresh_from_db()
        assert task.assignee_id == annotator.pk and task.priority == 70 and task.batch_id is None
        assert {t.name for t in task.tags.all()} >= {"urgent", "rain"}
    tasks[1].refresh_from_db()
    assert tasks[1].priority == 30


def test_bulk_change_needs_a_change_and_a_task(owner_a, project, tasks):
    url = reverse("portal:tasks-bulk", args=[project.pk])
    owner_a.post(url, {"task_ids": [tasks[0].pk]})
    page = text(owner_a.get(reverse("portal:tasks", args=[project.pk])))
    assert "Choose at least one change" in page
    owner_a.post(url, {"priority": 3})
    assert "Tick some tasks" in text(owner_a.get(reverse("portal:tasks", args=[project.pk])))


def test_bulk_change_refuses_another_projects_task(world_a, owner_a, project, tasks, make_project):
    from tasks.services.tasks import create_task

    other = create_task(actor=world_a.owner, project=make_project(world_a), name="elsewhere")
    owner_a.post(reverse("portal:tasks-bulk", args=[project.pk]), {"task_ids": [other.pk], "priority": 9})
    other.refresh_from_db()
    assert other.priority == 0


def test_batches_are_created_by_managers_only(world_a, signed_in, project):
    url = reverse("portal:batch-create", args=[project.pk])
    assert signed_in(world_a, Role.ANNOTATOR).post(url, {"name": "B"}).status_code == 403
    assert signed_in(world_a, Role.MANAGER).post(url, {"name": "Week 2"}).status_code == 302
    assert project.batches.filter(name="Week 2").exists()


def test_annotators_see_no_management_controls(world_a, signed_in, project, tasks):
    annotator = signed_in(world_a, Role.ANNOTATOR)
    body = text(annotator.get(reverse("portal:tasks", args=[project.pk])))
    assert not has_form(
        annotator.get(reverse("portal:tasks", args=[project.pk])), reverse("portal:tasks-bulk", args=[project.pk])
    )
    assert "Change selected tasks" not in body and "New batch" not in body
    assert "Get next task" in body and "Next review" not in body
    assert (
        annotator.post(
            reverse("portal:tasks-bulk", args=[project.pk]), {"task_ids": [tasks[0].pk], "priority": 1}
        ).status_code
        == 403
    )
    # Upload, exports and models are not theirs.
    upload = text(annotator.get(reverse("portal:upload", args=[project.pk])))
    assert "data-upload-form" not in upload and "Import history" in upload
    assert annotator.post(reverse("portal:upload", args=[project.pk])).status_code == 403
    assert annotator.get(reverse("portal:exports", args=[project.pk])).status_code == 403
    assert annotator.get(reverse("portal:models")).status_code == 403
    assert "Exports</a>" not in body and ">Models<" not in body


def test_reviewers_get_the_review_button_not_the_annotate_one(world_a, signed_in, project, tasks):
    reviewer = signed_in(world_a, Role.REVIEWER)
    body = text(reviewer.get(reverse("portal:review-queue", args=[project.pk])))
    assert "Review next submitted task" in body and "Get next task" not in body
    assert reviewer.post(reverse("portal:next-task", args=[project.pk])).status_code == 403


def test_get_next_task_claims_and_opens_the_workspace(world_a, signed_in, project, tasks):
    annotator = signed_in(world_a, Role.ANNOTATOR)
    response = annotator.post(reverse("portal:next-task", args=[project.pk]))
    assert response.status_code == 302
    best = tasks[1]  # priority 30
    assert response["Location"] == reverse("portal:workspace", args=[best.pk])
    best.refresh_from_db()
    assert best.locked_by == world_a.user(Role.ANNOTATOR) and best.status == "in_progress"
    page = annotator.get(response["Location"])
    assert "Locked to you" in text(page)
    config = json.loads(re.search(r'data-config="([^"]+)"', text(page)).group(1).replace("&quot;", '"'))
    assert config["task"] == best.pk and config["can"]["annotate"] and not config["can"]["review"]
    assert {label["name"] for label in config["labels"]} == {"car", "person", "dog"}
    assert all({"color", "maskid", "category", "attributes"} <= set(label) for label in config["labels"])
    # Asking again gives the same task.
    assert annotator.post(reverse("portal:next-task", args=[project.pk]))["Location"] == response["Location"]


def test_get_next_task_with_nothing_left_says_so(world_a, signed_in, make_project):
    empty = make_project(world_a)
    client = signed_in(world_a, Role.ANNOTATOR)
    response = client.post(reverse("portal:next-task", args=[empty.pk]), follow=True)
    assert "No task is waiting for you" in text(response)


def test_review_queue_lists_submitted_tasks_and_hands_the_next(world_a, signed_in, project, tasks):
    from annotations.services import save_annotations
    from tasks.services.claims import claim_next_task

    annotator = world_a.user(Role.ANNOTATOR)
    task = claim_next_task(user=annotator, project=project)
    save_annotations(task, [], actor=annotator, submit=True)
    task.refresh_from_db()
    assert task.status == "submitted"
    reviewer = signed_in(world_a, Role.REVIEWER)
    queue = text(reviewer.get(reverse("portal:review-queue", args=[project.pk])))
    assert task.name in queue
    response = reviewer.post(reverse("portal:next-review", args=[project.pk]))
    assert response["Location"] == reverse("portal:workspace", args=[task.pk])
    task.refresh_from_db()
    assert task.locked_by == world_a.user(Role.REVIEWER)


def test_upload_without_javascript_starts_an_import(world_a, owner_a, project):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from media import synthetic
    from media.models import ImportJob

    data = synthetic.image_bytes(32, 24)
    response = owner_a.post(
        reverse("portal:upload", args=[project.pk]),
        {"files": [SimpleUploadedFile("street.png", data, content_type="image/png")], "batch": "", "task_name": ""},
    )
    assert response.status_code == 302
    job = ImportJob.objects.get(project=project)
    assert job.created_by == world_a.owner
    page = text(owner_a.get(reverse("portal:upload", args=[project.pk])))
    assert f"#{job.pk}" in page


def test_upload_without_files_shows_the_error(owner_a, project):
    response = owner_a.post(reverse("portal:upload", args=[project.pk]), {"batch": ""})
    assert response.status_code == 400 and "required" in text(response)


def test_export_form_starts_segmentation_results_with_outputs_and_opacity(owner_a, project, tasks):
    from exports.models import Export

    response = owner_a.post(
        reverse("portal:exports", args=[project.pk]),
        {
            "format": "segmentation_results",
            "scope": "range",
            "frame_start": 1,
            "frame_end": 3,
            "outputs": ["gt_label", "mix_label"],
            "mix_opacity": "0.6",
            "include_images": "on",
        },
    )
    assert response.status_code == 302
    export = Export.objects.get(project=project)
    assert export.scope["frame_start"] == 1 and export.scope["frame_end"] == 3
    assert export.options["outputs"] == ["gt_label", "mix_label"] and export.options["mix_opacity"] == 0.6
    assert "segmentation_results" in text(owner_a.get(reverse("portal:exports", args=[project.pk])))


def test_export_scope_needs_its_fields(owner_a, project):
    response = owner_a.post(reverse("portal:exports", args=[project.pk]), {"format": "coco", "scope": "batch"})
    assert response.status_code == 400 and "Needed for this scope" in text(response)


def test_export_of_another_organizations_batch_is_refused(world_b, owner_a, project, make_project):
    from tasks.services.tasks import create_batch

    foreign = create_batch(actor=world_b.owner, project=make_project(world_b), name="theirs")
    response = owner_a.post(
        reverse("portal:exports", args=[project.pk]), {"format": "coco", "scope": "batch", "batch_id": foreign.pk}
    )
    assert response.status_code == 400


def test_models_page_shows_stats_for_managers(world_a, signed_in):
    body = text(signed_in(world_a, Role.MANAGER).get(reverse("portal:models")))
    assert "Register a model" in body and "data-stats-chart" in body and "Run batch detection" in body


def test_overview_shows_members_progress_to_managers_only(world_a, signed_in, project, tasks):
    from tasks.services.claims import claim_next_task

    claim_next_task(user=world_a.user(Role.ANNOTATOR), project=project)
    url = reverse("portal:project", args=[project.pk])
    manager = text(signed_in(world_a, Role.MANAGER).get(url))
    assert "Members&#x27; progress" in manager or "Members' progress" in manager
    assert world_a.user(Role.ANNOTATOR).username in manager
    assert "people-title" not in text(signed_in(world_a, Role.ANNOTATOR).get(url))


def test_another_organizations_project_and_task_are_404(world_b, owner_a, make_project):
    from tasks.services.tasks import create_task

    project = make_project(world_b)
    task = create_task(actor=world_b.owner, project=project, name="theirs")
    for url in urls(project, task)[:-1]:
        assert owner_a.get(url).status_code == 404, url
    for name in ("tasks-bulk", "batch-create", "next-task", "next-review", "upload", "exports"):
        assert owner_a.post(reverse(f"portal:{name}", args=[project.pk])).status_code == 404, name


def test_a_failed_import_with_pending_files_has_a_resume_button_that_resumes_it(
    world_a, owner_a, signed_in, project, monkeypatch, django_capture_on_commit_callbacks
):
    from jobs.models import Job
    from media import actors, synthetic
    from media.models import ImportFile
    from media.services.imports import Source, start_import
    from tests.media.conftest import files_of

    sent = []
    monkeypatch.setattr(actors.run_import, "send", lambda job_id: sent.append(job_id))
    files = files_of([("a.png", synthetic.image_bytes(8, 8))])
    job = start_import(actor=world_a.owner, project=project, files=files, source=Source.UPLOAD)
    resume = reverse("portal:import-resume", args=[project.pk, job.pk])
    upload_page = reverse("portal:upload", args=[project.pk])
    assert not has_form(owner_a.get(upload_page), resume)  # queued: nothing to resume
    Job.objects.filter(pk=job.pk).update(status="failed", message="Import failed after 4 attempts: storage unavailable")
    assert has_form(owner_a.get(upload_page), resume)
    assert not has_form(signed_in(world_a, Role.ANNOTATOR).get(upload_page), resume)  # may not upload
    assert signed_in(world_a, Role.ANNOTATOR).post(resume).status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_a.post(resume, follow=True)
    assert f"Import {job.pk} resumed" in text(response) and "1 file(s) left to import" in text(response)
    assert Job.objects.get(pk=job.pk).status == "queued"
    assert sent[-1] == job.pk  # its worker message, sent once the transaction committed
    again = owner_a.post(resume, follow=True)  # not failed any more: said, nothing done
    assert "Only a failed import can be resumed" in text(again)
    ImportFile.objects.filter(job=job).update(outcome="accepted")
    Job.objects.filter(pk=job.pk).update(status="failed")
    assert not has_form(owner_a.get(upload_page), resume)  # nothing pending: no button
