"""Read paths of the Cytomine face, scoped to the caller's organization.

The mapping (one data model, two faces):

* Cytomine **project** = our project (same id);
* **ontology** = the project's label set, so ``ontology.id == project.id``;
* **term** = a label class (same id);
* **image instance** = a task of an image project (same id), its picture is frame 0;
  width/height are that frame's;
* **annotation** = a per-frame annotation with pixels (box, rotated box, polygon, mask,
  points, polyline, keypoints) on frame 0 of such a task (same id). Lists show only these;
  ``/api/annotation/{id}.json`` also serves the task's other annotations (a classification,
  say) with a null location, so that every annotation of an image has a Cytomine address.
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from annotations.models import Annotation
from compat.wkt import LOCATED_TYPES
from media.models import Frame
from projects.models import LabelClass, Project
from tasks.models import Task

# Project kinds whose tasks are single still images (Cytomine image instances).
IMAGE_PROJECT_KINDS = ("image",)
ON_FRAME_ZERO = Q(frame_index=0) | Q(frame_index__isnull=True)


def image_annotations(organization) -> QuerySet[Annotation]:
    """Every annotation of an image instance (frame 0 of an image task), in ``organization``."""
    return Annotation.objects.for_organization(organization).filter(
        ON_FRAME_ZERO, task__project__kind__in=IMAGE_PROJECT_KINDS
    )


def located_annotations(organization) -> QuerySet[Annotation]:
    """The ones with pixels: what Cytomine lists (a classification has no location)."""
    return image_annotations(organization).filter(type__in=LOCATED_TYPES)


def _count(queryset: QuerySet, field: str) -> Coalesce:
    counted = queryset.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def projects(organization) -> QuerySet[Project]:
    images = Task.objects.filter(project__kind__in=IMAGE_PROJECT_KINDS)
    return (
        Project.objects.for_organization(organization)
        .annotate(
            number_of_images=_count(images, "project"),
            number_of_annotations=_count(located_annotations(organization), "project"),
        )
        .order_by("id")
    )


def labels(organization) -> QuerySet[LabelClass]:
    return LabelClass.objects.for_organization(organization).select_related("project").order_by("project_id", "id")


def image_tasks(organization) -> QuerySet[Task]:
    """Tasks of image projects with frame 0's size and first file, and their annotation count."""
    frame_zero = Frame.objects.filter(task=OuterRef("pk"), index=0)
    return (
        Task.objects.for_organization(organization)
        .filter(project__kind__in=IMAGE_PROJECT_KINDS)
        .select_related("project")
        .annotate(
            frame_width=Subquery(frame_zero.values("width")[:1]),
            frame_height=Subquery(frame_zero.values("height")[:1]),
            asset_id=Subquery(frame_zero.values("asset_id")[:1]),
            asset_name=Subquery(frame_zero.values("asset__original_name")[:1]),
            asset_mime=Subquery(frame_zero.values("asset__mime_type")[:1]),
            number_of_annotations=_count(located_annotations(organization), "task"),
        )
        .order_by("id")
    )


def annotations(organization, *, located: bool = True) -> QuerySet[Annotation]:
    """Annotations with what their Cytomine JSON needs (one query per page); ``located=False``
    adds those without pixels (served one by one, with a null location)."""
    frame_zero = Frame.objects.filter(task=OuterRef("task_id"), index=0)
    rows = located_annotations(organization) if located else image_annotations(organization)
    return (
        rows.select_related("task", "author")
        .annotate(
            frame_height=Subquery(frame_zero.values("height")[:1]),
            frame_width=Subquery(frame_zero.values("width")[:1]),
            comment_count=_count_comments(),
            image_name=Subquery(frame_zero.values("asset__original_name")[:1]),
        )
        .order_by("id")
    )


def _count_comments() -> Coalesce:
    from tasks.models import Comment

    return _count(Comment.objects.all(), "annotation")
