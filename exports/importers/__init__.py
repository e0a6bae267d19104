"""Import formats, registered by name: one module per format, one line per format here."""

from __future__ import annotations

from django.utils.module_loading import import_string

IMPORTERS: dict[str, str] = {
    "coco": "exports.importers.coco.CocoImporter",
    "yolo": "exports.importers.yolo.YoloImporter",
    "voc": "exports.importers.voc.VocImporter",
    "labelme": "exports.importers.labelme.LabelmeImporter",
    "gt_masks": "exports.importers.gt_masks.GtMaskImporter",
}


def get_importer(name: str):
    """The importer class registered as ``name`` (KeyError if there is none)."""
    return import_string(IMPORTERS[name])
