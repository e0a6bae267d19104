"""The Cytomine face: Cytomine's paths and JSON over our projects, labels, tasks and annotations.

Every route answers 200 without redirects, with and without the ``.json`` suffix
(``compat/api/urls.py``); lists use Cytomine's envelope and ``max``/``offset`` paging.
Permissions are the caller's role in the organization its credential acts in: reading
needs ``project.view`` (everyone), writing annotations ``task.annotate``.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from annotations.models import Annotation
from annotator.api.serializers import MessageSerializer
from compat import selectors, services
from compat.api.base import CompatView, CytomineObjectView, envelope, flag, id_list
from compat.api.serializers import (
    CytomineAnnotationCommandSerializer,
    CytomineAnnotationSerializer,
    CytomineAnnotationWriteSerializer,
    CytomineCurrentUserSerializer,
    CytomineImageInstanceSerializer,
    CytomineOntologySerializer,
    CytomineProjectSerializer,
    CytomineTermSerializer,
    ShowFlags,
    collection_schema,
)
from projects.models import LabelClass, Project
from tasks.models import Task

READ = {"get": "project.view"}
PAGING = [
    OpenApiParameter("max", int, description="Items per page; 0 (default) = all."),
    OpenApiParameter("offset", int, description="Index of the first item."),
]
ERRORS = {400: MessageSerializer, 403: MessageSerializer, 404: MessageSerializer}

ProjectCollection = collection_schema(CytomineProjectSerializer, "CytomineProjectCollection")
OntologyCollection = collection_schema(CytomineOntologySerializer, "CytomineOntologyCollection")
TermCollection = collection_schema(CytomineTermSerializer, "CytomineTermCollection")
ImageCollection = collection_schema(CytomineImageInstanceSerializer, "CytomineImageInstanceCollection")
AnnotationCollection = collection_schema(CytomineAnnotationSerializer, "CytomineAnnotationCollection")


class PingView(CompatView):
    """``/server/ping``: answers at once, without authentication (clients wait for it on connect)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    required_permissions = {"get": None, "post": None}
    # Not in the OpenAPI schema: it lives outside /api/, and one path there would change the
    # schema's common prefix and so rename every other operation id.
    schema = None

    def check_permissions(self, request) -> None:  # no organization to resolve
        return None

    def get(self, request):
        return Response({"alive": True, "authenticated": False, "version": "annotator", "serverURL": None})

    def post(self, request):
        return self.get(request)


class CurrentUserView(CompatView):
    required_permissions = {"get": None}

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_user_current_retrieve",
        responses={200: CytomineCurrentUserSerializer, 401: MessageSerializer},
    )
    def get(self, request):
        context = {"membership": request.membership, "credential": request.auth}
        return Response(CytomineCurrentUserSerializer(request.user, context=context).data)


@extend_schema_view(get=extend_schema(operation_id="cytomine_currentuser_retrieve"))
class CurrentUserAliasView(CurrentUserView):
    """``/api/currentuser.json``, the path the curl examples use."""


# --- projects and ontologies -----------------------------------------------------------
class ProjectListView(CompatView):
    required_permissions = READ

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_project_list",
        parameters=PAGING,
        responses={200: ProjectCollection, **ERRORS},
    )
    def get(self, request):
        items = selectors.projects(request.organization)
        return Response(envelope(request, items, lambda p: CytomineProjectSerializer(p).data))


class ProjectDetailView(CytomineObjectView):
    model = Project
    noun = "Project"
    required_permissions = READ

    def object_queryset(self):
        return selectors.projects(self.request.organization)

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_project_retrieve",
        responses={200: CytomineProjectSerializer, **ERRORS},
    )
    def get(self, request, id):
        return Response(CytomineProjectSerializer(self.object).data)


def _labels_by_project(organization, project_ids) -> dict[int, list[LabelClass]]:
    grouped: dict[int, list[LabelClass]] = defaultdict(list)
    for label in selectors.labels(organization).filter(project_id__in=list(project_ids)):
        grouped[label.project_id].append(label)
    return grouped


class OntologyListView(CompatView):
    required_permissions = READ

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_ontology_list",
        parameters=PAGING,
        responses={200: OntologyCollection, **ERRORS},
    )
    def get(self, request):
        projects = Project.objects.for_organization(request.organization).order_by("id")
        body = envelope(request, projects, lambda p: p)
        labels = _labels_by_project(request.organization, [p.pk for p in body["collection"]])
        body["collection"] = [
            CytomineOntologySerializer(p, context={"labels": labels}).data for p in body["collection"]
        ]
        return Response(body)


