"""Cytomine annotations over our annotations: list with Cytomine's filters and ``show*``
groups, read one, add (one or a list), edit, delete. Locations are WKT with the origin at the
image's bottom-left (``compat.wkt``); writes go through ``compat.services``."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from annotations.models import Annotation
from compat import selectors, services
from compat.api.annotation_serializers import (
    CytomineAnnotationCommandSerializer,
    CytomineAnnotationSerializer,
    CytomineAnnotationWriteSerializer,
    ShowFlags,
)
from compat.api.base import (
    ERRORS,
    PAGING,
    CompatView,
    CytomineObjectView,
    envelope,
    flag,
    flag_parameter,
    id_list,
    id_list_parameter,
)
from compat.api.serializers import collection_schema
from projects.models import Project

AnnotationCollection = collection_schema(CytomineAnnotationSerializer, "CytomineAnnotationCollection")

UNSUPPORTED_FILTERS = (
    "bbox",
    "bboxAnnotation",
    "baseAnnotation",
    "slice",
    "slices",
    "track",
    "tracks",
    "group",
    "groups",
    "suggestedTerm",
    "jobForTermAlgo",
    "tags",
)
ANNOTATION_FILTERS = [
    *PAGING,
    id_list_parameter("project", "Annotations of this project (or projects=1,2)."),
    id_list_parameter("image", "Annotations of this image instance (or images=1,2)."),
    id_list_parameter("term", "Annotations with this term (or terms=1,2)."),
    id_list_parameter("user", "Annotations drawn by this user (or users=1,2)."),
    flag_parameter("noTerm", "Only annotations without a term."),
    flag_parameter("reviewed", "Only annotations of reviewed/completed tasks."),
    flag_parameter("showWKT", "Add location (WKT, origin bottom-left, y up)."),
    flag_parameter("showTerm", "Add term (list of ids) and userByTerm."),
    flag_parameter("showMeta", "Add image, project, user, dates, area... (default true)."),
    flag_parameter("showGIS", "Add centroid, area, perimeter."),
    flag_parameter("showUser", "Add the creator's username."),
    flag_parameter("showImage", "Add the image's file name."),
]


def _show(request) -> ShowFlags:
    return ShowFlags(
        basic=flag(request, "showBasic", True),
        meta=flag(request, "showMeta", True),
        wkt=flag(request, "showWKT", False),
        term=flag(request, "showTerm", False),
        gis=flag(request, "showGIS", False),
        user=flag(request, "showUser", False),
        image=flag(request, "showImage", False),
    )


def _filtered(request, queryset):
    for name in UNSUPPORTED_FILTERS:
        if request.query_params.get(name) not in (None, "", "null", "None"):
            raise exceptions.ValidationError({name: [f"The {name} filter is not supported by this server."]})
    if flag(request, "included", False):
        raise exceptions.ValidationError({"included": ["The included filter is not supported by this server."]})
    organization = request.organization
    containers = (
        ("project_id", ("project", "projects"), Project.objects.for_organization(organization), "Project"),
        ("task_id", ("image", "images"), selectors.image_tasks(organization), "ImageInstance"),
        ("label_id", ("term", "terms"), None, None),
        ("author_id", ("user", "users"), None, None),
    )
    for field, names, visible, noun in containers:
        ids = id_list(request, *names)
        if ids is None:
            continue
        if visible is not None:  # a project or image the caller cannot see does not exist (404)
            missing = set(ids) - set(visible.filter(pk__in=ids).values_list("pk", flat=True))
            if missing:
                raise Http404(f"{noun} not found with id : {min(missing)}")
        queryset = queryset.filter(**{f"{field}__in": ids})
    if flag(request, "noTerm", False):
        queryset = queryset.filter(label__isnull=True)
    reviewed = request.query_params.get("reviewed")
    if reviewed not in (None, ""):
        done = Q(task__status__in=("reviewed", "completed"))
        queryset = queryset.filter(done if flag(request, "reviewed", False) else ~done)
    return queryset


def _command(request, annotation, verb: str, method: str) -> dict:
    rows = selectors.annotations(request.organization, located=False)
    fresh = rows.filter(pk=annotation.pk).first() or annotation
    return {
        "annotation": CytomineAnnotationSerializer(fresh, context={"request": request}).data,
        "message": f"Annotation {annotation.pk} {verb}",
        "printMessage": True,
        "callback": {"annotationID": annotation.pk, "imageID": annotation.task_id, "method": method},
        "status": 200,
    }


class AnnotationListView(CompatView):
    required_permissions = {"get": "project.view", "post": "task.annotate"}

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_annotation_list",
        parameters=ANNOTATION_FILTERS,
        responses={200: AnnotationCollection, **ERRORS},
    )
    def get(self, request):
        items = _filtered(request, selectors.annotations(request.organization))
        context = {"request": request, "show": _show(request)}
        return Response(envelope(request, items, lambda a: CytomineAnnotationSerializer(a, context=context).data))

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_annotation_create",
        request=CytomineAnnotationWriteSerializer,
        responses={200: CytomineAnnotationCommandSerializer, **ERRORS},
        description="Add an annotation (or a JSON list of them, all or none): location as WKT with the origin at "
        "the image's bottom-left, image, term.",
    )
    def post(self, request):
        many = isinstance(request.data, list)
        bodies = request.data if many else [request.data]
        if not bodies or not all(isinstance(body, dict) for body in bodies):
            raise exceptions.ValidationError({"non_field_errors": ["Send an annotation object or a list of them."]})
        created = []
        with transaction.atomic():
            for body in bodies:
                serializer = CytomineAnnotationWriteSerializer(data=body)
                serializer.is_valid(raise_exception=True)
                created.append(
                    services.add_annotation(
                        actor=request.user, organization=request.organization, data=serializer.validated_data
                    )
                )
        commands = [_command(request, a, "added", "be.cytomine.AddUserAnnotationCommand") for a in created]
        if many:
            return Response({"status": 200, "message": f"{len(created)} annotations added", "data": commands})
        return Response(commands[0])


class AnnotationDetailView(CytomineObjectView):
    model = Annotation
    noun = "Annotation"
    required_permissions = {"get": "project.view", "put": "task.annotate", "delete": "task.annotate"}

    def object_queryset(self):
        return selectors.annotations(self.request.organization, located=False)

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_annotation_retrieve",
        responses={200: CytomineAnnotationSerializer, **ERRORS},
    )
    def get(self, request, id):
        return Response(CytomineAnnotationSerializer(self.object, context={"request": request}).data)

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_annotation_update",
        request=CytomineAnnotationWriteSerializer,
        responses={200: CytomineAnnotationCommandSerializer},
    )
    def put(self, request, id):
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send an annotation object."]})
        serializer = CytomineAnnotationWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        annotation = services.edit_annotation(
            actor=request.user, annotation=self.object, data=serializer.validated_data
        )
        return Response(_command(request, annotation, "edited", "be.cytomine.EditUserAnnotationCommand"))

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_annotation_destroy",
        request=None,
        responses={200: CytomineAnnotationCommandSerializer},
    )
    def delete(self, request, id):
        body = _command(request, self.object, "deleted", "be.cytomine.DeleteUserAnnotationCommand")
        services.delete_annotation(actor=request.user, annotation=self.object)
        return Response(body)
