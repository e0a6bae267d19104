"""The annotation API under ``/api/v1/tasks/{task_pk}/``: views translate HTTP, services write."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from annotations import selectors, services
from annotations.api import serializers as s
from annotations.geometry import track_frames
from annotations.models import Annotation, Source
from annotations.services.revisions import revision_states
from annotations.shapes import canonical_type
from annotator.api.pagination import OffsetPagination
from annotator.api.serializers import MessageSerializer
from organizations.api.base import TenantAPIView, is_valid_id
from projects.kinds import AnnotationType
from tasks.models import Task

# Every write to a task's annotations may meet these (docs/annotations.md).
WRITE_ERRORS = {
    409: OpenApiResponse(MessageSerializer, description="Stale revision: the body has current_revision."),
    423: OpenApiResponse(MessageSerializer, description="The task is locked by someone else, or needs your lock."),
}


class TaskAPIView(TenantAPIView):
    """A view under ``/tasks/{task_pk}/``: the task is looked up in the caller's organization
    (404 for anything else) before the role check."""

    task: Task

    def resolve_objects(self) -> None:
        pk = self.kwargs.get("task_pk")
        task = None
        if is_valid_id(pk):  # unordered: a pk lookup needs no ORDER BY (first() would add one)
            rows = Task.objects.for_organization(self.request.organization).select_related("project")
            task = next(iter(rows.filter(pk=pk).order_by()[:1]), None)
        if task is None:
            raise Http404(f"No task with id {pk}.")
        self.task = task

    def annotation(self, pk) -> Annotation:
        found = (
            Annotation.objects.filter(task=self.task, pk=pk).select_related("label", "author").first()
            if is_valid_id(pk)
            else None
        )
        if found is None:
            raise Http404(f"No annotation {pk} on task {self.task.pk}.")
        return found

    def annotation_set(self, task: Task, annotations: list[Annotation] | None = None) -> dict:
        if annotations is None:
            annotations = selectors.task_annotations(task)
        return {
            "task_id": task.pk,
            "revision": task.annotation_revision,
            "status": task.status,
            "count": len(annotations),
            "annotations": s.AnnotationSerializer(annotations, many=True).data,
        }


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _reread(annotations: list[Annotation]) -> list[Annotation]:
    """The same annotations with label and author loaded (one query)."""
    order = [a.pk for a in annotations]
    rows = {a.pk: a for a in Annotation.objects.filter(pk__in=order).select_related("label", "author")}
    return [rows[pk] for pk in order if pk in rows]


class TaskAnnotationsView(TaskAPIView):
    required_permissions = {"get": "project.view", "post": "task.annotate"}

    @extend_schema(
        operation_id="v1_tasks_annotations_list",
        parameters=[s.AnnotationFilterSerializer],
        responses=s.AnnotationSetSerializer,
    )
    def get(self, request, task_pk):
        """The task's current annotations and revision (filter by frame, type, source, label)."""
        filters = _valid(s.AnnotationFilterSerializer, request.query_params)
        types = None
        if filters.get("type"):
            types = []
            for name in filters["type"].split(","):
                kind = canonical_type(name)
                if kind is None:
                    raise serializers.ValidationError({"type": [f"unknown type {name!r}."]})
                types.append(kind)
        sources = None
        if filters.get("source"):
            sources = filters["source"].split(",")
            unknown = [x for x in sources if x not in Source.values]
            if unknown:
                allowed = ", ".join(Source.values)
                raise serializers.ValidationError({"source": [f"unknown source {unknown[0]!r} (one of {allowed})."]})
        label = filters.get("label")
        if label is not None and label.isdigit():
            label = int(label)
        annotations = selectors.task_annotations(
            self.task, frame_index=filters.get("frame_index"), types=types, sources=sources, label=label
        )
        return Response(self.annotation_set(self.task, annotations))

    @extend_schema(request=s.SaveAnnotationsSerializer, responses={200: s.AnnotationSetSerializer, **WRITE_ERRORS})
    def post(self, request, task_pk):
        """Submit: the shapes become the task's annotation set (a new revision); the task moves
        to submitted and its lock is released. Needs your lock on the task."""
        data = _valid(s.SaveAnnotationsSerializer, request.data)
        result = services.save_annotations(
            self.task, data["shapes"], actor=request.user, revision=data.get("revision"), submit=True
        )
        return Response(self.annotation_set(result.task))