class OntologyDetailView(CytomineObjectView):
    """A project's label set as a Cytomine ontology (``ontology.id == project.id``)."""

    model = Project
    noun = "Ontology"
    required_permissions = READ

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_ontology_retrieve",
        responses={200: CytomineOntologySerializer, **ERRORS},
    )
    def get(self, request, id):
        labels = _labels_by_project(request.organization, [self.object.pk])
        return Response(CytomineOntologySerializer(self.object, context={"labels": labels}).data)


class OntologyProjectListView(CytomineObjectView):
    model = Project
    noun = "Ontology"
    required_permissions = READ

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_ontology_project_list",
        parameters=PAGING,
        responses={200: ProjectCollection, **ERRORS},
    )
    def get(self, request, id):
        items = selectors.projects(request.organization).filter(pk=self.object.pk)
        return Response(envelope(request, items, lambda p: CytomineProjectSerializer(p).data))


# --- terms -----------------------------------------------------------------------------
def _terms(request, labels):
    return Response(envelope(request, labels, lambda label: CytomineTermSerializer(label).data))


class TermListView(CompatView):
    required_permissions = READ

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_term_list",
        parameters=[*PAGING, OpenApiParameter("ontology", int, description="Only this ontology's (project's) terms.")],
        responses={200: TermCollection, **ERRORS},
    )
    def get(self, request):
        labels = selectors.labels(request.organization)
        ontology = id_list(request, "ontology")
        if ontology is not None:
            labels = labels.filter(project_id__in=ontology)
        return _terms(request, labels)


class OntologyTermListView(CytomineObjectView):
    """``/api/ontology/{id}/term.json``: the terms of a project's label set."""

    model = Project
    noun = "Ontology"
    required_permissions = READ

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_ontology_term_list",
        parameters=PAGING,
        responses={200: TermCollection, **ERRORS},
    )
    def get(self, request, id):
        return _terms(request, selectors.labels(request.organization).filter(project=self.object))


@extend_schema_view(get=extend_schema(operation_id="cytomine_project_term_list"))
class ProjectTermListView(OntologyTermListView):
    """``/api/project/{id}/term.json``: the same set, named by the project."""

    noun = "Project"


class TermDetailView(CytomineObjectView):
    model = LabelClass
    noun = "Term"
    required_permissions = READ

    @extend_schema(
        tags=["cytomine"], operation_id="cytomine_term_retrieve", responses={200: CytomineTermSerializer, **ERRORS}
    )
    def get(self, request, id):
        return Response(CytomineTermSerializer(self.object).data)


# --- image instances -------------------------------------------------------------------
class ProjectImageListView(CytomineObjectView):
    model = Project
    noun = "Project"
    required_permissions = READ

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_project_imageinstance_list",
        parameters=PAGING,
        responses={200: ImageCollection, **ERRORS},
    )
    def get(self, request, id):
        items = selectors.image_tasks(request.organization).filter(project=self.object)
        context = {"request": request}
        return Response(envelope(request, items, lambda t: CytomineImageInstanceSerializer(t, context=context).data))


class ImageDetailView(CytomineObjectView):
    model = Task
    noun = "ImageInstance"
    required_permissions = READ

    def object_queryset(self):
        return selectors.image_tasks(self.request.organization)

    @extend_schema(
        tags=["cytomine"],
        operation_id="cytomine_imageinstance_retrieve",
        responses={200: CytomineImageInstanceSerializer, **ERRORS},
    )
    def get(self, request, id):
        return Response(CytomineImageInstanceSerializer(self.object, context={"request": request}).data)


# --- annotations -----------------------------------------------------------------------
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
    OpenApiParameter("project", int, description="Annotations of this project (or projects=1,2)."),
    OpenApiParameter("image", int, description="Annotations of this image instance (or images=1,2)."),
    OpenApiParameter("term", int, description="Annotations with this term (or terms=1,2)."),
    OpenApiParameter("user", int, description="Annotations drawn by this user (or users=1,2)."),
    OpenApiParameter("noTerm", bool, description="Only annotations without a term."),
    OpenApiParameter("reviewed", bool, description="Only annotations of reviewed/completed tasks."),
    OpenApiParameter("showWKT", bool, description="Add location (WKT, origin bottom-left, y up)."),
    OpenApiParameter("showTerm", bool, description="Add term (list of ids) and userByTerm."),
    OpenApiParameter("showMeta", bool, description="Add image, project, user, dates, area... (default true)."),
    OpenApiParameter("showGIS", bool, description="Add centroid, area, perimeter."),
    OpenApiParameter("showUser", bool, description="Add the creator's username."),
    OpenApiParameter("showImage", bool, description="Add the image's file name."),
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
