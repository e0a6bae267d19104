"""The detection-service contract (``../shared/seeds/detection-service-api.md``) over the ml app.

``POST /api/detect`` runs the organization's default detection model on every uploaded
image (``ml.services.inference``: the same runs, records and worker as
``/api/v1/inference-runs``) and answers when the worker is done; ``/api/data/*`` read the
records (``ml.selectors``). Field names are the contract's. Errors carry the contract's
``error`` key next to our ``message``/``code``. Permission: ``model.manage``, as for our own
inference endpoints.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from annotator.api.errors import ApiError, ServiceUnavailable, exception_handler
from compat.api.base import CompatView, integer
from ml import replies, selectors
from ml.models import InferenceRecord, RecordStatus
from ml.services import inference

MAX_STAT_DAYS = 3660


def detection_timeout() -> float:
    """How long ``POST /api/detect`` waits for the ML worker (``COMPAT_DETECT_TIMEOUT_SECONDS``)."""
    return float(getattr(settings, "COMPAT_DETECT_TIMEOUT_SECONDS", 300))


def contract_exception_handler(exc: Exception, context: dict[str, Any]):
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "message" in response.data:
        response.data = {"error": response.data["message"], **response.data}
    return response


class DetectionView(CompatView):
    required_permissions = {"get": "model.manage", "post": "model.manage"}

    def get_exception_handler(self):
        return contract_exception_handler


# --- shapes (for the OpenAPI schema) ------------------------------------------------------
class DetectResultSerializer(serializers.Serializer):
    defect_count = serializers.IntegerField()
    dice = serializers.FloatField(allow_null=True, help_text="Highest confidence among the results.")
    labels = serializers.ListField(child=serializers.CharField())
    name = serializers.CharField()
    processing_time = serializers.FloatField(allow_null=True, help_text="Seconds.")
    result_image = serializers.CharField(allow_null=True, help_text="Base64 JPEG of the rendered result.")
    error = serializers.CharField(required=False, help_text="Only when this image could not be inferred.")


class DetectionRecordSerializer(serializers.Serializer):
    figId = serializers.IntegerField()
    name = serializers.CharField()
    resFig = serializers.CharField(allow_null=True)
    date = serializers.CharField()
    time = serializers.CharField()
    label = serializers.CharField(allow_null=True)
    num = serializers.IntegerField()
    dice = serializers.FloatField(allow_null=True)


class DetectionDailyStatSerializer(serializers.Serializer):
    record_count = serializers.IntegerField()
    stat_date = serializers.CharField()
    total_num = serializers.IntegerField()


class DetectionRecordPageSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    data = DetectionRecordSerializer(many=True)


class DetectRequestSerializer(serializers.Serializer):
    images = serializers.ListField(child=serializers.FileField(), help_text="Many files.")


class DetectionErrorSerializer(serializers.Serializer):
    """The detection service's error body (``error``, ``details``) with ours (``message``, ``code``)."""

    error = serializers.CharField()
    details = serializers.CharField(required=False)
    message = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def detect_result(record: InferenceRecord) -> dict[str, Any]:
    result = inference.record_result(record)
    picture = None
    if record.result_image_path:
        picture = base64.b64encode(inference.result_image_bytes(record)).decode("ascii")
    row = {
        "defect_count": result["object_count"],
        "dice": result["confidence"],
        "labels": result["labels"],
        "name": result["name"],
        "processing_time": result["processing_ms"] / 1000 if result["processing_ms"] is not None else None,
        "result_image": picture,
    }
    if record.status != RecordStatus.DONE:
        row["error"] = result["error"] or f"not inferred ({record.status})"
    return row


def record_row(record: InferenceRecord) -> dict[str, Any]:
    at = timezone.localtime(record.created_at)
    return {
        "figId": record.pk,
        "name": record.image_name,
        "resFig": None,
        "date": at.strftime("%Y-%m-%d"),
        "time": at.strftime("%H:%M:%S"),
        "label": ", ".join(record.labels) if record.labels else None,
        "num": record.object_count,
        "dice": record.confidence,
    }


# --- POST /api/detect --------------------------------------------------------------------
class DetectView(DetectionView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=["detection"],
        operation_id="detection_detect",
        request={"multipart/form-data": DetectRequestSerializer},
        responses={
            200: DetectResultSerializer(many=True),
            400: DetectionErrorSerializer,
            403: DetectionErrorSerializer,
            503: DetectionErrorSerializer,
        },
    )
    def post(self, request):
        """Run the organization's default detection model on every image; one result per image, in order."""
        if "images" not in request.FILES:
            return Response({"error": "No images provided", "message": "No images provided", "code": "no_images"}, 400)
        images = request.FILES.getlist("images")
        key = replies.new_reply_key()
        try:
            run = inference.start_batch_inference(
                actor=request.user, organization=request.organization, images=images, reply_key=key
            )
        except ValidationError as exc:
            return self._refused(exc, images)
        if not inference.wait_for_run(run, key, detection_timeout()):
            raise ServiceUnavailable(
                f"The detection of {run.image_count} image(s) is still running (run {run.pk}); its results will "
                "appear in /api/data/getRecent.",
                code="detection_pending",
                run_id=run.pk,
            )
        records = run.records.order_by("position")
        return Response([detect_result(record) for record in records])

    def _refused(self, exc: ValidationError, images) -> Response:
        for key, messages in exc.message_dict.items():
            if key.startswith("images."):
                position = int(key.split(".", 1)[1])
                name = images[position].name or f"image {position + 1}"
                body = {"error": f"Invalid image data for {name}", "details": messages[0]}
                return Response({**body, "message": messages[0], "code": "invalid_image"}, status=400)
        if "model_id" in exc.message_dict:  # the contract names no model: the default is missing
            message = (
                "The organization has no default detection model; register one and make it the default "
                "(POST /api/v1/ml/models/{id}/set-default)."
            )
            return Response({"error": message, "message": message, "code": "no_default_model"}, status=400)
        message = " ".join(m for ms in exc.message_dict.values() for m in ms)
        return Response({"error": message, "message": message, "code": "invalid"}, status=400)