class DraftView(TaskAPIView):
    required_permissions = {"put": "task.annotate"}

    @extend_schema(request=s.SaveAnnotationsSerializer, responses={200: s.AnnotationSetSerializer, **WRITE_ERRORS})
    def put(self, request, task_pk):
        """Draft save (autosave): like submit, but the task stays in progress and you keep the lock."""
        data = _valid(s.SaveAnnotationsSerializer, request.data)
        result = services.save_annotations(
            self.task, data["shapes"], actor=request.user, revision=data.get("revision"), submit=False
        )
        return Response(self.annotation_set(result.task))


class AnnotationDetailView(TaskAPIView):
    required_permissions = {"get": "project.view"}

    @extend_schema(operation_id="v1_tasks_annotation_retrieve", responses=s.AnnotationSerializer)
    def get(self, request, task_pk, annotation_id):
        return Response(s.AnnotationSerializer(self.annotation(annotation_id)).data)


class TrackFramesView(TaskAPIView):
    required_permissions = {"get": "project.view"}

    @extend_schema(parameters=[s.TrackFramesQuerySerializer], responses=s.TrackFramesSerializer)
    def get(self, request, task_pk, annotation_id):
        """Every visible frame of a video_track, interpolated by the shared function
        (``annotations.geometry.track_frames``), optionally within ``from``-``to``."""
        annotation = self.annotation(annotation_id)
        if annotation.type != AnnotationType.VIDEO_TRACK:
            raise serializers.ValidationError(
                {"annotation_id": [f"annotation {annotation.pk} is a {annotation.type}, not a video_track."]}
            )
        window = _valid(s.TrackFramesQuerySerializer, request.query_params)
        first, last = window.get("from", 0), window.get("to")
        frames = [
            f
            for f in track_frames(annotation.geometry["keyframes"])
            if f["frame_index"] >= first and (last is None or f["frame_index"] <= last)
        ]
        return Response({"annotation_id": annotation.pk, "track_id": annotation.object_id, "frames": frames})


class ConvertToBboxesView(TaskAPIView):
    required_permissions = {"post": "task.annotate"}

    @extend_schema(request=s.ConvertSerializer, responses={200: s.ConvertedSerializer, **WRITE_ERRORS})
    def post(self, request, task_pk, annotation_id):
        """Convert a video_track to independent video_bbox annotations (copy or split; one frame
        or the whole track; keyframes or all frames)."""
        data = _valid(s.ConvertSerializer, request.data)
        if not is_valid_id(annotation_id):
            raise Http404(f"No annotation {annotation_id} on task {self.task.pk}.")
        result = services.convert_to_bboxes(
            self.task,
            int(annotation_id),
            actor=request.user,
            operation=data["operation"],
            scope=data["scope"],
            frame_index=data.get("frame_index"),
            frame_mode=data["frame_mode"],
            revision=data.get("revision"),
        )
        return Response(
            {
                "source_annotation": s.AnnotationSerializer(result.source_annotation).data,
                "created_annotations": s.AnnotationSerializer(_reread(result.created_annotations), many=True).data,
                "deleted_source": result.deleted_source,
                "removed_frame_indexes": result.removed_frame_indexes,
                "revision": result.task.annotation_revision,
            }
        )


class TrackCompositionsView(TaskAPIView):
    required_permissions = {"post": "task.annotate"}

    @extend_schema(request=s.CompositionSerializer, responses={200: s.ComposedSerializer, **WRITE_ERRORS})
    def post(self, request, task_pk):
        """aggregate_bboxes, split_track or merge_tracks; one transaction, revision-checked."""
        data = _valid(s.CompositionSerializer, request.data)
        result = services.compose_tracks(
            self.task,
            actor=request.user,
            operation=data["operation"],
            annotation_ids=data["annotation_ids"],
            frame_index=data.get("frame_index"),
            delete_sources=data["delete_sources"],
            revision=data.get("revision"),
        )
        return Response(
            {
                "updated_annotations": s.AnnotationSerializer(_reread(result.updated_annotations), many=True).data,
                "created_annotations": s.AnnotationSerializer(_reread(result.created_annotations), many=True).data,
                "deleted_annotation_ids": result.deleted_annotation_ids,
                "revision": result.task.annotation_revision,
            }
        )


