from __future__ import annotations

from django.db.models import Count
from django.http import Http404
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from annotator.api.errors import error_body
from jobs.api.serializers import JobSerializer
from organizations.api.base import ProjectChildViewSet, TenantViewSet
from projects.api.serializers import (
    ApplyTemplateSerializer,
    LabelReorderSerializer,
    LabelSerializer,
    LabelTemplateSerializer,
    ProjectCopySerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
    SaveAsTemplateSerializer,
    TemplateImportRefusedSerializer,
    TemplateImportReportSerializer,
)
from projects.models import LabelClass, LabelTemplate, Project
from projects.services import labels as label_services
from projects.services import projects as project_services
from projects.services import templates as template_services


class ProjectViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    model = Project
    serializer_class = ProjectSerializer
    required_permissions = {
        "list": "project.view",
        "retrieve": "project.view",
        "create": "project.create",
        "partial_update": "project.change",
        "destroy": "project.delete",
        "copy": "project.create",
        "save_as_template": "template.change",
    }
    filterset_fields = {"kind": ["exact"], "name": ["exact", "icontains"]}
    ordering_fields = ["created_at", "updated_at", "name"]
    ordering = ["-created_at"]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by").annotate(label_count=Count("labels", distinct=True))

    def create(self, request):
        serializer = ProjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        template = None
        if "template_id" in data:
            template = (
                LabelTemplate.objects.for_organization(request.organization).filter(pk=data.pop("template_id")).first()
            )
            if template is None:
                raise Http404("No label template with that id in your library.")
        project = project_services.create_project(
            actor=request.user, organization=request.organization, template=template, **data
        )
        return Response(ProjectSerializer(self.get_queryset().get(pk=project.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer)
    def partial_update(self, request, pk=None):
        """Rename a project or change its settings."""
        project = self.get_object()
        serializer = ProjectUpdateSerializer(project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        project_services.update_project(actor=request.user, project=project, **serializer.validated_data)
        return Response(ProjectSerializer(self.get_queryset().get(pk=project.pk)).data)

    @extend_schema(responses={202: JobSerializer})
    def destroy(self, request, pk=None):
        """Delete the project with its tasks, media and annotations; a job purges its files."""
        job = project_services.delete_project(actor=request.user, project=self.get_object())
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ProjectCopySerializer, responses={201: ProjectSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request, pk=None):
        """Copy the project: settings and labels only, or with all its content (a background job,
        whose id is in the ``Job-Id`` header)."""
        serializer = ProjectCopySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target, job = project_services.copy_project(
            actor=request.user, project=self.get_object(), **serializer.validated_data
        )
        headers = {"Job-Id": str(job.pk)} if job else {}
        data = ProjectSerializer(self.get_queryset().get(pk=target.pk)).data
        return Response(data, status=status.HTTP_201_CREATED, headers=headers)

    @extend_schema(request=SaveAsTemplateSerializer, responses={201: LabelTemplateSerializer})
    @action(detail=True, methods=["post"], url_path="save-as-template")
    def save_as_template(self, request, pk=None):
        """Save this project's labels as a new template in the organization's library."""
        serializer = SaveAsTemplateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = template_services.save_project_as_template(
            actor=request.user, project=self.get_object(), **serializer.validated_data
        )
        return Response(LabelTemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class LabelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ProjectChildViewSet,
):
    """Label classes of a project."""

    model = LabelClass
    serializer_class = LabelSerializer
    pagination_class = None  # a label set is at most a few hundred rows (maskids 0-255)
    required_permissions = {
        "list": "project.view",
        "retrieve": "project.view",
        "create": "label.change",
        "partial_update": "label.change",
        "destroy": "label.change",
        "reorder": "label.change",
    }
    filterset_fields = ["category", "maskid"]
    ordering = ["z_order", "id"]

    def create(self, request, project_pk=None):
        serializer = LabelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        label = label_services.create_label(
            actor=request.user, project=self.get_project(), data=dict(serializer.validated_data)
        )
        return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LabelSerializer, responses=LabelSerializer)
    def partial_update(self, request, project_pk=None, pk=None):
        serializer = LabelSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        label = label_services.update_label(
            actor=request.user, label=self.get_object(), data=dict(serializer.validated_data)
        )
        return Response(LabelSerializer(label).data)

    def perform_destroy(self, instance):
        label_services.delete_label(actor=self.request.user, label=instance)

    @extend_schema(request=LabelReorderSerializer, responses=LabelSerializer(many=True))
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])  # a plain list
    def reorder(self, request, project_pk=None):
        """Set the z-order (painting order) from a list of all label ids, bottom to top."""
        serializer = LabelReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        labels = label_services.reorder_labels(
            actor=request.user, project=self.get_project(), order=serializer.validated_data["order"]
        )
        return Response(LabelSerializer(labels, many=True).data)


class LabelTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """The organization's label template library."""

    model = LabelTemplate
    serializer_class = LabelTemplateSerializer
    required_permissions = {
        "list": "template.view",
        "retrieve": "template.view",
        "export": "template.view",
        "create": "template.change",
        "partial_update": "template.change",
        "destroy": "template.change",
        "apply": "label.change",
        "import_preview": "template.change",
        "import_templates": "template.change",
    }
    filterset_fields = {"name": ["exact", "icontains"], "is_builtin": ["exact"]}
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name"]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by")

    def create(self, request):
        serializer = LabelTemplateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = template_services.create_template(
            actor=request.user, organization=request.organization, data=dict(serializer.validated_data)
        )
        return Response(LabelTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LabelTemplateSerializer, responses=LabelTemplateSerializer)
    def partial_update(self, request, pk=None):
        serializer = LabelTemplateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        template = template_services.update_template(
            actor=request.user, template=self.get_object(), data=dict(serializer.validated_data)
        )
        return Response(LabelTemplateSerializer(template).data)

    def perform_destroy(self, instance):
        template_services.delete_template(actor=self.request.user, template=instance)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """The template as portable JSON (what the import accepts)."""
        template = self.get_object()
        response = Response(template_services.export_template(template))
        response["Content-Disposition"] = f'attachment; filename="template-{template.pk}.json"'
        return response

    @extend_schema(request=ApplyTemplateSerializer, responses=LabelSerializer(many=True))
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])  # a plain list
    def apply(self, request, pk=None):
        """Copy the template's labels into a project (merge, or replace the project's labels)."""
        serializer = ApplyTemplateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = (
            Project.objects.for_organization(request.organization)
            .filter(pk=serializer.validated_data["project_id"])
            .first()
        )
        if project is None:
            raise Http404("No project with that id.")
        template_services.apply_template(
            actor=request.user, template=self.get_object(), project=project, mode=serializer.validated_data["mode"]
        )
        return Response(LabelSerializer(project.labels.order_by("z_order", "id"), many=True).data)

    @extend_schema(request=OpenApiTypes.ANY, responses=TemplateImportReportSerializer)  # any JSON: it is reported on
    @action(detail=False, methods=["post"], url_path="import/preview")
    def import_preview(self, request):
        """Validate a template JSON document and report every problem per template and row;
        writes nothing."""
        return Response(template_services.preview_import(request.data, request.organization))

    @extend_schema(
        request={"application/json": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
        responses={201: LabelTemplateSerializer(many=True), 400: TemplateImportRefusedSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import", pagination_class=None, filter_backends=[])
    def import_templates(self, request):
        """Import the templates of a JSON document, all or nothing; a bad document answers 400
        with the same report as the preview."""
        try:
            created = template_services.import_templates(
                actor=request.user, organization=request.organization, payload=request.data
            )
        except template_services.TemplateImportInvalid as exc:
            body = error_body(
                f"The template file has {exc.report['error_count']} problem(s); nothing was imported.",
                "invalid_template",
                report=exc.report,
            )
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(LabelTemplateSerializer(created, many=True).data, status=status.HTTP_201_CREATED)
