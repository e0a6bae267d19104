"""Project pages: list with progress, create, overview, settings, rename, copy, delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse

from portal.forms import ProjectCopyForm, ProjectCreateForm, ProjectRenameForm, ProjectSettingsForm
from portal.selectors import attach_task_counts, project_content_summary, projects_for_list
from portal.views.base import (
    ObjectMixin,
    TenantView,
    add_service_errors,
    confirmation_page,
    flash_errors,
    is_confirmed,
)
from projects.models import LabelTemplate, Project
from projects.services.projects import SETTING_FIELDS, copy_project, create_project, delete_project, update_project

PAGE_SIZE = 25


class ProjectListView(TenantView):
    required_permissions = {"get": "project.view"}
    model = Project

    def get(self, request):
        paginator = Paginator(projects_for_list(self.organization), PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        projects = attach_task_counts(list(page.object_list))
        for project in projects:
            project.lost_summary = [
                f"the project “{project.name}”",
                f"{project.label_count} label class{'es' if project.label_count != 1 else ''}",
                f"{project.task_counts.total} task{'s' if project.task_counts.total != 1 else ''} "
                "with their annotations, comments and history",
                "its media files in storage",
            ]
        return self.render("portal/project_list.html", projects=projects, page=page)


class ProjectCreateView(TenantView):
    required_permissions = {"get": "project.create", "post": "project.create"}
    model = Project

    def templates(self):
        return LabelTemplate.objects.for_organization(self.organization).order_by("-is_builtin", "name")

    def get(self, request):
        initial = {}
        if request.GET.get("template"):
            initial["template"] = request.GET["template"]
        form = ProjectCreateForm(initial=initial, templates=self.templates())
        return self.render("portal/project_create.html", form=form)

    def post(self, request):
        templates = self.templates()
        form = ProjectCreateForm(request.POST, templates=templates)
        if form.is_valid():
            template = (
                templates.filter(pk=form.cleaned_data["template"]).first() if form.cleaned_data["template"] else None
            )
            try:
                project = create_project(
                    actor=request.user,
                    organization=self.organization,
                    name=form.cleaned_data["name"],
                    kind=form.cleaned_data["kind"],
                    template=template,
                    description=form.cleaned_data["description"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Project “{project.name}” created.")
                return redirect("portal:project", pk=project.pk)
        return self.render("portal/project_create.html", status=400, form=form)


class ProjectDetailView(ObjectMixin, TenantView):
    required_permissions = {"get": "project.view"}
    model = Project

    def get(self, request, pk):
        project = attach_task_counts([self.object])[0]
        labels = project.labels.order_by("-z_order", "id")
        progress = None
        if self.membership.can("task.manage"):
            from tasks.selectors import project_progress

            progress = project_progress(project)
            for person in progress["people"]:
                person["submitted"] = sum(person["annotated"].values())
                person["assigned_total"] = sum(person["assigned"].values())
                person["hours"] = round(person["annotation_seconds"] / 3600, 1)
        return self.render(
            "portal/project_detail.html", project=project, labels=labels, tab="overview", progress=progress
        )


def settings_page(view: TenantView, project: Project, status: int = 200, **forms):
    """The settings page (rename and review settings, copy, delete), with any bound form."""
    forms.setdefault(
        "settings_form",
        ProjectSettingsForm(initial={"name": project.name, **{k: getattr(project, k) for k in SETTING_FIELDS}}),
    )
    forms.setdefault("copy_form", ProjectCopyForm(initial={"name": f"{project.name} (copy)"}))
    return view.render(
        "portal/project_settings.html",
        status=status,
        project=project,
        tab="settings",
        lost=project_content_summary(project),
        **forms,
    )


class ProjectSettingsView(ObjectMixin, TenantView):
    required_permissions = {"get": "project.view", "post": "project.change"}
    model = Project

    def get(self, request, pk):
        return settings_page(self, self.object)

    def post(self, request, pk):
        form = ProjectSettingsForm(request.POST)
        if form.is_valid():
            changes = {key: value for key, value in form.cleaned_data.items() if value != getattr(self.object, key)}
            if not changes:
                messages.info(request, "Nothing changed.")
                return redirect("portal:project-settings", pk=pk)
            try:
                update_project(actor=request.user, project=self.object, **changes)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("portal:project-settings", pk=pk)
        return settings_page(self, self.object, status=400, settings_form=form)


class ProjectRenameView(ObjectMixin, TenantView):
    required_permissions = {"post": "project.change"}
    model = Project

    def post(self, request, pk):
        form = ProjectRenameForm(request.POST)
        back = request.POST.get("next") or reverse("portal:project-settings", args=[pk])
        if not back.startswith("/") or back.startswith("//"):
            back = reverse("portal:project-settings", args=[pk])
        if not form.is_valid():
            messages.error(request, "Give the project a name (at most 200 characters).")
            return redirect(back)
        old = self.object.name
        try:
            update_project(actor=request.user, project=self.object, name=form.cleaned_data["name"])
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Renamed “{old}” to “{self.object.name}”.")
        return redirect(back)


class ProjectCopyView(ObjectMixin, TenantView):
    required_permissions = {"post": "project.create"}
    model = Project

    def post(self, request, pk):
        form = ProjectCopyForm(request.POST)
        if not form.is_valid():
            return settings_page(self, self.object, status=400, copy_form=form)
        try:
            target, job = copy_project(
                actor=request.user,
                project=self.object,
                name=form.cleaned_data["name"],
                content=form.cleaned_data["content"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return settings_page(self, self.object, status=400, copy_form=form)
        if job is not None:
            messages.success(request, f"Copying “{self.object.name}” with all its content in the background.")
        else:
            messages.success(request, f"Copied the settings and labels of “{self.object.name}”.")
        return redirect("portal:project", pk=target.pk)


class ProjectDeleteView(ObjectMixin, TenantView):
    required_permissions = {"post": "project.delete"}
    model = Project

    def post(self, request, pk):
        project = self.object
        if not is_confirmed(request):
            return confirmation_page(
                self,
                title=f"Delete project “{project.name}”?",
                lost=project_content_summary(project),
                button="Delete project",
                cancel_url=reverse("portal:project-settings", args=[pk]),
                note="This cannot be undone.",
            )
        name = project.name
        delete_project(actor=request.user, project=project)
        messages.success(request, f"Deleted project “{name}”.")
        return redirect("portal:home")
