"""Imports and resumable uploads of a project: ``/projects/{id}/imports``, ``/projects/{id}/uploads``."""

from __future__ import annotations

from django.db.models import Count, Q
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import mixins, parsers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from annotator.api.errors import ApiError
from annotator.api.serializers import MessageSerializer
from media.api.serializers import (
    FromUploadsSerializer,
    ImportFileSerializer,
    ImportJobSerializer,
    ImportUploadSerializer,
    RegisterSerializer,
    UploadCreateSerializer,
    UploadSerializer,
)
from media.models import ImportFile, ImportJob, ImportOutcome, Upload
from media.services import imports as import_services
from media.services import uploads as upload_services
from organizations.api.base import ProjectChildViewSet

TUS_VERSION = "1.0.0"


def _batch(project, batch_id):
    if batch_id is None:
        return None
    from tasks.models import Batch

    batch = Batch.objects.for_organization(project.organization_id).filter(pk=batch_id, project=project).first()
    if batch is None:
        raise ValidationError({"batch_id": [f"No batch {batch_id} in project {project.pk}."]})
    return batch


def _accepted(job) -> Response:
    data = ImportJobSerializer(ImportJob.objects.select_related("created_by").get(pk=job.pk)).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Job-Id": str(job.pk)})


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectChildViewSet):
    """The project's import history, and new imports (upload, archive, registration,
    resumable uploads). Progress is also pushed on ``/ws/events/``."""

    model = ImportJob
    serializer_class = ImportJobSerializer
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser]  # files come as multipart
    required_permissions = {
        "list": "project.view",
        "retrieve": "project.view",
        "files": "project.view",
        "create": "media.upload",
        "register": "media.upload",
        "from_uploads": "media.upload",
        "resume": "media.upload",
    }
    filterset_fields = ["status"]
    ordering_fields = ["created_at", "finished_at"]
    ordering = ["-created_at"]

    def scope_queryset(self, queryset):
        files = Q(import_files__is_archive=False)
        return queryset.select_related("created_by").annotate(
            n_accepted=Count("import_files", filter=files & Q(import_files__outcome=ImportOutcome.ACCEPTED)),
            n_refused=Count("import_files", filter=files & Q(import_files__outcome=ImportOutcome.REFUSED)),
            n_duplicate=Count("import_files", filter=files & Q(import_files__outcome=ImportOutcome.DUPLICATE)),
            n_pending=Count("import_files", filter=files & Q(import_files__outcome=ImportOutcome.PENDING)),
            n_tasks=Count(
                "import_files__task",
                filter=Q(import_files__outcome=ImportOutcome.ACCEPTED),
                distinct=True,
            ),
        )

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={202: ImportJobSerializer, 400: MessageSerializer},
    )
    def create(self, request, project_pk=None):
        """Upload one or many files (multipart, field ``files`` repeated); archives are
        expanded. Answers 202 with the import; the files are checked by a worker."""
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = self.get_project()
        job = import_services.start_upload_import(
            actor=request.user,
            project=project,
            uploaded=data["files"],
            paths=data.get("paths", []),
            batch=_batch(project, data.get("batch_id")),
            task_name=data.get("task_name", ""),
        )
        return _accepted(job)

    @extend_schema(request=RegisterSerializer, responses={202: ImportJobSerializer, 400: MessageSerializer})
    @action(detail=False, methods=["post"])
    def register(self, request, project_pk=None):
        """Register the files under a folder of the organization's inbox in the bucket
        (``orgs/<org id>/inbox/<prefix>``); they are read where they are."""
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = self.get_project()
        job = import_services.start_register_import(
            actor=request.user,
            project=project,
            prefix=data["prefix"],
            batch=_batch(project, data.get("batch_id")),
            task_name=data.get("task_name", ""),
        )
        return _accepted(job)

    @extend_schema(request=FromUploadsSerializer, responses={202: ImportJobSerializer, 400: MessageSerializer})
    @action(detail=False, methods=["post"], url_path="from-uploads")
    def from_uploads(self, request, project_pk=None):
        """Import complete resumable uploads together (e.g. the files of one DICOM series)."""
        serializer = FromUploadsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = self.get_project()
        uploads = list(
            Upload.objects.for_organization(request.organization).filter(project=project, pk__in=data["upload_ids"])
        )
        missing = sorted(set(data["upload_ids"]) - {u.pk for u in uploads})
        if missing:
            raise ValidationError({"upload_ids": [f"No uploads {missing} in project {project.pk}."]})
        job = import_services.start_resumable_import(
            actor=request.user,
            project=project,
            uploads=uploads,
            batch=_batch(project, data.get("batch_id")),
            task_name=data.get("task_name", ""),
        )
        return _accepted(job)

    @extend_schema(
        request=None,
        responses={
            202: ImportJobSerializer,
            409: OpenApiResponse(MessageSerializer, description="The import did not fail, or no file is pending."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def resume(self, request, project_pk=None, pk=None):
        """Run a failed import again for its files still pending (e.g. storage was down for
        longer than the retries lasted): decided files stay decided, nothing is uploaded again."""
        job = import_services.resume_import(actor=request.user, job=self.get_object())
        return _accepted(job)

    @extend_schema(
        parameters=[
            OpenApiParameter("outcome", str, enum=[o.value for o in ImportOutcome], description="Only this outcome.")
        ],
        responses=ImportFileSerializer(many=True),
    )
    # Paged in file order; the import list's status filter and ordering do not apply here.
    @action(detail=True, methods=["get"], filter_backends=[])
    def files(self, request, project_pk=None, pk=None):
        """Every file of the import with its outcome and reason (paged)."""
        job = self.get_object()
        rows = ImportFile.objects.for_organization(request.organization).filter(job=job).order_by("position", "id")
        outcome = request.query_params.get("outcome")
        if outcome:
            if outcome not in ImportOutcome.values:
                raise ValidationError({"outcome": [f"One of {', '.join(ImportOutcome.values)}."]})
            rows = rows.filter(outcome=outcome)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ImportFileSerializer(page, many=True).data)


class ChunkParser(parsers.BaseParser):
    """The raw bytes of one chunk (``application/offset+octet-stream``, as tus sends it)."""

    media_type = "application/offset+octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        from django.conf import settings

        limit = settings.MEDIA_CHUNK_MAX_BYTES
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise ApiError(
                f"A chunk is at most {limit:,} bytes; send smaller chunks.", code="chunk_too_large", status_code=413
            )
        return data


class OctetChunkParser(ChunkParser):
    media_type = "application/octet-stream"


def _with_headers(response: Response, upload: Upload) -> Response:
    response["Upload-Offset"] = str(upload.offset)
    response["Upload-Length"] = str(upload.size_bytes)
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    return response


class UploadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ProjectChildViewSet):
    """Resumable uploads (tus-style): ``POST`` {filename, size} → ``PATCH`` chunks with an
    ``Upload-Offset`` header → ``GET``/``HEAD`` tells the offset to resume from → import
    complete uploads with ``POST /projects/{id}/imports/from-uploads``."""

    model = Upload
    serializer_class = UploadSerializer
    required_permissions = {
        "list": "media.upload",
        "retrieve": "media.upload",
        "create": "media.upload",
        "partial_update": "media.upload",
        "destroy": "media.upload",
    }
    filterset_fields = ["status"]
    ordering = ["-created_at"]
    # JSON to create, raw bytes for chunks (parsers are chosen by Content-Type).
    parser_classes = [parsers.JSONParser, ChunkParser, OctetChunkParser]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by", "project")

    @extend_schema(request=UploadCreateSerializer, responses={201: UploadSerializer, 400: MessageSerializer})
    def create(self, request, project_pk=None):
        """Start a resumable upload of ``size`` bytes; send chunks to ``upload_url``."""
        serializer = UploadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = upload_services.create_upload(
            actor=request.user,
            project=self.get_project(),
            filename=serializer.validated_data["filename"],
            size=serializer.validated_data["size"],
        )
        response = Response(UploadSerializer(upload).data, status=status.HTTP_201_CREATED)
        response["Location"] = UploadSerializer(upload).data["upload_url"]
        return _with_headers(response, upload)

    def retrieve(self, request, project_pk=None, pk=None):
        """The upload and its offset (also as ``Upload-Offset``; ``HEAD`` works too)."""
        upload = self.get_object()
        return _with_headers(Response(UploadSerializer(upload).data), upload)

    @extend_schema(
        request={"application/offset+octet-stream": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "Upload-Offset",
                int,
                OpenApiParameter.HEADER,
                required=True,
                description="Where this chunk starts: the upload's current offset.",
            )
        ],
        responses={
            200: UploadSerializer,
            409: OpenApiResponse(MessageSerializer, description="Wrong offset or closed upload; body has 'offset'."),
            413: MessageSerializer,
        },
    )
    def partial_update(self, request, project_pk=None, pk=None):
        """Append one chunk at ``Upload-Offset`` (raw body, at most MEDIA_CHUNK_MAX_BYTES)."""
        upload = self.get_object()
        raw = request.headers.get("Upload-Offset")
        if raw is None or not raw.strip().isdigit():
            raise ValidationError({"Upload-Offset": ["Send the chunk's start as the Upload-Offset header."]})
        data = request.data
        if not isinstance(data, bytes):
            raise ValidationError(
                {"body": ["Send the chunk as the raw body (Content-Type: application/offset+octet-stream)."]}
            )
        upload = upload_services.append_chunk(upload=upload, offset=int(raw), data=data)
        return _with_headers(Response(UploadSerializer(upload).data), upload)

    def destroy(self, request, project_pk=None, pk=None):
        """Abort the upload and delete its chunks."""
        upload_services.abort_upload(actor=request.user, upload=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
