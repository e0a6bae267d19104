"""Project work pages: the tasks table (filters, sort, paging, bulk changes), batches, the
"Get next task" and "Next review" claims, the review queue and the annotation workspace.

The workspace is a page shell: its ES modules call the JSON API (session + CSRF) for
everything they read and write, so no annotation rule lives here."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse

from portal.views.base import ProjectChildMixin, TenantView, flash_errors
from portal.work_forms import BatchForm, BulkTaskForm
from portal.work_selectors import batches_with_counts, members_who, review_queue, task_table
from tasks.models import Batch, Task, TaskStatus

PAGE_SIZE = 50


class ProjectPageMixin(ProjectChildMixin):
    """Pages under ``projects/<project_pk>/`` whose own model is the Task (no ``pk``)."""

    model = Task
    tab = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tab"] = self.tab
        return context


def _batch_from(view, value) -> Batch | None:
    if not value:
        return None
    return view.get_tenant_object(
        Batch, pk=value, queryset=Batch.objects.for_organization(view.organization).filter(project=view.project)
    )


class TaskListView(ProjectPageMixin, TenantView):
    required_permissions = {"get": "project.view"}
    tab = "tasks"

    def get(self, request, project_pk):
        return self.page()

    def page(self, *, bulk_form=None, batch_form=None, status=200):
        tasks, filterset, sort = task_table(self.project, self.request.GET)
        page = Paginator(tasks, PAGE_SIZE).get_page(self.request.GET.get("page"))
        batches = batches_with_counts(self.project)
        query = self.request.GET.copy()
        query.pop("page", None)
        sort_query = query.copy()
        sort_query.pop("sort", None)
        manage = self.membership.can("task.manage")
        annotators = members_who(self.organization, "task.annotate") if manage else []
        reviewers = members_who(self.organization, "task.review") if manage else []
        return self.render(
            "portal/tasks.html",
            status=status,
            page=page,
            tasks=page.object_list,
            filterset=filterset,
            sort=sort,
            query=query.urlencode(),
            sort_query=sort_query.urlencode(),
            batches=batches,
            statuses=TaskStatus.choices,
            selected_statuses=self.request.GET.getlist("status"),
            bulk_form=bulk_form
            or BulkTaskForm(annotators=annotators, reviewers=reviewers, batches=batches, task_ids=()),
            batch_form=batch_form or BatchForm(),
            columns=[
                ("name", "Name"),
                ("status", "Status"),
                ("priority", "Priority"),
                ("updated_at", "Updated"),
            ],
        )


class TaskBulkView(ProjectPageMixin, TenantView):
    required_permissions = {"post": "task.manage"}
    tab = "tasks"

    def post(self, request, project_pk):
        from tasks.services.tasks import bulk_update_tasks

        ids = Task.objects.filter(project=self.project).values_list("pk", flat=True)
        batches = batches_with_counts(self.project)
        form = BulkTaskForm(
            request.POST,
            task_ids=list(ids),
            annotators=members_who(self.organization, "task.annotate"),
            reviewers=members_who(self.organization, "task.review"),
            batches=batches,
        )
        back = reverse("portal:tasks", args=[project_pk]) + (
            "?" + request.POST["next_query"] if request.POST.get("next_query") else ""
        )
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(back)
        try:
            count = bulk_update_tasks(
                actor=request.user,
                organization=self.organization,
                task_ids=form.cleaned_data["task_ids"],
                **form.changes(),
            )
        except (ValidationError, Http404) as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Changed {count} task{'s' if count != 1 else ''}.")
        return redirect(back)


class BatchCreateView(ProjectPageMixin, TenantView):
    required_permissions = {"post": "task.manage"}
    tab = "tasks"

    def post(self, request, project_pk):
        from tasks.services.tasks import create_batch

        form = BatchForm(request.POST)
        if form.is_valid():
            try:
                batch = create_batch(actor=request.user, project=self.project, **form.cleaned_data)
            except ValidationError as exc:
                flash_errors(request, exc)
            else:
                messages.success(request, f"Batch “{batch.name}” created.")
        else:
            messages.error(request, "Give the batch a name (at most 200 characters).")
        return redirect("portal:tasks", project_pk=project_pk)


class NextTaskView(ProjectPageMixin, TenantView):
    """ "Get next task": the claim (30-minute lock), then the workspace."""

    required_permissions = {"post": "task.annotate"}

    def post(self, request, project_pk):
        from tasks.services.claims import claim_next_task

        batch = _batch_from(self, request.POST.get("batch"))
        task = claim_next_task(user=request.user, project=self.project, batch=batch)
        if task is None:
            messages.info(request, "No task is waiting for you in this project right now.")
            return redirect("portal:project", pk=project_pk)
        return redirect("portal:workspace", task_pk=task.pk)


class NextReviewView(ProjectPageMixin, TenantView):
    required_permissions = {"post": "task.review"}

    def post(self, request, project_pk):
        from tasks.services.claims import claim_next_review

        batch = _batch_from(self, request.POST.get("batch"))
        task = claim_next_review(user=request.user, project=self.project, batch=batch)
        if task is None:
            messages.info(request, "No submitted task is waiting for your review right now.")
            return redirect("portal:review-queue", project_pk=project_pk)
        return redirect("portal:workspace", task_pk=task.pk)


class ReviewQueueView(ProjectPageMixin, TenantView):
    required_permissions = {"get": "project.view"}
    tab = "review"

    def get(self, request, project_pk):
        page = Paginator(review_queue(self.project), PAGE_SIZE).get_page(request.GET.get("page"))
        return self.render("portal/review_queue.html", page=page, tasks=page.object_list)


def label_config(project) -> list[dict]:
    """The project's classes as the workspace draws them (toolbar grouped by category)."""
    return [
        {
            "id": label.pk,
            "name": label.name,
            "color": label.color,
            "maskid": label.maskid,
            "z_order": label.z_order,
            "category": label.category,
            "attributes": label.attributes,
            "keypoints": label.keypoints,
        }
        for label in project.labels.order_by("category", "-z_order", "id")
    ]


