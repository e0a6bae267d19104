"""Use cases that create and change tasks and batches (managers; media ingest calls
``create_task`` too)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from audit.services import record_event
from organizations.models import Membership
from organizations.roles import PERMISSIONS, role_has, roles_with
from projects.models import Project
from tasks.models import Batch, Tag, Task, TaskStatus, TaskTransition
from tasks.services.lifecycle import move_task
from tasks.services.locks import refuse_if_locked_by_other

MAX_TAGS_PER_TASK = 50
# Which permission a person needs to be given a task in each role of it.
PERSON_FIELDS = {"assignee": "task.annotate", "reviewer": "task.review"}


# --- people and tags ---------------------------------------------------------------------
def member_for(organization_id: int, user_id: int | None, *, field: str):
    """The organization member with ``user_id`` who may fill ``field`` (assignee/reviewer);
    a 400 naming the field otherwise. ``None`` stays ``None`` (unassign)."""
    if user_id is None:
        return None
    permission = PERSON_FIELDS[field]
    membership = (
        Membership.objects.filter(organization_id=organization_id, user_id=user_id).select_related("user").first()
    )
    if membership is None:
        raise ValidationError({f"{field}_id": [f"No member with id {user_id} in this organization."]})
    if not role_has(membership.role, permission):
        raise ValidationError(
            {
                f"{field}_id": [
                    f"{membership.user.username} is a {membership.role} and may not {PERMISSIONS[permission][0]}; "
                    f"choose one of: {', '.join(roles_with(permission))}."
                ]
            }
        )
    return membership.user


def _check_person(task_or_org_id: int, user, field: str) -> None:
    if user is not None:
        member_for(task_or_org_id, user.pk, field=field)


def _clean_tag_names(names: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for name in names:
        name = str(name).strip()
        if not name or len(name) > 100:
            raise ValidationError({"tags": ["A tag is 1-100 characters."]})
        if name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS_PER_TASK:
        raise ValidationError({"tags": [f"At most {MAX_TAGS_PER_TASK} tags per task."]})
    return cleaned


def tags_named(organization_id: int, names: Iterable[str]) -> list[Tag]:
    """The organization's tags with these names, created when missing."""
    names = _clean_tag_names(names)
    if not names:
        return []
    Tag.objects.bulk_create([Tag(organization_id=organization_id, name=name) for name in names], ignore_conflicts=True)
    return list(Tag.objects.for_organization(organization_id).filter(name__in=names))


# Relations are checked by the services themselves; clean_fields checks lengths and choices.
_RELATIONS = ["organization", "project", "batch", "assignee", "reviewer", "annotator", "locked_by"]


def _check_fields(task: Task) -> None:
    task.clean_fields(exclude=_RELATIONS)


def _check_batch(project: Project, batch: Batch | None) -> None:
    if batch is not None and batch.project_id != project.pk:
        raise Http404(f"No batch with id {batch.pk} in project {project.pk}.")


# --- tasks -------------------------------------------------------------------------------
@transaction.atomic
def create_task(
    *,
    actor,
    project: Project,
    name: str,
    batch: Batch | None = None,
    priority: int = 0,
    tags: Sequence[str] = (),
    assignee=None,
    reviewer=None,
    text: str = "",
) -> Task:
    """Create one task in ``project`` (media ingest calls this once per task it makes; a text
    task carries its ``text``). With an assignee the task starts ``assigned``."""
    _check_batch(project, batch)
    _check_person(project.organization_id, assignee, "assignee")
    _check_person(project.organization_id, reviewer, "reviewer")
    task = Task(
        project=project,
        batch=batch,
        name=name,
        priority=priority,
        assignee=assignee,
        reviewer=reviewer,
        text=text,
        status=TaskStatus.ASSIGNED if assignee is not None else TaskStatus.CREATED,
    )
    task.inherit_organization(project)
    _check_fields(task)
    task.save()
    tag_rows = tags_named(project.organization_id, tags)
    if tag_rows:
        task.tags.add(*tag_rows)
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="task.created",
        target=task,
        after={
            "project": project.pk,
            "batch": batch.pk if batch else None,
            "status": task.status,
            "assignee": assignee.username if assignee else None,
        },
    )
    return task


