"""Use cases for a project's label classes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from annotator.api.errors import Conflict
from audit.services import record_event
from projects.labels import validate_label_rows
from projects.models import LabelClass, Project


@transaction.atomic
def create_label(*, actor, project: Project, data: dict) -> LabelClass:
    if "z_order" not in data:
        last = project.labels.order_by("-z_order").values_list("z_order", flat=True).first()
        data = {**data, "z_order": (last + 1) if last is not None else 0}
    row = validate_row_in_project(project, data)
    label = LabelClass(project=project, **row)
    label.inherit_organization(project)
    label.save()
    record_event(actor=actor, organization=project.organization_id, action="label.created", target=label, after=row)
    return label


def validate_row_in_project(project: Project, data: dict, exclude_pk: int | None = None) -> dict:
    siblings = [lbl.as_row() for lbl in project.labels.exclude(pk=exclude_pk)]
    clean, errors = validate_label_rows([*siblings, data])
    index = len(siblings)
    if index in errors:
        raise ValidationError(errors[index])
    return clean[index]


@transaction.atomic
def update_label(*, actor, label: LabelClass, data: dict) -> LabelClass:
    before = label.as_row()
    row = validate_row_in_project(label.project, {**before, **data}, exclude_pk=label.pk)
    for key, value in row.items():
        setattr(label, key, value)
    label.save()
    record_event(
        actor=actor, organization=label.organization_id, action="label.updated", target=label, before=before, after=row
    )
    return label


@transaction.atomic
def delete_label(*, actor, label: LabelClass) -> None:
    before = label.as_row()
    try:
        with transaction.atomic():
            label.delete()
    except ProtectedError as exc:
        raise Conflict(
            f"Label '{label.name}' is used by {len(exc.protected_objects)} annotation(s) or prediction(s); "
            "reassign or delete them first.",
            code="label_in_use",
        ) from None
    record_event(actor=actor, organization=label.organization_id, action="label.deleted", target=label, before=before)


@transaction.atomic
def reorder_labels(*, actor, project: Project, order: list[int]) -> list[LabelClass]:
    """Set z-order from a list of all the project's label ids, bottom (painted first) to top."""
    labels = {lbl.pk: lbl for lbl in project.labels.select_for_update()}
    if len(order) != len(set(order)):
        raise ValidationError({"order": ["The order lists a label twice."]})
    missing, unknown = set(labels) - set(order), set(order) - set(labels)
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing label ids {sorted(missing)}")
        if unknown:
            parts.append(f"ids not in this project {sorted(unknown)}")
        raise ValidationError({"order": [f"Give every label of the project exactly once: {'; '.join(parts)}."]})
    before = {lbl.name: lbl.z_order for lbl in labels.values()}
    for z, pk in enumerate(order):
        labels[pk].z_order = z
    LabelClass.objects.bulk_update(labels.values(), ["z_order"])
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="labels.reordered",
        target=project,
        before=before,
        after={labels[pk].name: z for z, pk in enumerate(order)},
    )
    return sorted(labels.values(), key=lambda lbl: lbl.z_order)


@transaction.atomic
def apply_label_rows(*, actor, project: Project, rows: list[dict], mode: str = "merge") -> list[LabelClass]:
    """Copy validated label rows into a project.

    ``merge`` updates labels of the same name and adds the others; ``replace`` also deletes
    labels the rows do not name (refused with 409 if annotations still use them).
    """
    existing = {lbl.name.lower(): lbl for lbl in project.labels.select_for_update()}
    incoming = {row["name"].lower(): row for row in rows}
    if mode == "replace":
        for key, label in existing.items():
            if key not in incoming:
                delete_label(actor=actor, label=label)
        existing = {k: v for k, v in existing.items() if k in incoming}
    # Kept labels must not collide with the incoming ones (maskids and aliases).
    clashes = []
    incoming_maskids = {row["maskid"]: row["name"] for row in rows}
    for key, label in existing.items():
        if key not in incoming and label.maskid in incoming_maskids:
            clashes.append(
                f"template label '{incoming_maskids[label.maskid]}' uses maskid {label.maskid}, which the "
                f"project's label '{label.name}' already has"
            )
    if clashes:
        raise ValidationError({"labels": [f"Cannot apply: {'; '.join(clashes)}. Change one of them first."]})
    final = [*(lbl.as_row() for k, lbl in existing.items() if k not in incoming), *rows]
    _, errors = validate_label_rows(final)
    if errors:
        details = [
            f"{final[i]['name']}: {'; '.join(m for msgs in fields.values() for m in msgs)}"
            for i, fields in errors.items()
            if i >= 0
        ]
        raise ValidationError({"labels": [f"Cannot apply: {d}" for d in details]})
    # Free maskids first so swapping maskids between labels does not trip the unique constraint.
    to_update = [lbl for key, lbl in existing.items() if key in incoming]
    for offset, label in enumerate(to_update):
        label.maskid = 1000 + offset
    if to_update:
        LabelClass.objects.bulk_update(to_update, ["maskid"])
    result = []
    try:
        for key, row in incoming.items():
            label = existing.get(key) or LabelClass(project=project, organization_id=project.organization_id)
            for field, value in row.items():
                setattr(label, field, value)
            label.save()
            result.append(label)
    except IntegrityError:
        raise ValidationError({"labels": ["Label names or maskids clash with the project's labels."]}) from None
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="labels.applied",
        target=project,
        after={"mode": mode, "labels": [r["name"] for r in rows]},
    )
    return result
