"""A project's label classes: edit, add, delete, reorder (drag or keyboard), templates."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from annotator.api.errors import ApiError
from portal.forms import ApplyTemplateForm, LabelForm, SaveTemplateForm
from portal.views.base import (
    ProjectChildMixin,
    TenantView,
    add_service_errors,
    confirmation_page,
    error_text,
    flash_errors,
    is_confirmed,
)
from projects.models import LabelClass, LabelTemplate
from projects.services.labels import create_label, delete_label, reorder_labels, update_label
from projects.services.templates import apply_template, save_project_as_template


def top_first(project) -> list[LabelClass]:
    """Labels as the page lists them: the one painted on top first."""
    return list(project.labels.order_by("-z_order", "-id"))


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


class LabelListView(ProjectChildMixin, TenantView):
    """The labels page; POST adds a label."""

    required_permissions = {"get": "project.view", "post": "label.change"}
    model = LabelClass

    def page(self, status=200, **forms):
        templates = LabelTemplate.objects.for_organization(self.organization).order_by("-is_builtin", "name")
        forms.setdefault("form", LabelForm())
        forms.setdefault("apply_form", ApplyTemplateForm(templates=templates))
        forms.setdefault("save_form", SaveTemplateForm(initial={"name": f"{self.project.name} labels"}))
        return self.render(
            "portal/labels.html",
            status=status,
            labels=top_first(self.project),
            templates=templates,
            tab="labels",
            **forms,
        )

    def get(self, request, project_pk):
        return self.page()

    def post(self, request, project_pk):
        form = LabelForm(request.POST)
        if form.is_valid():
            try:
                label = create_label(actor=request.user, project=self.project, data=form.as_service_data())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Added label “{label.name}” (maskid {label.maskid}), painted on top.")
                return redirect("portal:labels", project_pk=project_pk)
        return self.page(status=400, form=form)


class LabelEditView(ProjectChildMixin, TenantView):
    required_permissions = {"get": "project.view", "post": "label.change"}
    model = LabelClass

    def get(self, request, project_pk, pk):
        form = LabelForm(initial=LabelForm.initial_for(self.object))
        return self.render("portal/label_edit.html", form=form, label=self.object, tab="labels")

    def post(self, request, project_pk, pk):
        form = LabelForm(request.POST)
        if form.is_valid():
            data = form.as_service_data()
            data.setdefault("maskid", self.object.maskid)
            try:
                update_label(actor=request.user, label=self.object, data=data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved label “{self.object.name}”.")
                return redirect("portal:labels", project_pk=project_pk)
        return self.render("portal/label_edit.html", status=400, form=form, label=self.object, tab="labels")


class LabelDeleteView(ProjectChildMixin, TenantView):
    required_permissions = {"post": "label.change"}
    model = LabelClass

    def post(self, request, project_pk, pk):
        label = self.object
        if not is_confirmed(request):
            return confirmation_page(
                self,
                title=f"Delete label “{label.name}”?",
                lost=[f"the label class “{label.name}” (maskid {label.maskid})"],
                button="Delete label",
                cancel_url=reverse("portal:labels", args=[project_pk]),
                note="A label still used by annotations cannot be deleted.",
            )
        try:
            delete_label(actor=request.user, label=label)
        except ApiError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Deleted label “{label.name}”.")
        return redirect("portal:labels", project_pk=project_pk)


class LabelReorderView(ProjectChildMixin, TenantView):
    """Save a new order. ``order`` lists label ids top first (as the page shows them)."""

    required_permissions = {"post": "label.change"}
    model = LabelClass

    def post(self, request, project_pk):
        raw = request.POST.get("order", "")
        try:
            top_down = [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            top_down = None
        try:
            if top_down is None:
                raise ValidationError({"order": ["Send label ids separated by commas."]})
            labels = reorder_labels(actor=request.user, project=self.project, order=list(reversed(top_down)))
        except ValidationError as exc:
            if wants_json(request):
                return JsonResponse({"message": error_text(exc)}, status=400)
            flash_errors(request, exc)
            return redirect("portal:labels", project_pk=project_pk)
        if wants_json(request):
            return JsonResponse({"order": [lbl.pk for lbl in reversed(labels)], "message": "Order saved."})
        messages.success(request, "Order saved.")
        return redirect("portal:labels", project_pk=project_pk)


class LabelMoveView(ProjectChildMixin, TenantView):
    """The keyboard and no-JavaScript way to reorder: move one label up or down a place."""

    required_permissions = {"post": "label.change"}
    model = LabelClass

    def post(self, request, project_pk, pk):
        ids = [lbl.pk for lbl in top_first(self.project)]
        index = ids.index(self.object.pk)
        step = -1 if request.POST.get("direction") == "up" else 1
        other = index + step
        if 0 <= other < len(ids):
            ids[index], ids[other] = ids[other], ids[index]
            reorder_labels(actor=request.user, project=self.project, order=list(reversed(ids)))
            messages.success(request, f"Moved “{self.object.name}” {'up' if step < 0 else 'down'}.")
        return redirect(f"{reverse('portal:labels', args=[project_pk])}#label-{pk}")


class ApplyTemplateView(ProjectChildMixin, TenantView):
    required_permissions = {"post": "label.change"}
    model = LabelClass

    def post(self, request, project_pk):
        templates = LabelTemplate.objects.for_organization(self.organization)
        form = ApplyTemplateForm(request.POST, templates=templates)
        if not form.is_valid():
            messages.error(request, "Choose a template from your library.")
            return redirect("portal:labels", project_pk=project_pk)
        template = templates.get(pk=form.cleaned_data["template"])
        mode = form.cleaned_data["mode"]
        if mode == "replace" and not is_confirmed(request):
            keep = {row["name"].lower() for row in template.labels}
            gone = [lbl.name for lbl in self.project.labels.all() if lbl.name.lower() not in keep]
            return confirmation_page(
                self,
                title=f"Replace the labels with “{template.name}”?",
                lost=[f"label “{name}”" for name in gone] or ["no label (every current label is in the template)"],
                button="Replace labels",
                cancel_url=reverse("portal:labels", args=[project_pk]),
            )
        try:
            apply_template(actor=request.user, template=template, project=self.project, mode=mode)
        except (ValidationError, ApiError) as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Applied template “{template.name}” ({mode}).")
        return redirect("portal:labels", project_pk=project_pk)


class SaveAsTemplateView(ProjectChildMixin, TenantView):
    required_permissions = {"post": "template.change"}
    model = LabelClass

    def post(self, request, project_pk):
        form = SaveTemplateForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the template a name.")
            return redirect("portal:labels", project_pk=project_pk)
        try:
            template = save_project_as_template(
                actor=request.user,
                project=self.project,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            flash_errors(request, exc)
            return redirect("portal:labels", project_pk=project_pk)
        messages.success(request, f"Saved the labels as template “{template.name}”.")
        return redirect("portal:template", pk=template.pk)
