"""Organization models, batch inference and its records, auto-annotation, evaluation."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from annotator.api.errors import Conflict
from annotator.api.serializers import MessageSerializer
from ml import selectors
from ml.api import serializers as s
from ml.models import AutoAnnotationRun, EvaluationRun, InferenceModel, InferenceRecord, InferenceRun
from ml.services import auto_annotation, evaluation, inference, registry
from ml.services.sam import require_sam
from organizations.api.base import TenantViewSet, is_valid_id
from projects.models import Project


def _in_org(request, model, object_id, field: str):
    obj = (
        model.objects.for_organization(request.organization).filter(pk=object_id).first()
        if object_id is not None and is_valid_id(object_id)
        else None
    )
    if obj is None:
        raise Http404(f"No {model._meta.verbose_name} with id {object_id} ({field}).")
    return obj


class InferenceModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet):
    """The organization's own models (TorchScript), one row per version."""

    model = InferenceModel
    serializer_class = s.InferenceModelSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    required_permissions = {
        "list": "model.manage",
        "retrieve": "model.manage",
        "create": "model.manage",
        "partial_update": "model.manage",
        "destroy": "model.manage",
        "set_default": "model.manage",
    }
    filterset_fields = ["name", "kind", "status", "is_default_detection"]
    ordering_fields = ["name", "version", "created_at"]
    ordering = ["name", "-version"]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by")

    @extend_schema(
        request={"multipart/form-data": s.InferenceModelCreateSerializer}, responses={201: s.InferenceModelSerializer}
    )
    def create(self, request):
        """Register a TorchScript file as the next version of ``name`` (validated by the ML worker)."""
        serializer = s.InferenceModelCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        model = registry.register_model(actor=request.user, organization=request.organization, **data)
        return Response(s.InferenceModelSerializer(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.InferenceModelUpdateSerializer, responses=s.InferenceModelSerializer)
    def partial_update(self, request, pk=None):
        serializer = s.InferenceModelUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = registry.update_model(actor=request.user, model=self.get_object(), **serializer.validated_data)
        return Response(s.InferenceModelSerializer(model).data)

    def perform_destroy(self, instance):
        registry.delete_model(actor=self.request.user, model=instance)

    @extend_schema(request=None, responses={200: s.InferenceModelSerializer, 409: MessageSerializer})
    @action(detail=True, methods=["post"], url_path="set-default")
    def set_default(self, request, pk=None):
        """Make this version the organization's default detection model."""
        model = registry.set_default_detection(actor=request.user, model=self.get_object())
        return Response(s.InferenceModelSerializer(model).data)


class InferenceRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Batch inference: many images in one request, per-image results, each image recorded."""

    model = InferenceRun
    serializer_class = s.InferenceRunSerializer
    parser_classes = [MultiPartParser, FormParser]
    required_permissions = {"list": "model.manage", "retrieve": "model.manage", "create": "model.manage"}
    filterset_fields = ["model"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def scope_queryset(self, queryset):
        records = Prefetch("records", queryset=InferenceRecord.objects.order_by("position"))
        return queryset.select_related("job", "job__created_by", "created_by").prefetch_related(records)

    @extend_schema(
        request={"multipart/form-data": s.InferenceRequestSerializer},
        responses={201: s.InferenceRunSerializer, 202: s.InferenceRunSerializer},
    )
    def create(self, request):
        """Infer many images (multipart ``images``) with a model (default: the default detector).

        With ``wait`` > 0 the answer comes when the worker is done (201 with every result), or
        after ``wait`` seconds with what is there (202; follow the run or its job).
        """
        serializer = s.InferenceRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        model = None
        if data.get("model_id") is not None:
            model = _in_org(request, InferenceModel, data["model_id"], "model_id")
        arguments = {"actor": request.user, "organization": request.organization, "images": data["images"]}
        if data["wait"] > 0:
            run, finished = inference.detect_images(**arguments, model=model, timeout=data["wait"])
        else:
            run, finished = inference.start_batch_inference(**arguments, model=model), False
        run = self.get_queryset().get(pk=run.pk)
        code = status.HTTP_201_CREATED if finished else status.HTTP_202_ACCEPTED
        return Response(s.InferenceRunSerializer(run).data, status=code)


class RecordSearchSerializer(s.StrictSerializer):
    name = serializers.CharField(max_length=500, required=False, help_text="Part of the image name.")
    object_count = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    label = serializers.CharField(max_length=100, required=False)
    model_version = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=["pending", "done", "failed"], required=False)
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)
    limit = serializers.IntegerField(required=False)
    offset = serializers.IntegerField(required=False)


class InferenceRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Every inferred image: search (the list, with filters and paging), recent, stats by date."""

    model = InferenceRecord
    serializer_class = s.InferenceRecordSerializer
    filter_backends: list = []  # filtering is the search selector's, shared with the detection contract
    required_permissions = {
        "list": "model.manage",
        "retrieve": "model.manage",
        "recent": "model.manage",
        "stats_by_date": "model.manage",
        "result_image": "model.manage",
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list" or getattr(self, "swagger_fake_view", False):
            return queryset
        query = RecordSearchSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = {k: v for k, v in query.validated_data.items() if k not in ("limit", "offset")}
        start, end = filters.pop("start_date", None), filters.pop("end_date", None)
        return selectors.search_records(self.request.organization, start=start, end=end, **filters)

    @extend_schema(parameters=[RecordSearchSerializer])
    def list(self, request, *args, **kwargs):
        """Search records (newest first) by name, object count, label, model, status, dates."""
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=[s.RecentQuerySerializer], responses=s.InferenceRecordSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)  # a plain list, not a page
    def recent(self, request):
        """The latest records (``limit``, default 120)."""
        query = s.RecentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.recent_records(request.organization, query.validated_data["limit"])
        return Response(s.InferenceRecordSerializer(rows, many=True).data)

    @extend_schema(parameters=[s.StatsQuerySerializer], responses=s.DailyStatSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="stats-by-date", pagination_class=None)
    def stats_by_date(self, request):
        """Images inferred and objects found per day (default: the last 15 days)."""
        query = s.StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.record_stats_by_date(
            request.organization, query.validated_data.get("start_date"), query.validated_data.get("end_date")
        )
        return Response(s.DailyStatSerializer(rows, many=True).data)

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 409: MessageSerializer})
    @action(detail=True, methods=["get"], url_path="result-image")
    def result_image(self, request, pk=None):
        """The image with what the model found drawn on it (JPEG)."""
        record = self.get_object()
        if not record.result_image_path:
            raise Conflict(f"{record.image_name} has no result image ({record.status}).", code="no_result_image")
        return HttpResponse(inference.result_image_bytes(record), content_type="image/jpeg")


class AutoAnnotationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """A registered model (or SAM from its boxes) over a project's tasks, stored as predictions."""

    model = AutoAnnotationRun
    serializer_class = s.AutoAnnotationSerializer
    required_permissions = {"list": "model.manage", "retrieve": "model.manage", "create": "model.manage"}
    filterset_fields = ["project", "model"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def scope_queryset(self, queryset):
        return queryset.select_related("job", "job__created_by", "created_by")

    @extend_schema(request=s.AutoAnnotationCreateSerializer, responses={202: s.AutoAnnotationSerializer})
    def create(self, request):
        serializer = s.AutoAnnotationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = _in_org(request, Project, data["project_id"], "project_id")
        model = _in_org(request, InferenceModel, data["model_id"], "model_id")
        if data["mode"] == "sam_from_boxes":
            require_sam()
        run = auto_annotation.start_auto_annotation(
            actor=request.user,
            project=project,
            model=model,
            mode=data["mode"],
            task_filter=data.get("task_filter"),
            skip_existing=data["skip_existing"],
            frame_step=data["frame_step"],
        )
        return Response(s.AutoAnnotationSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class EvaluationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """A model compared with reviewed annotations: mAP, precision/recall/F1, per class, confusion."""

    model = EvaluationRun
    serializer_class = s.EvaluationSerializer
    required_permissions = {"list": "model.manage", "retrieve": "model.manage", "create": "model.manage"}
    filterset_fields = ["project", "model"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def scope_queryset(self, queryset):
        return queryset.select_related("job", "job__created_by", "created_by")

    @extend_schema(
        request=s.EvaluationCreateSerializer,
        responses={202: s.EvaluationSerializer},
    )
    def create(self, request):
        serializer = s.EvaluationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = _in_org(request, Project, data["project_id"], "project_id")
        model = _in_org(request, InferenceModel, data["model_id"], "model_id")
        run = evaluation.start_evaluation(
            actor=request.user,
            project=project,
            model=model,
            iou_threshold=data["iou_threshold"],
            confidence_threshold=data["confidence_threshold"],
            task_filter=data.get("task_filter"),
        )
        return Response(s.EvaluationSerializer(run).data, status=status.HTTP_202_ACCEPTED)
