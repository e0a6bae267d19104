"""Project kinds: what a task holds and which annotation types it accepts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class AnnotationType(models.TextChoices):
    BBOX = "bbox", "Bounding box"
    ROTATED_BBOX = "rotated_bbox", "Rotated bounding box"
    POLYGON = "polygon", "Polygon (holes, multipolygon)"
    POLYLINE = "polyline", "Polyline"
    POINTS = "points", "Points"
    KEYPOINTS = "keypoints", "Keypoints / pose"
    MASK = "mask", "Mask (polygons or RLE)"
    CLASSIFICATION = "classification", "Classification"
    TEXT_SPAN = "text_span", "Text span (NER)"
    RELATION = "relation", "Relation"
    VIDEO_BBOX = "video_bbox", "Video box (one frame)"
    VIDEO_TRACK = "video_track", "Video track (keyframes)"


class MediaKind(models.TextChoices):
    IMAGE = "image", "One image"
    IMAGES = "images", "Several images"
    IMAGE_SEQUENCE = "image_sequence", "Sequence of images"
    VIDEO = "video", "Video"
    DICOM_SERIES = "dicom_series", "DICOM series"
    TEXT = "text", "Text"


@dataclass(frozen=True)
class ProjectKind:
    key: str
    title: str
    media: str
    annotation_types: frozenset[str]
    framed: bool  # tasks have frames (video, DICOM, sequences)


T = AnnotationType
_IMAGE_SHAPES = frozenset(
    {T.BBOX, T.ROTATED_BBOX, T.POLYGON, T.POLYLINE, T.POINTS, T.KEYPOINTS, T.MASK, T.CLASSIFICATION, T.RELATION}
)

KINDS: dict[str, ProjectKind] = {
    kind.key: kind
    for kind in [
        ProjectKind("image", "Image", MediaKind.IMAGE, _IMAGE_SHAPES, framed=False),
        ProjectKind(
            "multi_image_classification",
            "Multi-image classification",
            MediaKind.IMAGES,
            frozenset({T.CLASSIFICATION}),
            framed=False,
        ),
        ProjectKind(
            "sequential_image",
            "Sequential images",
            MediaKind.IMAGE_SEQUENCE,
            _IMAGE_SHAPES | {T.VIDEO_BBOX, T.VIDEO_TRACK},
            framed=True,
        ),
        ProjectKind(
            "video",
            "Video",
            MediaKind.VIDEO,
            frozenset({T.VIDEO_BBOX, T.VIDEO_TRACK, T.BBOX, T.POLYGON, T.MASK, T.POINTS, T.CLASSIFICATION, T.RELATION}),
            framed=True,
        ),
        ProjectKind(
            "dicom",
            "DICOM series",
            MediaKind.DICOM_SERIES,
            frozenset({T.MASK, T.POLYGON, T.BBOX, T.POINTS, T.POLYLINE, T.CLASSIFICATION}),
            framed=True,
        ),
        ProjectKind(
            "text",
            "Text (NER, classification)",
            MediaKind.TEXT,
            frozenset({T.TEXT_SPAN, T.CLASSIFICATION, T.RELATION}),
            framed=False,
        ),
    ]
}

KIND_CHOICES = [(kind.key, kind.title) for kind in KINDS.values()]