class WorkspaceView(TenantView):
    """The annotation workspace (and, for a reviewer holding the review lock, the review page)."""

    required_permissions = {"get": "project.view"}
    model = Task

    def resolve_objects(self) -> None:
        self.task = self.get_tenant_object(
            pk=self.kwargs["task_pk"], queryset=self.tenant_queryset().select_related("project", "locked_by", "batch")
        )
        self.project = self.task.project

    def get(self, request, task_pk):
        task, project = self.task, self.project
        can = {
            name: self.membership.can(permission)
            for name, permission in {
                "annotate": "task.annotate",
                "review": "task.review",
                "complete": "task.complete",
                "ai": "ai.assist",
                "comment": "comment.create",
                "manage": "task.manage",
            }.items()
        }
        config = {
            "task": task.pk,
            "project": project.pk,
            "kind": project.kind,
            "framed": project.kind_info.framed,
            "types": sorted(project.kind_info.annotation_types),
            "labels": label_config(project),
            "user": {"id": request.user.pk, "username": request.user.username},
            "can": can,
            "urls": {
                "project": reverse("portal:project", args=[project.pk]),
                "next": reverse("portal:next-task", args=[project.pk]),
                "nextReview": reverse("portal:next-review", args=[project.pk]),
                "reviewQueue": reverse("portal:review-queue", args=[project.pk]),
                "workspace": reverse("portal:workspace", args=[0]).replace("/0/", "/{id}/"),
            },
        }
        return self.render(
            "portal/workspace.html",
            task=task,
            project=project,
            config=json.dumps(config),
            held_by_me=task.locked_by_id == request.user.pk,
        )
