"""Use cases that write annotations (the only way anything changes a task's annotation set).

For other apps: :func:`write_annotations` (importers, SAM propagation, auto-annotation),
:func:`clear_chain` (undo one propagation job), :func:`create_prediction` (model output as
candidates). docs/annotations.md describes them.
"""

from annotations.services.predictions import accept_prediction_shape, create_prediction, reject_prediction_shape
from annotations.services.saving import (
    clear_chain,
    delete_annotations,
    restore_revision,
    save_annotations,
    write_annotations,
)
from annotations.services.video import compose_tracks, convert_to_bboxes

__all__ = [
    "accept_prediction_shape",
    "clear_chain",
    "compose_tracks",
    "convert_to_bboxes",
    "create_prediction",
    "delete_annotations",
    "reject_prediction_shape",
    "restore_revision",
    "save_annotations",
    "write_annotations",
]
