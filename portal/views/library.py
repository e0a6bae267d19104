"""The organization's label template library: list, edit, copy, delete, export, import."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.text import slugify

from portal.forms import TemplateForm, TemplateImportForm
from portal.views.base import ObjectMixin, TenantView, add_service_errors, confirmation_page, is_confirmed
from projects.models import LabelTemplate
from projects.services.templates import (
    TemplateImportInvalid,
    create_template,
    delete_template,
    export_template,
    import_templates,
    preview_import,
    update_template,
)

EMPTY_ROW = {"name": "Unclassified", "color": "#808080", "maskid": 0, "z_order": 0}


def rows_json(rows) -> str:
    return json.dumps(rows, indent=2, ensure_ascii=False)


def _copy_name(template: LabelTemplate) -> str:
    names = set(LabelTemplate.objects.for_organization(template.organization_id).values_list("name", flat=True))
    candidate, n = f"{template.name} (copy)", 1
    while candidate in names:
        n += 1
        candidate = f"{template.name} (copy {n})"
    return candidate[:200]


class TemplateListView(TenantView):
    required_permissions = {"get": "template.view"}
    model = LabelTemplate

    def get(self, request):
        templates = self.tenant_queryset().order_by(F("is_builtin").desc(), "name").select_related("created_by")
        return self.render("portal/template_list.html", templates=templates)


class TemplateCreateView(TenantView):
    required_permissions = {"get": "template.change", "post": "template.change"}
    model = LabelTemplate

    def get(self, request):
        form = TemplateForm(initial={"labels": rows_json([EMPTY_ROW])})
        return self.render("portal/template_edit.html", form=form, template=None)

    def post(self, request):
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                template = create_template(actor=request.user, organization=self.organization, data=form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Created template “{template.name}”.")
                return redirect("portal:template", pk=template.pk)
        return self.render("portal/template_edit.html", status=400, form=form, template=None)


class TemplateDetailView(ObjectMixin, TenantView):
    """Shows a template; managers edit it in place (name, description, label rows)."""

    required_permissions = {"get": "template.view", "post": "template.change"}
    model = LabelTemplate

    def get(self, request, pk):
        template = self.object
        form = TemplateForm(
            initial={"name": template.name, "description": template.description, "labels": rows_json(template.labels)}
        )
        return self.render("portal/template_edit.html", form=form, template=template, rows=self.rows())

    def rows(self):
        return sorted(self.object.labels, key=lambda row: -(row.get("z_order") or 0))

    def post(self, request, pk):
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                update_template(actor=request.user, template=self.object, data=form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved template “{self.object.name}”.")
                return redirect("portal:template", pk=pk)
        return self.render("portal/template_edit.html", status=400, form=form, template=self.object, rows=self.rows())


class TemplateCopyView(ObjectMixin, TenantView):
    required_permissions = {"post": "template.change"}
    model = LabelTemplate

    def post(self, request, pk):
        source = self.object
        data = {"name": _copy_name(source), "description": source.description, "labels": source.labels}
        template = create_template(actor=request.user, organization=self.organization, data=data)
        messages.success(request, f"Copied “{source.name}” to “{template.name}”.")
        return redirect("portal:template", pk=template.pk)


class TemplateDeleteView(ObjectMixin, TenantView):
    required_permissions = {"post": "template.change"}
    model = LabelTemplate

    def post(self, request, pk):
        template = self.object
        if not is_confirmed(request):
            return confirmation_page(
                self,
                title=f"Delete template “{template.name}”?",
                lost=[f"the template and its {len(template.labels)} label rows"],
                button="Delete template",
                cancel_url=reverse("portal:template", args=[pk]),
                note="Projects that used it keep their own copy of the labels.",
            )
        name = template.name
        delete_template(actor=request.user, template=template)
        messages.success(request, f"Deleted template “{name}”.")
        return redirect("portal:templates")


class TemplateExportView(ObjectMixin, TenantView):
    required_permissions = {"get": "template.view"}
    model = LabelTemplate

    def get(self, request, pk):
        body = json.dumps(export_template(self.object), indent=2, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        filename = slugify(self.object.name) or f"template-{pk}"
        response["Content-Disposition"] = f'attachment; filename="{filename}.json"'
        return response


class TemplateImportView(TenantView):
    """Upload or paste JSON → preview with per-row errors → confirm import (all or nothing)."""

    required_permissions = {"get": "template.change", "post": "template.change"}
    model = LabelTemplate

    def get(self, request):
        return self.render("portal/template_import.html", form=TemplateImportForm())

    def post(self, request):
        form = TemplateImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render("portal/template_import.html", status=400, form=form)
        payload = form.cleaned_data["payload"]
        if request.POST.get("step") != "import":
            report = preview_import(payload, self.organization)
            return self.render(
                "portal/template_import.html",
                status=200 if report["valid"] else 400,
                form=TemplateImportForm(initial={"text": form.cleaned_data["text"]}),
                report=report,
                text=form.cleaned_data["text"],
            )
        try:
            created = import_templates(actor=request.user, organization=self.organization, payload=payload)
        except TemplateImportInvalid as exc:
            return self.render(
                "portal/template_import.html",
                status=400,
                form=TemplateImportForm(initial={"text": form.cleaned_data["text"]}),
                report=exc.report,
                text=form.cleaned_data["text"],
            )
        names = ", ".join(f"“{t.name}”" for t in created)
        messages.success(request, f"Imported {len(created)} template{'s' if len(created) != 1 else ''}: {names}.")
        if len(created) == 1:
            return redirect("portal:template", pk=created[0].pk)
        return redirect("portal:templates")
