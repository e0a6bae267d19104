"""The organization's label template library: builtin templates, save/apply, JSON import
with a validation preview, JSON export."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record_event
from projects.builtin_templates import BUILTIN_TEMPLATES
from projects.labels import validate_label_rows
from projects.models import LabelTemplate, Project
from projects.services.labels import apply_label_rows

TEMPLATE_KEYS = {"name", "description", "labels"}
TEMPLATE_FORMAT = "annotator.label-template/v1"


def install_builtin_templates(organization) -> list[LabelTemplate]:
    """Give an organization its own copy of each builtin template (idempotent)."""
    created = []
    for template in BUILTIN_TEMPLATES:
        rows, errors = validate_label_rows(copy.deepcopy(template["labels"]))
        assert not errors, errors  # builtin data is checked by tests too
        obj, was_created = LabelTemplate.objects.get_or_create(
            organization=organization,
            name=template["name"],
            defaults={"description": template["description"], "labels": rows, "is_builtin": True},
        )
        if was_created:
            created.append(obj)
    return created


def _of_type(value: Any, kind: type) -> Any:
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def _validate_template(data: Any, organization, *, exclude_pk: int | None = None) -> tuple[dict, dict[str, Any]]:
    """Validate one template object. Returns (clean, report) where report lists every error."""
    report: dict[str, Any] = {"name": None, "valid": False, "errors": [], "labels": []}
    if not isinstance(data, dict):
        report["errors"].append('A template must be an object {"name", "description", "labels"}.')
        return {}, report
    unknown = set(data) - TEMPLATE_KEYS - {"format"}
    if unknown:
        report["errors"].append(f"Unknown keys: {', '.join(sorted(unknown))} (allowed: name, description, labels).")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
        report["errors"].append("name is required (1-200 characters).")
        name = None
    else:
        name = name.strip()
        clash = LabelTemplate.objects.for_organization(organization).filter(name=name)
        if exclude_pk is not None:
            clash = clash.exclude(pk=exclude_pk)
        if clash.exists():
            report["errors"].append(f"A template named {name!r} already exists in your library.")
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > 5000:
        report["errors"].append("description must be a string of at most 5000 characters.")
        description = ""
    labels = data.get("labels")
    if not isinstance(labels, list) or not labels:
        report["errors"].append("labels must be a non-empty list of label objects.")
        labels = labels if isinstance(labels, list) else []
    rows, row_errors = validate_label_rows(labels)
    for index in range(len(labels)):
        row = rows[index] if index < len(rows) else {}
        # The report echoes what it could read: a value of the wrong type is shown as null
        # (its error says why), so the report itself always has one shape.
        report["labels"].append(
            {
                "index": index,
                "name": _of_type(row.get("name"), str),
                "color": _of_type(row.get("color"), str),
                "maskid": _of_type(row.get("maskid"), int),
                "z_order": _of_type(row.get("z_order"), int),
                "category": _of_type(row.get("category"), str),
                "errors": row_errors.get(index, {}),
            }
        )
    report["name"] = name
    report["valid"] = not report["errors"] and not row_errors
    return {"name": name, "description": description, "labels": rows}, report


def preview_import(payload: Any, organization) -> dict[str, Any]:
    """Validate a template JSON document without writing anything.

    Accepts one template ``{"name", "description", "labels": [...]}``, a list of them, or
    ``{"templates": [...]}``. Reports per template and per label row what is wrong.
    """
    templates = _templates_in(payload)
    if templates is None:
        return {
            "valid": False,
            "error_count": 1,
            "errors": ['Expected a template object, a list of templates, or {"templates": [...]}.'],
            "templates": [],
        }
    reports = []
    names_seen: dict[str, int] = {}
    for index, data in enumerate(templates):
        _, report = _validate_template(data, organization)
        name = report.get("name")
        if name:
            if name.lower() in names_seen:
                report["errors"].append(
                    f"Template name {name!r} appears twice in this file (also #{names_seen[name.lower()]})."
                )
                report["valid"] = False
            names_seen.setdefault(name.lower(), index)
        report["index"] = index
        reports.append(report)
    error_count = sum(
        len(r["errors"]) + sum(len(m) for row in r["labels"] for m in row["errors"].values()) for r in reports
    )
    return {
        "valid": error_count == 0 and bool(reports),
        "error_count": error_count,
        "errors": [] if reports else ["The file holds no template."],
        "templates": reports,
    }


def _templates_in(payload: Any) -> list | None:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        if "templates" in payload and set(payload) <= {"templates", "format"}:
            return payload["templates"] if isinstance(payload["templates"], list) else None
        return [payload]
    return None


@transaction.atomic
def import_templates(*, actor, organization, payload: Any) -> list[LabelTemplate]:
    """Write the templates of a JSON document, all or nothing (after the same checks as the preview)."""
    report = preview_import(payload, organization)
    if not report["valid"]:
        raise TemplateImportInvalid(report)
    created = []
    for data in _templates_in(payload):
        clean, _ = _validate_template(data, organization)
        template = LabelTemplate.objects.create(organization=organization, created_by=actor, **clean)
        record_event(
            actor=actor,
            organization=organization,
            action="template.imported",
            target=template,
            after={"labels": len(clean["labels"])},
        )
        created.append(template)
    return created


class TemplateImportInvalid(Exception):
    def __init__(self, report: dict):
        super().__init__("invalid template import")
        self.report = report


def _raise_report(report: dict) -> None:
    errors: dict[str, list[str]] = {}
    if report["errors"]:
        errors["non_field_errors"] = report["errors"]
    for row in report["labels"]:
        for field, messages in row["errors"].items():
            errors.setdefault(f"labels.{row['index']}.{field}", []).extend(messages)
    raise ValidationError(errors)


@transaction.atomic
def create_template(*, actor, organization, data: dict) -> LabelTemplate:
    clean, report = _validate_template(data, organization)
    if not report["valid"]:
        _raise_report(report)
    template = LabelTemplate.objects.create(organization=organization, created_by=actor, **clean)
    record_event(actor=actor, organization=organization, action="template.created", target=template)
    return template


@transaction.atomic
def update_template(*, actor, template: LabelTemplate, data: dict) -> LabelTemplate:
    merged = {"name": template.name, "description": template.description, "labels": template.labels, **data}
    clean, report = _validate_template(merged, template.organization_id, exclude_pk=template.pk)
    if not report["valid"]:
        _raise_report(report)
    before = {"name": template.name, "labels": len(template.labels)}
    for key, value in clean.items():
        setattr(template, key, value)
    template.save()
    record_event(
        actor=actor,
        organization=template.organization_id,
        action="template.updated",
        target=template,
        before=before,
        after={"name": template.name, "labels": len(template.labels)},
    )
    return template


@transaction.atomic
def delete_template(*, actor, template: LabelTemplate) -> None:
    record_event(
        actor=actor,
        organization=template.organization_id,
        action="template.deleted",
        target=template,
        before={"name": template.name},
    )
    template.delete()


@transaction.atomic
def save_project_as_template(*, actor, project: Project, name: str, description: str = "") -> LabelTemplate:
    rows = [label.as_row() for label in project.labels.order_by("z_order", "id")]
    if not rows:
        raise ValidationError({"project": ["The project has no labels to save."]})
    return create_template(
        actor=actor, organization=project.organization, data={"name": name, "description": description, "labels": rows}
    )


@transaction.atomic
def apply_template(*, actor, template: LabelTemplate, project: Project, mode: str = "merge"):
    """Copy a template's labels into a project (a copy: later edits of either stay apart)."""
    rows, errors = validate_label_rows(copy.deepcopy(template.labels))
    if errors:
        raise ValidationError({"template": ["The template itself is invalid; fix it in the library first."]})
    labels = apply_label_rows(actor=actor, project=project, rows=rows, mode=mode)
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="template.applied",
        target=project,
        after={"template": template.name, "mode": mode},
    )
    return labels


def export_template(template: LabelTemplate) -> dict[str, Any]:
    """The portable JSON form of a template (what import accepts)."""
    return {
        "format": TEMPLATE_FORMAT,
        "name": template.name,
        "description": template.description,
        "labels": template.labels,
    }