# --- /api/data/* -------------------------------------------------------------------------
def _date(request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    for parser in (date.fromisoformat, lambda v: datetime.fromisoformat(v).date()):
        try:
            return parser(raw.strip())
        except ValueError:
            continue
    raise ApiError(f"{name} must be a date like 2024-05-31, got {raw!r}.", code="invalid_date")


MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000_000  # (page - 1) x limit stays an OFFSET PostgreSQL can take (was a 500)
PAGING_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        description="Records per page (default 10).",
    ),
    OpenApiParameter(
        "page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, description="Page number, from 1."
    ),
]


def _page(request, rows, default_limit: int) -> dict[str, Any]:
    limit = integer(request, "limit", default=default_limit, minimum=1, maximum=MAX_PAGE_SIZE)
    page = integer(request, "page", default=1, minimum=1, maximum=MAX_PAGE)
    offset = (page - 1) * limit
    return {"total": rows.count(), "data": [record_row(r) for r in rows[offset : offset + limit]]}


class RecentView(DetectionView):
    @extend_schema(
        tags=["detection"],
        operation_id="detection_recent",
        parameters=[OpenApiParameter("limit", int, description="How many (default 120).")],
        responses={200: DetectionRecordSerializer(many=True), 400: DetectionErrorSerializer},
    )
    def get(self, request):
        """The latest records, newest first."""
        limit = integer(request, "limit", default=selectors.RECENT_DEFAULT, minimum=1, maximum=10_000)
        return Response([record_row(r) for r in selectors.recent_records(request.organization, limit)])


class StatByDateView(DetectionView):
    @extend_schema(
        tags=["detection"],
        operation_id="detection_stat_by_date",
        parameters=[
            OpenApiParameter("startDate", str, description="First day (default: 14 days before endDate)."),
            OpenApiParameter("endDate", str, description="Last day (default: today)."),
        ],
        responses={200: DetectionDailyStatSerializer(many=True), 400: DetectionErrorSerializer},
    )
    def get(self, request):
        """Records and objects found per day, one row per day of the range (days without runs: 0)."""
        start, end = _date(request, "startDate"), _date(request, "endDate")
        end = end or timezone.localdate()
        start = start or end - timedelta(days=selectors.STATS_DEFAULT_DAYS - 1)
        if start > end:
            raise ApiError("startDate is after endDate.", code="invalid_date")
        if (end - start).days >= MAX_STAT_DAYS:
            raise ApiError(f"Ask for at most {MAX_STAT_DAYS} days at once.", code="invalid_date")
        found = {row["stat_date"]: row for row in selectors.record_stats_by_date(request.organization, start, end)}
        rows = []
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            row = found.get(day, {})
            rows.append(
                {
                    "record_count": row.get("record_count", 0),
                    "stat_date": day.isoformat(),
                    "total_num": row.get("total_objects", 0),
                }
            )
        return Response(rows)


class PaginatedView(DetectionView):
    @extend_schema(
        tags=["detection"],
        operation_id="detection_paginated",
        deprecated=True,
        parameters=PAGING_PARAMETERS,
        responses={200: DetectionRecordPageSerializer, 400: DetectionErrorSerializer},
    )
    def get(self, request):
        """Every record, newest first, one page at a time (superseded by search)."""
        return Response(_page(request, selectors.records(request.organization), 10))


class SearchView(DetectionView):
    @extend_schema(
        tags=["detection"],
        operation_id="detection_search",
        parameters=[
            *PAGING_PARAMETERS,
            OpenApiParameter("name", str, description="Part of the file name."),
            OpenApiParameter("num", int, description="Exact number of objects found."),
            OpenApiParameter("startDate", str, description="First day."),
            OpenApiParameter("endDate", str, description="Last day."),
        ],
        responses={200: DetectionRecordPageSerializer, 400: DetectionErrorSerializer},
    )
    def get(self, request):
        """Records matching every given filter, newest first, one page at a time."""
        rows = selectors.search_records(
            request.organization,
            name=request.query_params.get("name") or None,
            object_count=integer(request, "num", default=None),
            start=_date(request, "startDate"),
            end=_date(request, "endDate"),
        )
        return Response(_page(request, rows, 10))