class AcceptPredictionView(TaskAPIView):
    required_permissions = {"post": "ai.assist"}

    @extend_schema(request=s.AcceptSerializer, responses={201: s.AcceptedSerializer, **WRITE_ERRORS})
    def post(self, request, task_pk):
        """Accept one candidate shape: it becomes an annotation (source ai-accepted) of the
        project class its model name maps to."""
        data = _valid(s.AcceptSerializer, request.data)
        result = services.accept_prediction_shape(
            self.task, data["prediction_id"], data["shape_index"], actor=request.user, revision=data.get("revision")
        )
        return Response(
            {
                "annotation": s.AnnotationSerializer(_reread([result.annotation])[0]).data,
                "revision": result.task.annotation_revision,
            },
            status=status.HTTP_201_CREATED,
        )


class PredictionsView(TaskAPIView):
    required_permissions = {"get": "project.view"}

    @extend_schema(parameters=[s.PredictionQuerySerializer], responses=s.PaginatedPredictionsSerializer)
    def get(self, request, task_pk):
        """The task's AI candidates in our shape schema (decided shapes left out unless
        ``include_decided``), newest prediction first."""
        query = _valid(s.PredictionQuerySerializer, request.query_params)
        paginator = OffsetPagination()
        page = paginator.paginate_queryset(selectors.task_predictions(self.task), request, view=self)
        classes = selectors.class_names_with_aliases(self.task)
        data = [
            {
                "id": prediction.pk,
                "task_id": prediction.task_id,
                "model_version": prediction.model_version,
                "score": prediction.score,
                "job_id": prediction.job_id,
                "created_at": prediction.created_at,
                "shapes": selectors.candidate_shapes(prediction, classes, include_decided=query["include_decided"]),
            }
            for prediction in page
        ]
        return paginator.get_paginated_response(s.PredictionSerializer(data, many=True).data)


class RejectPredictionView(TaskAPIView):
    required_permissions = {"post": "ai.assist"}

    @extend_schema(request=s.PredictionShapeSerializer, responses={200: s.RejectedSerializer, **WRITE_ERRORS})
    def post(self, request, task_pk):
        """Reject one candidate shape: it no longer appears among the task's candidates."""
        data = _valid(s.PredictionShapeSerializer, request.data)
        decision = services.reject_prediction_shape(
            self.task, data["prediction_id"], data["shape_index"], actor=request.user
        )
        return Response(
            {
                "prediction_id": decision.prediction_id,
                "shape_index": decision.shape_index,
                "decision": decision.decision,
            }
        )


class HistoryView(TaskAPIView):
    required_permissions = {"get": "project.view"}

    @extend_schema(parameters=[s.HistoryQuerySerializer], responses=s.PaginatedRevisionsSerializer)
    def get(self, request, task_pk):
        """Every revision of the task's annotations, newest first: who, when, which action,
        which annotation ids were added, removed or changed (``include_snapshot`` adds the
        whole set of each revision)."""
        query = _valid(s.HistoryQuerySerializer, request.query_params)
        paginator = OffsetPagination()
        page = paginator.paginate_queryset(selectors.task_history(self.task), request, view=self)
        if not query["include_snapshot"]:
            return paginator.get_paginated_response(s.RevisionSerializer(page, many=True).data)
        # The page's snapshots in one walk from a checkpoint, not one rebuild per revision.
        snapshots = revision_states(self.task, [revision.number for revision in page])
        data = s.RevisionWithSnapshotSerializer(page, many=True, context={"snapshots": snapshots}).data
        return paginator.get_paginated_response(data)


class RestoreRevisionView(TaskAPIView):
    required_permissions = {"post": "task.complete"}

    @extend_schema(request=s.RestoreSerializer, responses={200: s.AnnotationSetSerializer, **WRITE_ERRORS})
    def post(self, request, task_pk):
        """Make an old revision's annotations current again (a new revision; managers)."""
        data = _valid(s.RestoreSerializer, request.data)
        result = services.restore_revision(self.task, data["number"], actor=request.user, revision=data.get("revision"))
        return Response(self.annotation_set(result.task))
