"""Cytomine's annotation JSON (read, with its ``show*`` groups) and bodies (write).

``location`` is WKT with the origin at the image's bottom-left (``compat.wkt``); ``term`` is
a list of label ids. Cytomine clients send back every field they fetched, so write bodies
ignore unknown and read-only fields (elsewhere our API refuses unknown fields).
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

from compat import wkt
from compat.api.serializers import CLASS_ANNOTATION, WithClassField, millis


class ShowFlags:
    """Which groups of an annotation's fields a listing asks for (Cytomine's ``show*`` params)."""

    def __init__(self, *, basic=True, meta=True, wkt=True, term=True, gis=True, user=True, image=True):
        self.basic, self.meta, self.wkt, self.term = basic, meta, wkt, term
        self.gis, self.user, self.image = gis, user, image


ALL_FIELDS = ShowFlags()


class CytomineAnnotationSerializer(WithClassField):
    id = serializers.IntegerField()
    # showMeta
    image = serializers.IntegerField(required=False)
    project = serializers.IntegerField(required=False)
    user = serializers.IntegerField(required=False, allow_null=True)
    slice = serializers.IntegerField(required=False, allow_null=True)
    container = serializers.IntegerField(required=False)
    created = serializers.CharField(required=False, allow_null=True)
    updated = serializers.CharField(required=False, allow_null=True)
    deleted = serializers.CharField(required=False, allow_null=True)
    geometryCompression = serializers.FloatField(required=False)
    area = serializers.FloatField(required=False)
    areaUnit = serializers.CharField(required=False)
    perimeter = serializers.FloatField(required=False)
    perimeterUnit = serializers.CharField(required=False)
    nbComments = serializers.IntegerField(required=False)
    cropURL = serializers.CharField(
        required=False, allow_null=True, help_text="A window of the image around the shape."
    )
    smallCropURL = serializers.CharField(required=False, allow_null=True)
    url = serializers.CharField(required=False, allow_null=True)
    imageURL = serializers.CharField(required=False)
    reviewed = serializers.BooleanField(required=False)
    countReviewedAnnotations = serializers.IntegerField(required=False)
    type = serializers.CharField(required=False, help_text="Our annotation type.")
    source = serializers.CharField(required=False, help_text="Our annotation source.")
    # showWKT
    location = serializers.CharField(
        required=False, allow_null=True, help_text="WKT, origin at the image's bottom-left, y up (y = height - y_ours)."
    )
    # showTerm
    term = serializers.ListField(child=serializers.IntegerField(), required=False)
    userByTerm = serializers.ListField(child=serializers.DictField(), required=False)
    # showGIS
    centroid = serializers.DictField(required=False, allow_null=True)
    # showUser
    creator = serializers.CharField(required=False, allow_null=True)
    # showImage
    originalfilename = serializers.CharField(required=False, allow_null=True)
    instanceFilename = serializers.CharField(required=False, allow_null=True)

    def to_representation(self, annotation) -> dict[str, Any]:
        show: ShowFlags = self.context.get("show", ALL_FIELDS)
        request = self.context["request"]
        height = annotation.frame_height
        ours = wkt.stored_shape(annotation)
        theirs = wkt.to_cytomine(ours, height) if ours is not None and height is not None else None
        data: dict[str, Any] = {"class": CLASS_ANNOTATION, "id": annotation.pk}
        if show.meta:
            crop = self._crop_url(request, annotation, ours)
            data.update(
                {
                    "image": annotation.task_id,
                    "project": annotation.project_id,
                    "user": annotation.author_id,
                    "slice": None,
                    "container": annotation.task_id,
                    "created": millis(annotation.created_at),
                    "updated": millis(annotation.updated_at),
                    "deleted": None,
                    "geometryCompression": 0.0,
                    "area": float(ours.area) if ours is not None else 0.0,
                    "areaUnit": "pixels²",
                    "perimeter": float(ours.length) if ours is not None else 0.0,
                    "perimeterUnit": "pixels",
                    "nbComments": getattr(annotation, "comment_count", 0),
                    "cropURL": crop,
                    "smallCropURL": f"{crop}?maxSize=256" if crop else None,
                    "url": crop,
                    "imageURL": request.build_absolute_uri(f"/api/imageinstance/{annotation.task_id}.json"),
                    "reviewed": annotation.task.status in ("reviewed", "completed"),
                    "countReviewedAnnotations": 0,
                    "type": annotation.type,
                    "source": annotation.source,
                }
            )
        if show.wkt:
            data["location"] = wkt.wkt_of(theirs) if theirs is not None else None
        if show.term:
            terms = [annotation.label_id] if annotation.label_id else []
            data["term"] = terms
            data["userByTerm"] = [{"id": t, "term": t, "user": [annotation.author_id]} for t in terms]
        if show.gis:
            centre = theirs.centroid if theirs is not None else None
            data["centroid"] = {"x": centre.x, "y": centre.y} if centre is not None and not centre.is_empty else None
            data.setdefault("area", float(ours.area) if ours is not None else 0.0)
            data.setdefault("perimeter", float(ours.length) if ours is not None else 0.0)
        if show.user:
            data["creator"] = annotation.author.username if annotation.author_id else None
        if show.image:
            data["originalfilename"] = getattr(annotation, "image_name", None) or annotation.task.name
            data["instanceFilename"] = annotation.task.name
        return data

    @staticmethod
    def _crop_url(request, annotation, ours) -> str | None:
        if ours is None or annotation.frame_width is None:
            return None
        x0, y0, x1, y1 = ours.bounds
        x, y = max(math.floor(x0), 0), max(math.floor(y0), 0)
        w, h = max(math.ceil(x1) - x, 1), max(math.ceil(y1) - y, 1)
        return request.build_absolute_uri(f"/api/imageinstance/{annotation.task_id}/window-{x}-{y}-{w}-{h}.png")


class CytomineAnnotationCommandSerializer(serializers.Serializer):
    """What Cytomine answers to a write: the annotation and a message."""

    annotation = CytomineAnnotationSerializer()
    message = serializers.CharField()
    printMessage = serializers.BooleanField()
    callback = serializers.DictField()
    status = serializers.IntegerField()


class CytomineAnnotationWriteSerializer(serializers.Serializer):
    """A Cytomine annotation body. Cytomine clients send back every field they fetched, so
    unknown and read-only fields are ignored here (not refused as elsewhere in our API)."""

    location = serializers.CharField(required=False, allow_blank=True, max_length=wkt.MAX_WKT_CHARS)
    image = serializers.IntegerField(required=False, min_value=1)
    project = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    term = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_null=True)
    terms = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_null=True)
