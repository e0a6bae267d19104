"""Upload and import history, exports, and the organization's models and inference runs.

The pages are server-rendered lists; their scripts upload in resumable chunks, start
exports and runs through the JSON API and follow the jobs live over ``/ws/events/``. The
forms below are the no-JavaScript path and call the same services as the API."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect

from annotator.api.errors import ApiError
from media.models import ImportJob
from portal.views.base import ProjectChildMixin, TenantView, add_service_errors, flash_errors
from portal.views.work import ProjectPageMixin, _batch_from
from portal.work_forms import ExportForm, UploadForm
from portal.work_selectors import batches_with_counts, project_exports, project_imports
from tasks.models import TaskStatus


class UploadView(ProjectPageMixin, TenantView):
    required_permissions = {"get": "project.view", "post": "media.upload"}
    tab = "upload"

    def get(self, request, project_pk):
        return self.page(UploadForm(batches=batches_with_counts(self.project)))

    def page(self, form, status=200):
        return self.render(
            "portal/upload.html",
            status=status,
            form=form,
            imports=project_imports(self.project),
            batches=batches_with_counts(self.project),
        )

    def post(self, request, project_pk):
        from media.services.imports import start_upload_import

        form = UploadForm(request.POST, request.FILES, batches=batches_with_counts(self.project))
        if form.is_valid():
            try:
                job = start_upload_import(
                    actor=request.user,
                    project=self.project,
                    uploaded=form.cleaned_data["files"],
                    batch=_batch_from(self, form.cleaned_data["batch"]),
                    task_name=form.cleaned_data["task_name"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Import {job.pk} started: the files are checked in the background.")
                return redirect("portal:upload", project_pk=project_pk)
        return self.page(form, status=400)


class ImportResumeView(ProjectChildMixin, TenantView):
    """Resume a failed import for its pending files (the history's Resume button)."""

    required_permissions = {"post": "media.upload"}
    model = ImportJob

    def post(self, request, project_pk, pk):
        from media.services.imports import resume_import

        try:
            job = resume_import(actor=request.user, job=self.object)
        except ApiError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Import {job.pk} resumed: {job.message}")
        return redirect("portal:upload", project_pk=project_pk)


class ExportView(ProjectPageMixin, TenantView):
    required_permissions = {"get": "export.create", "post": "export.create"}
    tab = "exports"

    def form(self, data=None):
        from exports.formats import FORMATS

        return ExportForm(
            data,
            formats=list(FORMATS),
            batches=batches_with_counts(self.project),
            statuses=TaskStatus.choices,
            initial={"format": "coco"},
        )

    def get(self, request, project_pk):
        return self.page(self.form())

    def page(self, form, status=200):
        return self.render("portal/exports.html", status=status, form=form, exports=project_exports(self.project))

    def post(self, request, project_pk):
        from exports.services.exports import request_export

        form = self.form(request.POST)
        if form.is_valid():
            try:
                export = request_export(actor=request.user, project=self.project, **form.request())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Export {export.pk} ({export.format}) started.")
                return redirect("portal:exports", project_pk=project_pk)
        return self.page(form, status=400)


class ModelsView(TenantView):
    """Models and inference (managers): registered models, recent runs and records, stats."""

    required_permissions = {"get": "model.manage"}

    def get(self, request):
        from ml.models import InferenceModel, InferenceRun
        from ml.selectors import recent_records, record_stats_by_date

        stats = record_stats_by_date(self.organization)

        models = InferenceModel.objects.for_organization(self.organization).order_by("name", "-version")
        runs = (
            InferenceRun.objects.for_organization(self.organization)
            .select_related("job", "created_by")
            .order_by("-created_at")[:10]
        )
        return self.render(
            "portal/models.html",
            models=list(models),
            runs=list(runs),
            records=list(recent_records(self.organization, limit=24)),
            stats=stats,
            stats_json=json.dumps([{**row, "stat_date": str(row["stat_date"])} for row in stats]),
        )
