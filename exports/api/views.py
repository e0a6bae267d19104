from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from annotator.api.errors import Conflict
from annotator.api.serializers import MessageSerializer
from exports.api.serializers import (
    ExportRequestSerializer,
    ExportSerializer,
    FormatListSerializer,
    ImportRequestSerializer,
    ImportSerializer,
    describe_formats,
)
from exports.models import Export, Import
from exports.services import exports as export_services
from exports.services import imports as import_services
from organizations.api.base import ProjectChildViewSet, TenantAPIView, TenantViewSet

_ARCHIVE = OpenApiResponse(OpenApiTypes.BINARY, description="The archive (zip), or a redirect to its presigned URL.")


class ProjectExportViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, ProjectChildViewSet):
    """A project's exports: who asked for which format over which scope, when, and how big."""

    model = Export
    serializer_class = ExportSerializer
    required_permissions = {"list": "export.create", "create": "export.create"}
    filterset_fields = ["format"]
    ordering_fields = ["created_at", "size_bytes"]
    ordering = ["-created_at"]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by", "job")

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportSerializer})
    def create(self, request, project_pk=None):
        """Start an export job; poll ``GET /api/v1/exports/{id}`` (or listen on /ws/events/)."""
        serializer = ExportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        export = export_services.request_export(
            actor=request.user,
            project=self.get_project(),
            format=data["format"],
            scope=dict(data.get("scope") or {}),
            options=data.get("options") or {},
            include_images=data["include_images"],
        )
        export = self.get_queryset().get(pk=export.pk)
        return Response(ExportSerializer(export, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class ExportViewSet(mixins.RetrieveModelMixin, TenantViewSet):
    """One export: its progress, and its archive once ready."""

    model = Export
    serializer_class = ExportSerializer
    required_permissions = {"retrieve": "export.create", "download": "export.create"}

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by", "job", "project")

    @extend_schema(
        responses={
            (200, "application/zip"): _ARCHIVE,
            302: OpenApiResponse(description="A redirect to the archive's presigned URL (S3)."),
            409: OpenApiResponse(MessageSerializer, description="Not ready yet (`not_ready`)."),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The archive: streamed from local storage, or a redirect to a presigned S3 URL."""
        export = self.get_object()
        if not export.is_ready:
            raise Conflict(f"The export is {export.status}; download it once it has succeeded.", code="not_ready")
        if export_services.is_s3_storage():
            return HttpResponseRedirect(export_services.download_url(export, request))
        return _archive_response(export)


def _archive_response(export: Export) -> FileResponse:
    return FileResponse(
        export_services.open_archive(export),
        as_attachment=True,
        filename=export.file_name or "export.zip",
        content_type="application/zip",
    )


class SignedExportDownloadView(TenantAPIView):
    """A signed, short-lived download link (local storage). The caller must also be signed
    in (session, token or key pair) to the organization the link was made for, so a link
    never works across organizations; a bad, expired or foreign link is 404."""

    required_permissions = {"get": "export.create"}

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True, description="The signed token of download_url.")],
        responses={
            (200, "application/zip"): _ARCHIVE,
            404: OpenApiResponse(MessageSerializer, description="Unknown or expired link."),
        },
    )
    def get(self, request):
        export = export_services.export_from_token(request.query_params.get("token", ""))
        if export is None or export.organization_id != request.organization.pk or not export.is_ready:
            raise Http404("This download link is unknown or has expired; ask for a new one.")
        return _archive_response(export)


class ExportFormatsView(TenantAPIView):
    """Formats that can be exported and imported, with their options."""

    required_permissions = {"get": "project.view"}

    @extend_schema(responses=FormatListSerializer)
    def get(self, request):
        return Response(describe_formats())


class ProjectImportViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, ProjectChildViewSet):
    """A project's imports and their per-file reports."""

    model = Import
    serializer_class = ImportSerializer
    required_permissions = {"list": "export.create", "create": "export.create"}
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["format"]
    ordering = ["-created_at"]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by", "job")

    @extend_schema(request={"multipart/form-data": ImportRequestSerializer}, responses={202: ImportSerializer})
    def create(self, request, project_pk=None):
        """Upload annotations (a file, or a zip/tar of them) and start the import job."""
        serializer = ImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        record = import_services.request_import(
            actor=request.user,
            project=self.get_project(),
            format=data["format"],
            upload=data["file"],
            options=data.get("options") or {},
        )
        return Response(ImportSerializer(self.get_queryset().get(pk=record.pk)).data, status=status.HTTP_202_ACCEPTED)


class ImportViewSet(mixins.RetrieveModelMixin, TenantViewSet):
    model = Import
    serializer_class = ImportSerializer
    required_permissions = {"retrieve": "export.create"}

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by", "job")
