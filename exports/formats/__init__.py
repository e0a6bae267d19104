"""Export formats, registered by name: one module per format, one line per format here.

Adding a format: write ``exports/formats/<name>.py`` with an ``Exporter`` subclass and add
its line below.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

FORMATS: dict[str, str] = {
    "coco": "exports.formats.coco.CocoInstances",
    "yolo": "exports.formats.yolo.YoloDetection",
    "yolo_seg": "exports.formats.yolo.YoloSegmentation",
    "voc": "exports.formats.voc.PascalVoc",
    "labelme": "exports.formats.labelme.Labelme",
    "geojson": "exports.formats.geojson.GeoJson",
    "mot": "exports.formats.mot.MotTracks",
    "segmentation_results": "exports.formats.segmentation_results.SegmentationResults",
    "images": "exports.formats.images.Images",
}


def get_exporter(name: str):
    """The exporter class registered as ``name`` (KeyError if there is none)."""
    return import_string(FORMATS[name])


def format_names() -> list[str]:
    return list(FORMATS)
