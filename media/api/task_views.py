"""A task's media: files, frames (as images), the video manifest and frame timetable, and
the signed download view that serves local storage."""

from __future__ import annotations

import os
import re

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from annotator.api.errors import ApiError, Conflict
from annotator.api.pagination import OffsetPagination
from annotator.api.serializers import MessageSerializer
from media import dicom, selectors
from media.api.serializers import (
    FrameSerializer,
    FrameTimetableSerializer,
    TaskMediaSerializer,
    VideoManifestSerializer,
)
from media.models import Frame
from media.storage import disposition_header, org_area, read_download_token, safe_content_type
from organizations.api.base import TenantAPIView, is_valid_id


class PassthroughRenderer(BaseRenderer):
    """Lets clients that ask for images/video (``Accept: image/*``) reach views that answer
    with bytes; errors are still JSON (see ``BytesView.finalize_response``)."""

    media_type = "*/*"
    format = "bytes"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class BytesView(TenantAPIView):
    renderer_classes = [JSONRenderer, PassthroughRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # an error body: always JSON
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class TaskScopedMixin:
    """Resolves ``task_pk`` in the caller's organization (404 otherwise) before any role check."""

    required_permissions = {"get": "project.view"}

    def resolve_objects(self) -> None:
        from tasks.models import Task

        task_pk = self.kwargs.get("task_pk")
        task = None
        if is_valid_id(task_pk):  # unordered: a pk lookup needs no ORDER BY (first() would add one)
            rows = Task.objects.for_organization(self.request.organization).select_related("project")
            task = next(iter(rows.filter(pk=task_pk).order_by()[:1]), None)
        if task is None:
            raise Http404(f"No task with id {task_pk}.")
        self.task = task


def _absolute(request, url: str | None) -> str | None:
    return request.build_absolute_uri(url) if url and url.startswith("/") else url


class TaskMediaView(TaskScopedMixin, TenantAPIView):
    @extend_schema(responses={200: TaskMediaSerializer, 404: MessageSerializer})
    def get(self, request, task_pk=None):
        """The task's files with short-lived download URLs, thumbnails, processing status,
        frame count, and the video metadata or DICOM series metadata (with window presets)."""
        data = selectors.task_media(self.task)
        data["thumbnail_url"] = _absolute(request, data["thumbnail_url"])
        for asset in data["assets"]:
            asset["url"] = _absolute(request, asset["url"])
            asset["thumbnail_url"] = _absolute(request, asset["thumbnail_url"])
        return Response(TaskMediaSerializer(data).data)


class FrameListView(TaskScopedMixin, TenantAPIView):
    pagination_class = OffsetPagination  # the schema shows the page envelope and ?limit= / ?offset=

    @extend_schema(responses={200: FrameSerializer(many=True)})
    def get(self, request, task_pk=None):
        """The task's frames in order: size, real timestamps (video), slice position (DICOM)."""
        rows = Frame.objects.for_organization(request.organization).filter(task=self.task).order_by("index")
        paginator = OffsetPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(FrameSerializer(page, many=True).data)


WINDOW_PARAMETERS = [
    OpenApiParameter(
        "window", str, enum=list(dicom.WINDOW_PRESETS), description="DICOM: a window preset (overrides the file's)."
    ),
    OpenApiParameter("center", float, description="DICOM: window centre (with width)."),
    OpenApiParameter("width", float, description="DICOM: window width (with center)."),
]


def _window(request) -> dicom.Window | None:
    params = request.query_params

    def number(name):
        raw = params.get(name)
        if raw in (None, ""):
            return None
        try:
            return float(raw)
        except ValueError:
            raise ValidationError({name: [f"Must be a number, got {raw!r}."]}) from None

    try:
        return dicom.parse_window(params.get("window") or None, number("center"), number("width"))
    except ValueError as exc:
        raise ValidationError({"window": [str(exc)]}) from None


class FrameImageView(TaskScopedMixin, BytesView):
    @extend_schema(
        parameters=[
            OpenApiParameter("ext", str, enum=["jpeg", "jpg", "png"], description="Encoding (default jpeg)."),
            *WINDOW_PARAMETERS,
        ],
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            400: MessageSerializer,
            404: OpenApiResponse(MessageSerializer, description="No frame with that index."),
            409: OpenApiResponse(MessageSerializer, description="The task has no media (no frames at all)."),
        },
    )
    def get(self, request, task_pk=None, index=None):
        """Frame ``index`` of the task as JPEG or PNG: the exact frame (video: by its real
        timestamp), EXIF-oriented (images), windowed to 8 bits (DICOM). Cached after the
        first request."""
        ext = (request.query_params.get("ext") or "jpeg").lower()
        if ext not in ("jpeg", "jpg", "png"):
            raise ValidationError({"ext": ["Use jpeg or png."]})
        ext = "jpeg" if ext == "jpg" else ext
        try:
            data = selectors.frame_bytes(self.task, int(index), ext=ext, window=_window(request))
        except selectors.FrameNotFound as exc:
            if not Frame.objects.filter(task=self.task).exists():
                raise Conflict(
                    f"Task {self.task.pk} has no pictures: no media was imported for it.", code="no_frames"
                ) from None
            raise Http404(str(exc)) from None
        response = HttpResponse(data, content_type=f"image/{ext}")
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class VideoManifestView(TaskScopedMixin, TenantAPIView):
    @extend_schema(
        responses={
            200: VideoManifestSerializer,
            400: OpenApiResponse(MessageSerializer, description="Not a video task."),
            409: OpenApiResponse(MessageSerializer, description="The video task has no video yet."),
        }
    )
    def get(self, request, task_pk=None):
        """Short-lived playback URL (the H.264 copy when the source is not browser-safe),
        poster URL and the same ``video_metadata`` as the task."""
        try:
            manifest = selectors.video_manifest(self.task)
        except selectors.NotAVideoTask:
            raise ApiError(f"Task {self.task.pk} is not a video task.", code="not_a_video") from None
        if manifest is None:
            raise Conflict(f"Task {self.task.pk} has no video yet; import one.", code="no_video")
        for key in ("video_url", "original_url", "poster_url"):
            manifest[key] = _absolute(request, manifest[key])
        return Response(VideoManifestSerializer(manifest).data)


