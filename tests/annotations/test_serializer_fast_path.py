"""``AnnotationSerializer`` builds its output directly (for speed): it must be exactly what
DRF's field-by-field walk over the declared fields gives, for every kind of annotation."""

from __future__ import annotations

import json

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from annotations.api.serializers import AnnotationSerializer
from annotations.models import Annotation
from jobs.models import Job
from tests.annotations.conftest import box, keyframe, track, video_bbox

SQUARE = [[10, 10], [110, 10], [110, 110], [10, 110]]

pytestmark = pytest.mark.django_db


def drf_walk(annotation: Annotation) -> dict:
    """The representation DRF itself makes from the serializer's declared fields."""
    return serializers.Serializer.to_representation(AnnotationSerializer(), annotation)


def test_the_fast_path_gives_what_drf_gives_for_every_kind(desk, video_desk):
    shapes = [
        box(),
        {"type": "rotated_bbox", "class_name": "car", "geometry": {"cx": 100, "cy": 100, "width": 40, "height": 20}},
        {"type": "polygon", "class_name": "dog", "geometry": {"points": SQUARE}, "attributes": {"age": 4.5}},
        {"type": "mask", "class_name": "car", "geometry": {"polygons": [{"exterior": SQUARE}]}},
        {"type": "points", "class_name": "person", "geometry": {"points": [[5, 6], [7.25, 8.5]]}},
        {"type": "polyline", "class_name": "car", "geometry": {"points": [[1, 1], [50, 60], [90, 10]]}},
        {"type": "choices", "class_name": "dog", "attributes": {"color": "brown"}},
    ]
    response = desk.draft(shapes)
    assert response.status_code == 200, response.json()
    rows = list(Annotation.objects.filter(task=desk.task).select_related("label", "author"))
    job = Job.objects.create(organization=desk.world.org, project=desk.project, kind="sam.propagation")
    # The fields the API's manual shapes leave empty: no label, no author, a score, a job.
    Annotation.objects.filter(pk=rows[0].pk).update(label=None, author=None, score=0.875, model_version="m-3")
    Annotation.objects.filter(pk=rows[1].pk).update(produced_by=job, source="propagated", object_id="obj-7")
    Annotation.objects.filter(pk=rows[2].pk).update(score=1)  # an integer in a float column
    video = video_desk.draft([video_bbox(3), track(keyframe(0), keyframe(9, x=0.5), track_id="t-1")])
    assert video.status_code == 200, video.json()

    annotations = list(Annotation.objects.select_related("label", "author").order_by("id"))
    assert len(annotations) == len(shapes) + 2
    for annotation in annotations:
        fast, walked = AnnotationSerializer(annotation).data, drf_walk(annotation)
        assert fast == walked, annotation.type
        assert list(fast) == list(walked)  # the same keys in the same order
        assert JSONRenderer().render(fast) == JSONRenderer().render(walked)  # and the same JSON
    many = AnnotationSerializer(annotations, many=True).data
    assert json.loads(JSONRenderer().render(many)) == [
        json.loads(JSONRenderer().render(drf_walk(a))) for a in annotations
    ]
