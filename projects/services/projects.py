"""Use cases for projects: create, update, copy, delete."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record_event
from jobs.models import Job
from jobs.services import create_job
from projects.kinds import KINDS
from projects.models import LabelClass, LabelTemplate, Project
from projects.services.templates import apply_template

SETTING_FIELDS = (
    "description",
    "review_required",
    "reviewer_must_differ",
    "auto_complete_on_approve",
    "strip_patient_identity",
)

# Apps that own project content (batches, tasks, media, annotations...) register a copier
# here from their AppConfig.ready(): fn(source, target, actor, job) -> None. Called in order.
CONTENT_COPIERS: list[tuple[int, Callable]] = []


def register_content_copier(order: int, fn: Callable) -> None:
    if all(existing is not fn for _, existing in CONTENT_COPIERS):
        CONTENT_COPIERS.append((order, fn))
        CONTENT_COPIERS.sort(key=lambda item: item[0])


@transaction.atomic
def create_project(
    *, actor, organization, name: str, kind: str, template: LabelTemplate | None = None, **settings
) -> Project:
    if kind not in KINDS:
        raise ValidationError({"kind": [f"Unknown kind {kind!r}; one of {', '.join(KINDS)}."]})
    project = Project(
        organization=organization,
        name=name,
        kind=kind,
        created_by=actor,
        **{k: v for k, v in settings.items() if k in SETTING_FIELDS},
    )
    project.full_clean()
    project.save()
    record_event(
        actor=actor,
        organization=organization,
        action="project.created",
        target=project,
        after={"name": name, "kind": kind},
    )
    if template is not None:
        apply_template(actor=actor, template=template, project=project)
    return project


@transaction.atomic
def update_project(*, actor, project: Project, **changes) -> Project:
    allowed = {"name", *SETTING_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({key: ["This field cannot be changed."] for key in unknown})
    before = {key: getattr(project, key) for key in changes}
    for key, value in changes.items():
        setattr(project, key, value)
    project.full_clean()
    project.save()
    action = "project.renamed" if set(changes) == {"name"} else "project.updated"
    record_event(
        actor=actor, organization=project.organization_id, action=action, target=project, before=before, after=changes
    )
    return project


@transaction.atomic
def copy_project(*, actor, project: Project, name: str, content: str = "settings") -> tuple[Project, Job | None]:
    """Copy a project: ``settings`` (settings and labels) or ``all`` (also every batch, task,
    media file and annotation — done by a background job, returned with the new project)."""
    if content not in ("settings", "all"):
        raise ValidationError({"content": ["Choose 'settings' or 'all'."]})
    target = Project(
        organization_id=project.organization_id,
        name=name,
        kind=project.kind,
        created_by=actor,
        **{key: getattr(project, key) for key in SETTING_FIELDS},
    )
    target.full_clean()
    target.save()
    LabelClass.objects.bulk_create(
        [
            LabelClass(project=target, organization_id=project.organization_id, **label.as_row())
            for label in project.labels.all()
        ]
    )
    job = None
    if content == "all":
        job = create_job(
            organization=project.organization_id,
            kind="project.copy",
            created_by=actor,
            project=target,
            params={"source_project_id": project.pk, "target_project_id": target.pk},
        )
        from projects.actors import copy_project_content

        transaction.on_commit(lambda: copy_project_content.send(job.pk))
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="project.copied",
        target=target,
        after={"source": project.pk, "content": content},
    )
    return target, job


def run_content_copiers(source: Project, target: Project, actor, job: Job) -> None:
    for _, copier in CONTENT_COPIERS:
        copier(source, target, actor, job)


@transaction.atomic
def delete_project(*, actor, project: Project) -> Job:
    """Delete a project with everything in it; its stored files are removed by a background job.

    Nothing outside the project is touched: the purge removes only the project's own storage
    prefix.
    """
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="project.deleted",
        target=project,
        before={"name": project.name, "kind": project.kind},
    )
    prefix = project.storage_prefix
    job = create_job(
        organization=project.organization_id,
        kind="project.purge_files",
        created_by=actor,
        params={"project_id": project.pk, "project_name": project.name, "prefix": prefix},
    )
    # Annotations first: their label is a PROTECT key, which Django refuses to cascade
    # through LabelClass even though the annotations go with the project anyway.
    from annotations.models import Annotation

    Annotation.objects.filter(project=project).delete()
    project.delete()
    from projects.actors import purge_project_files

    transaction.on_commit(lambda: purge_project_files.send(job.pk))
    return job