class FrameTimetableView(TaskScopedMixin, TenantAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, description="First frame index (default 0)."),
            OpenApiParameter(
                "to", int, description="Last frame index, inclusive (default: from + MEDIA_TIMETABLE_MAX_FRAMES - 1)."
            ),
        ],
        responses={200: FrameTimetableSerializer, 400: OpenApiResponse(MessageSerializer, description="Not a video.")},
    )
    def get(self, request, task_pk=None):
        """Real timestamps of frames ``from..to``: ``pts_ms``, keyframe flag, picture type,
        byte offset. ``source`` is the decoder, or ``estimated`` with no frames for a video
        task without a timetable (estimate from fps then)."""
        limit = settings.MEDIA_TIMETABLE_MAX_FRAMES
        start = self._int("from", 0)
        stop = self._int("to", start + limit - 1)
        if stop < start:
            raise ValidationError({"to": ["Must not be before 'from'."]})
        if stop - start + 1 > limit:
            raise ValidationError({"to": [f"At most {limit} frames per request; page with from/to."]})
        try:
            body = selectors.frame_timetable(self.task, start, stop)
        except selectors.NotAVideoTask:
            raise ApiError(f"Task {self.task.pk} is not a video task.", code="not_a_video") from None
        return Response(FrameTimetableSerializer(body).data)

    def _int(self, name: str, default: int) -> int:
        raw = self.request.query_params.get(name)
        if raw in (None, ""):
            return default
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise ValidationError({name: [f"Must be a frame index (0 or more), got {raw!r}."]})
        return int(raw)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class DownloadView(BytesView):
    """Serves stored files on local storage behind signed, expiring links (S3 uses
    presigned URLs instead). The caller must also be signed in to the organization the
    link was made for: a link never works across organizations."""

    required_permissions = {"get": "project.view"}

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True, description="The signed link's token.")],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            404: MessageSerializer,
        },
    )
    def get(self, request):
        """Download a file through a signed link from the media endpoints (supports Range)."""
        token = request.query_params.get("token", "")
        try:
            payload = read_download_token(token)
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise Http404("This download link is invalid or has expired; ask for a new one.") from None
        path = payload["p"]
        if payload["o"] != request.organization.pk or not path.startswith(org_area(payload["o"]) + "/"):
            raise Http404("This download link is invalid or has expired; ask for a new one.")
        try:
            local = default_storage.path(path)
        except NotImplementedError:
            raise Http404("Files are served by the object store; ask for a new link.") from None
        if not os.path.isfile(local):
            raise Http404("The file no longer exists.")
        content_type, inline = safe_content_type(payload["t"])
        response = self._ranged(request, local, content_type)
        response["Content-Disposition"] = disposition_header(payload["f"], inline)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = f"private, max-age={int(payload['e'])}"
        response["Accept-Ranges"] = "bytes"
        return response

    def _ranged(self, request, local: str, content_type: str):
        size = os.path.getsize(local)
        match = _RANGE.match(request.headers.get("Range", "").strip())
        if not match or (not match.group(1) and not match.group(2)):
            return FileResponse(open(local, "rb"), content_type=content_type)
        first, last = match.group(1), match.group(2)
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:
            start, end = max(size - int(last), 0), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        length = end - start + 1

        def chunks():
            with open(local, "rb") as handle:
                handle.seek(start)
                left = length
                while left > 0:
                    block = handle.read(min(left, 1024 * 1024))
                    if not block:
                        return
                    left -= len(block)
                    yield block

        response = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(length)
        return response
