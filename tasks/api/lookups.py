"""Objects named in request bodies, looked up inside the caller's organization: a foreign or
missing id is "not found" (404), never used."""

from __future__ import annotations

from django.http import Http404

from organizations.api.base import is_valid_id
from projects.models import Project
from tasks.models import Batch, Task


def project_in(organization, project_id: int | str) -> Project:
    project = (
        Project.objects.for_organization(organization).filter(pk=project_id).first()
        if is_valid_id(project_id)
        else None
    )
    if project is None:
        raise Http404(f"No project with id {project_id}.")
    return project


def batch_in(project: Project, batch_id: int | None) -> Batch | None:
    if batch_id is None:
        return None
    batch = Batch.objects.for_organization(project.organization_id).filter(pk=batch_id, project=project).first()
    if batch is None:
        raise Http404(f"No batch with id {batch_id} in project {project.pk}.")
    return batch


def batch_anywhere(organization, batch_id: int | None) -> Batch | None:
    if batch_id is None:
        return None
    batch = Batch.objects.for_organization(organization).filter(pk=batch_id).first()
    if batch is None:
        raise Http404(f"No batch with id {batch_id}.")
    return batch


def annotation_on(task: Task, annotation_id: int | None):
    """An annotation of the caller's organization (the comment service checks it is on ``task``)."""
    if annotation_id is None:
        return None
    from annotations.models import Annotation

    annotation = Annotation.objects.for_organization(task.organization_id).filter(pk=annotation_id).first()
    if annotation is None:
        raise Http404(f"No annotation with id {annotation_id}.")
    return annotation