def _assignment_status(task: Task) -> str | None:
    """The status an assignment change implies (created <-> assigned), if any."""
    if task.assignee_id is not None and task.status == TaskStatus.CREATED:
        return TaskStatus.ASSIGNED
    if task.assignee_id is None and task.status == TaskStatus.ASSIGNED:
        return TaskStatus.CREATED
    return None


def _summary(value: Any) -> Any:
    if isinstance(value, Batch):
        return value.pk
    if hasattr(value, "username"):
        return value.username
    if isinstance(value, list):
        return sorted(value)
    return value


@transaction.atomic
def update_task(*, actor, task: Task, **changes: Any) -> Task:
    """Change a task's name, priority, tags, batch, assignee, reviewer or text.

    Assigning a ``created`` task makes it ``assigned`` (and unassigning an ``assigned`` one
    makes it ``created``); the text of a task someone else is annotating cannot change (423).
    """
    allowed = {"name", "priority", "tags", "batch", "assignee", "reviewer", "text"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({key: ["This field cannot be changed here."] for key in sorted(unknown)})
    task = Task.objects.select_for_update(of=("self",)).select_related("locked_by", "project").get(pk=task.pk)
    if "text" in changes and changes["text"] != task.text:
        refuse_if_locked_by_other(task, actor)
    if "batch" in changes:
        _check_batch(task.project, changes["batch"])
    for field in PERSON_FIELDS:
        if field in changes:
            _check_person(task.organization_id, changes[field], field)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    fields: list[str] = []
    for key, value in changes.items():
        if key == "tags":
            continue
        current = getattr(task, key)
        if current != value:
            before[key], after[key] = _summary(current), _summary(value)
            setattr(task, key, value)
            fields.append(key)
    if "tags" in changes:
        current_tags = sorted(task.tags.values_list("name", flat=True))
        wanted = tags_named(task.organization_id, changes["tags"])
        if sorted(tag.name for tag in wanted) != current_tags:
            task.tags.set(wanted)
            before["tags"], after["tags"] = current_tags, sorted(tag.name for tag in wanted)
    _check_fields(task)
    status = _assignment_status(task) if "assignee" in fields else None
    if status is not None:
        before["status"], after["status"] = task.status, status
        move_task(task, status, actor=actor, reason="assignment changed", also_save=fields, audit=False)
    else:
        task.save(update_fields=[*fields, "updated_at"])
    if after:
        record_event(
            actor=actor,
            organization=task.organization_id,
            action="task.updated",
            target=task,
            before=before,
            after=after,
        )
    return task


@transaction.atomic
def delete_task(*, actor, task: Task) -> None:
    """Delete a task with its annotations and media rows (not while someone else holds it)."""
    task = Task.objects.select_for_update(of=("self",)).select_related("locked_by").get(pk=task.pk)
    refuse_if_locked_by_other(task, actor)
    record_event(
        actor=actor,
        organization=task.organization_id,
        action="task.deleted",
        target=task,
        before={"name": task.name, "project": task.project_id, "status": task.status},
    )
    task.delete()


BULK_FIELDS = ("assignee", "reviewer", "priority", "batch", "add_tags", "remove_tags")


@transaction.atomic
def bulk_update_tasks(*, actor, organization, task_ids: Sequence[int], **changes: Any) -> int:
    """Apply the same change to many tasks of one organization at once: assign/unassign,
    set the reviewer, set the priority, move to a batch (of the task's own project), add or
    remove tags. Any id that is not a task of the organization makes the whole request 404.
    Returns the number of tasks. One audit event records the whole operation."""
    unknown = set(changes) - set(BULK_FIELDS)
    if unknown:
        raise ValidationError({key: ["Not a bulk change."] for key in sorted(unknown)})
    if not changes:
        raise ValidationError({"non_field_errors": [f"Name at least one change: {', '.join(BULK_FIELDS)}."]})
    org_id = organization if isinstance(organization, int) else organization.pk
    ids = sorted(set(task_ids))
    tasks = list(Task.objects.for_organization(org_id).filter(pk__in=ids).order_by("pk").select_for_update())
    missing = sorted(set(ids) - {task.pk for task in tasks})
    if missing:
        raise Http404(f"No task with id {', '.join(map(str, missing[:20]))} in your organization.")
    now = timezone.now()
    queryset = Task.objects.filter(pk__in=ids)
    plain: dict[str, Any] = {}
    for field in ("assignee", "reviewer"):
        if field in changes:
            _check_person(org_id, changes[field], field)
            plain[field] = changes[field]
    if "priority" in changes:
        plain["priority"] = changes["priority"]
    if "batch" in changes and changes["batch"] is not None:
        batch = changes["batch"]
        if any(task.project_id != batch.project_id for task in tasks):
            raise ValidationError({"batch_id": [f"Batch {batch.pk} belongs to another project than some tasks."]})
    if "batch" in changes:
        plain["batch"] = changes["batch"]
    transitions: list[TaskTransition] = []
    if "assignee" in changes:
        for task in tasks:
            task.assignee = changes["assignee"]
            status = _assignment_status(task)
            if status is not None:
                transitions.append(
                    TaskTransition(
                        organization_id=org_id,
                        task=task,
                        from_status=task.status,
                        to_status=status,
                        actor=actor,
                        reason="assignment changed (bulk)",
                    )
                )
        if changes["assignee"] is None:
            queryset.filter(status=TaskStatus.ASSIGNED).update(status=TaskStatus.CREATED)
        else:
            queryset.filter(status=TaskStatus.CREATED).update(status=TaskStatus.ASSIGNED)
        TaskTransition.objects.bulk_create(transitions)
    if plain:
        queryset.update(**plain, updated_at=now)
    through = Task.tags.through
    if changes.get("add_tags"):
        tags = tags_named(org_id, changes["add_tags"])
        through.objects.bulk_create(
            [through(task_id=task.pk, tag_id=tag.pk) for task in tasks for tag in tags], ignore_conflicts=True
        )
    if changes.get("remove_tags"):
        through.objects.filter(task_id__in=ids, tag__name__in=_clean_tag_names(changes["remove_tags"])).delete()
    if changes.get("add_tags") or changes.get("remove_tags"):
        queryset.update(updated_at=now)
    record_event(
        actor=actor,
        organization=org_id,
        action="task.bulk_updated",
        after={
            "task_ids": ids,
            "changes": {key: _summary(value) for key, value in changes.items()},
            "status_changes": len(transitions),
        },
    )
    return len(tasks)


# --- batches -------------------------------------------------------------------------------
def _unique_batch_name(project: Project, name: str, exclude: int | None = None) -> None:
    clash = Batch.objects.filter(project=project, name=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ValidationError({"name": [f"Project {project.pk} already has a batch named {name!r}."]})


@transaction.atomic
def create_batch(*, actor, project: Project, name: str, description: str = "") -> Batch:
    _unique_batch_name(project, name)
    batch = Batch(project=project, name=name, description=description)
    batch.inherit_organization(project)
    batch.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            batch.save()
    except IntegrityError:  # a concurrent create with the same name
        raise ValidationError({"name": [f"Project {project.pk} already has a batch named {name!r}."]}) from None
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="batch.created",
        target=batch,
        after={"project": project.pk, "name": name},
    )
    return batch


@transaction.atomic
def update_batch(*, actor, batch: Batch, **changes: Any) -> Batch:
    unknown = set(changes) - {"name", "description"}
    if unknown:
        raise ValidationError({key: ["This field cannot be changed."] for key in sorted(unknown)})
    if "name" in changes:
        _unique_batch_name(batch.project, changes["name"], exclude=batch.pk)
    before = {key: getattr(batch, key) for key in changes}
    for key, value in changes.items():
        setattr(batch, key, value)
    batch.full_clean(validate_constraints=False)
    batch.save()
    record_event(
        actor=actor,
        organization=batch.organization_id,
        action="batch.updated",
        target=batch,
        before=before,
        after=changes,
    )
    return batch


@transaction.atomic
def delete_batch(*, actor, batch: Batch) -> int:
    """Delete a batch; its tasks stay in the project without a batch. Returns how many."""
    count = Task.objects.filter(batch=batch).update(batch=None, updated_at=timezone.now())
    record_event(
        actor=actor,
        organization=batch.organization_id,
        action="batch.deleted",
        target=batch,
        before={"name": batch.name, "project": batch.project_id, "tasks": count},
    )
    batch.delete()
    return count
