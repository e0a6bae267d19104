"""The Cytomine face: Cytomine's paths and JSON over our projects, labels and tasks
(annotations are in ``compat.api.annotations``, pictures in ``compat.api.images``).

Every route answers 200 without redirects, with and without the ``.json`` suffix
(``compat/api/urls.py``); lists use Cytomine's envelope and ``max``/``offset`` paging.
Permissions are the caller's role in the organization its credential acts in: reading
needs ``project.view`` (everyone), writing annotations ``task.annotate``.
"""

from __future__ import annotations

from collections import defaultdict

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from compat import selectors
from compat.api.base import (
    ERRORS,
    PAGING,
    READ,
    CompatView,
    CytomineErrorSerializer,
    CytomineObjectView,
    envelope,
    id_list,
    id_list_parameter,
)
from compat.api.serializers import (
    CytomineCurrentUserSerializer,
    CytomineImageInstanceSerializer,
    CytomineOntologySerializer,
    CytomineProjectSerializer,
    CytomineTermSerializer,
    collection_schema,
)
from projects.models import LabelClass, Project
from tasks.models import Task

ProjectCollection = collection_schema(CytomineProjectSerializer, "CytomineProjectCollection")
OntologyCollection = collection_schema(CytomineOntologySerializer, "CytomineOntologyCollection")
TermCollection = collection_schema(CytomineTermSerializer, "CytomineTermCollection")
ImageCollection = collection_schema(CytomineImageInstanceSerializer, "CytomineImageInstanceCollection")


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
        responses={200: CytomineCurrentUserSerializer, 401: CytomineErrorSerializer},
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
        parameters=[*PAGING, id_list_parameter("ontology", "Only this ontology's (project's) terms.")],
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
