"""Rendering a task's annotations for the API: our serializer vs DRF's own field walk.

Every ``GET /tasks/{id}/annotations``, draft save and submit answers with the task's whole
annotation set, so rendering it is paid on the hottest endpoints, once per shape.
``AnnotationSerializer`` builds each annotation's dict directly; the reference is what DRF
does for the same declared fields (``Serializer.to_representation``: one field object per
key, ``get_attribute`` and ``to_representation`` each), which it used before. Both end in the
same JSON renderer (tests/annotations/test_serializer_fast_path.py proves the bytes equal).

The data: N annotations in memory (no database: the ORM's part is the same either way), a
mix of boxes, polygons of 12 vertices, masks, points and classifications, with labels and
authors, as ``select_related`` leaves them.

Usage::

    .venv/bin/python bench/annotations.py                  # 100, 1,000 and 10,000 shapes
    .venv/bin/python bench/annotations.py --sizes 1000 --repeat 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")


def annotations(count: int) -> list:
    from accounts.models import User
    from annotations.models import Annotation
    from projects.models import LabelClass

    labels = [LabelClass(pk=i + 1, name=name) for i, name in enumerate(["car", "person", "dog", "tree"])]
    authors = [User(pk=i + 1, username=f"annotator-{i}") for i in range(3)]
    start = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    square = [[10.5, 10.0], [110.0, 10.25], [110.0, 110.0], [10.0, 110.5]]
    kinds = [
        ("bbox", {"x": 10.0, "y": 20.0, "width": 30.0, "height": 40.0}),
        ("polygon", {"polygons": [{"exterior": square * 3, "holes": []}]}),
        ("mask", {"rle": {"size": [480, 640], "counts": "PPYo05000O1000000000O100000000O0100O1ioe3"}}),
        ("points", {"points": [[5.0, 6.0], [7.25, 8.5]]}),
        ("classification", {}),
    ]
    out = []
    for number in range(count):
        kind, geometry = kinds[number % len(kinds)]
        label, author = labels[number % len(labels)], authors[number % len(authors)]
        row = Annotation(
            pk=number + 1,
            task_id=7,
            project_id=3,
            organization_id=1,
            type=kind,
            label_id=label.pk,
            frame_index=None if kind == "classification" else number % 50,
            geometry=geometry,
            attributes={"occluded": bool(number % 2)},
            source="manual" if number % 3 else "ai-accepted",
            author_id=author.pk,
            object_id="",
            score=None if number % 3 else 0.75,
            model_version="" if number % 3 else "sam2.1-tiny",
            created_at=start + timedelta(seconds=number),
            updated_at=start + timedelta(seconds=number, microseconds=number),
        )
        row.label, row.author = label, author  # as select_related("label", "author") leaves them
        out.append(row)
    return out


def median_ms(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    import django

    django.setup()
    from rest_framework import serializers
    from rest_framework.renderers import JSONRenderer

    from annotations.api.serializers import AnnotationSerializer

    renderer = JSONRenderer()

    def ours(rows):
        return renderer.render(AnnotationSerializer(rows, many=True).data)

    def drf(rows):
        serializer = AnnotationSerializer()
        return renderer.render([serializers.Serializer.to_representation(serializer, row) for row in rows])

    print(f"{'shapes':>8} {'ours ms':>9} {'DRF walk ms':>12} {'ours/DRF':>9} {'µs/shape ours':>14}")
    for size in args.sizes:
        rows = annotations(size)
        assert ours(rows) == drf(rows), "the two paths must render the same bytes"
        mine, theirs = (
            median_ms(lambda rows=rows: ours(rows), args.repeat),
            median_ms(lambda rows=rows: drf(rows), args.repeat),
        )
        print(f"{size:>8} {mine:>9.2f} {theirs:>12.2f} {mine / theirs:>9.3f} {mine * 1000 / size:>14.1f}")


if __name__ == "__main__":
    main()
