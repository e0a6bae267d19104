"""Validation and normalisation of the shapes the API, importers, propagation and model
output send: one entry point, :func:`validate_shapes`.

A shape is ``{"type", "class_name", "geometry", "attributes", "frame_index", "id",
"object_id"}`` (see docs/annotations.md for every type's geometry). ``type`` may also be
spelled ``annotation_type`` (the contract's video payloads) and may use the seed's or Label
Studio's vocabulary (:data:`TYPE_ALIASES`). Keys the API *returns* (``source``, ``author``,
``label_id``, timestamps, ...) are accepted and ignored, so a client can send back what it
read.

Checks, in the user's words: the project kind accepts the type; the class is one of the
project's labels; attributes follow that label's schema; the frame exists; the geometry is
sound (``annotations.shape_geometry`` for pixel shapes, ``annotations.tracks`` for video);
relations point at annotations that exist. A bad shape never stops the others from being
checked: every problem comes back at once, keyed ``shapes.<index>.<field>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Max

from annotations import shape_geometry as sg
from annotations import tracks
from annotations.shape_geometry import Problems, is_int, is_number
from projects.kinds import AnnotationType
from projects.labels import check_attribute_values

T = AnnotationType

# Other vocabularies → our type names (lower-case keys). Our own names map to themselves.
TYPE_ALIASES: dict[str, str] = {
    **{t.value: t.value for t in AnnotationType},
    # the task-platform seed and Label Studio control tags
    "rectanglelabels": T.BBOX,
    "rectangle": T.BBOX,
    "rect": T.BBOX,
    "box": T.BBOX,
    "rotatedrectangle": T.ROTATED_BBOX,
    "rotated_rectangle": T.ROTATED_BBOX,
    "rotated_box": T.ROTATED_BBOX,
    "polygonlabels": T.POLYGON,
    "line": T.POLYLINE,
    "linestrip": T.POLYLINE,
    "point": T.POINTS,
    "keypointlabels": T.POINTS,
    "pose": T.KEYPOINTS,
    "skeleton": T.KEYPOINTS,
    "brushlabels": T.MASK,
    "segmentation": T.MASK,
    "choices": T.CLASSIFICATION,
    "tag": T.CLASSIFICATION,
    "labels": T.TEXT_SPAN,
    "ner": T.TEXT_SPAN,
    "span": T.TEXT_SPAN,
    "videorectangle": T.VIDEO_TRACK,
}
PIXEL_TYPES = frozenset({T.BBOX, T.ROTATED_BBOX, T.POLYGON, T.POLYLINE, T.POINTS, T.KEYPOINTS, T.MASK})
NO_FRAME_TYPES = frozenset({T.TEXT_SPAN, T.RELATION, T.VIDEO_TRACK})
SHAPE_KEYS = {"id", "type", "annotation_type", "class_name", "frame_index", "geometry", "attributes", "object_id"}
# What the API returns about an annotation: sent back, it is ignored.
READ_ONLY_KEYS = {
    "task_id",
    "label_id",
    "source",
    "author",
    "produced_by_job_id",
    "prediction_id",
    "prediction_shape_index",
    "score",
    "model_version",
    "created_at",
    "updated_at",
    "shape_index",
    "project_class_name",
}
NAME_MAX = 100
OBJECT_ID_MAX = 64
RELATION_DIRECTIONS = ("right", "left", "bi")


class ShapesInvalid(ValidationError):
    """Some shapes were refused; ``errors`` is ``{"shapes.3.geometry": [...], ...}``."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__({key: list(messages) for key, messages in errors.items()})
        self.errors = errors


@dataclass
class Existing:
    """What validation needs to know about an annotation already on the task."""

    id: int
    type: str
    object_id: str


@dataclass
class CleanShape:
    index: int
    type: str
    geometry: dict
    attributes: dict
    frame_index: int | None
    class_name: str = ""
    label: Any = None  # projects.LabelClass, or None (relations, unmapped model output)
    id: int | None = None
    object_id: str | None = None
    score: float | None = None
    # A new shape the annotator saves may say it is AI output they accepted (a SAM mask).
    source: str | None = None
    model_version: str = ""
    # relation ends: ("id", annotation id) or ("index", shape index in the same request)
    relation: dict[str, tuple[str, int]] = field(default_factory=dict)


class ShapeContext:
    """Everything a shape is checked against, loaded once per request: the project's kind and
    labels, the task's frames (sizes, count) and text, and its current annotations."""

    def __init__(
        self,
        task,
        *,
        map_aliases: bool = False,
        check_labels: bool = True,
        existing: Iterable[Existing] | None = None,
    ):
        self.task = task
        self.project = task.project
        self.kind = self.project.kind_info
        self.map_aliases = map_aliases
        self.check_labels = check_labels  # False for model output: classes are mapped at accept
        self._existing = existing

    @cached_property
    def labels(self) -> dict[str, Any]:
        return {label.name.lower(): label for label in self.project.labels.all()}

    @cached_property
    def aliases(self) -> dict[str, Any]:
        return {alias.lower(): label for label in self.labels.values() for alias in label.aliases or []}

    @cached_property
    def existing(self) -> dict[int, Existing]:
        if self._existing is not None:
            return {item.id: item for item in self._existing}
        rows = self.task.annotations.values_list("id", "type", "object_id")
        return {pk: Existing(pk, kind, object_id) for pk, kind, object_id in rows}

    @cached_property
    def frame_sizes(self) -> dict[int, tuple[int, int]]:
        from media.models import Frame

        rows = Frame.objects.filter(task_id=self.task.pk).values_list("index", "width", "height")
        return {index: (width, height) for index, width, height in rows}

    @cached_property
    def frame_count(self) -> int | None:
        """Frames of the task (None when it has none yet: no frame bound is checked)."""
        if "frame_sizes" in self.__dict__:
            return max(self.frame_sizes) + 1 if self.frame_sizes else None
        from media.models import Frame

        last = Frame.objects.filter(task_id=self.task.pk).aggregate(last=Max("index"))["last"]
        return None if last is None else last + 1

    def label_for(self, name: str):
        """The label called ``name`` (case-insensitive), or with that alias when mapping aliases."""
        key = name.strip().lower()
        label = self.labels.get(key)
        if label is None and self.map_aliases:
            label = self.aliases.get(key)
        return label

    def class_list(self) -> str:
        names = sorted(label.name for label in self.labels.values())
        shown = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        return shown or "none (add labels to the project first)"


def canonical_type(value: Any) -> str | None:
    return TYPE_ALIASES.get(value.strip().lower()) if isinstance(value, str) else None


def validate_shapes(raw_shapes: Any, ctx: ShapeContext, *, replace: bool) -> list[CleanShape]:
    """Check and normalise every shape; raise :class:`ShapesInvalid` with all problems.

    ``replace``: the shapes are the task's whole new set (annotations not listed will be
    deleted), so relations may only point at shapes of this request; otherwise they are
    added to the current set and may also point at existing annotations.
    """
    if not isinstance(raw_shapes, list):
        raise ShapesInvalid({"shapes": ["shapes must be a list of shape objects."]})
    errors: dict[str, list[str]] = {}
    clean: list[CleanShape | None] = []
    for index, raw in enumerate(raw_shapes):
        p = Problems()
        shape = _validate_one(index, raw, ctx, p)
        for path, messages in p.errors.items():
            errors.setdefault(f"shapes.{index}.{path}", []).extend(messages)
        clean.append(None if p else shape)
    _check_across(clean, ctx, replace, errors)
    if errors:
        raise ShapesInvalid(errors)
    return [shape for shape in clean if shape is not None]


def _validate_one(index: int, raw: Any, ctx: ShapeContext, p: Problems) -> CleanShape | None:
    if not isinstance(raw, dict):
        p.add("non_field_errors", 'each shape must be an object {"type", "class_name", "geometry", ...}.')
        return None
    unknown = sorted(str(k) for k in raw if k not in SHAPE_KEYS | READ_ONLY_KEYS)
    for key in unknown:
        p.add(key, f"unknown key (allowed: {', '.join(sorted(SHAPE_KEYS))}).")
    kind = _shape_type(raw, p)
    if kind is None:
        return None
    if ctx.check_labels and kind not in ctx.kind.annotation_types:
        allowed = ", ".join(sorted(ctx.kind.annotation_types))
        p.add("type", f"a {ctx.kind.title} project does not take {kind} shapes (it takes: {allowed}).")
        return None
    shape_id = raw.get("id")
    if shape_id is not None and (not is_int(shape_id) or shape_id < 1):
        p.add("id", f"id must be the id of an existing annotation, got {shape_id!r}.")
    object_id = raw.get("object_id")  # None: not sent (an update keeps the annotation's)
    if object_id is not None and (not isinstance(object_id, str) or len(object_id) > OBJECT_ID_MAX):
        p.add("object_id", f"object_id must be a string of at most {OBJECT_ID_MAX} characters.")
    label, class_name = _label(kind, raw, ctx, p)
    attributes = _attributes(raw.get("attributes"), label, ctx, p)
    frame_index = _frame_index(kind, raw, ctx, p)
    geometry = raw.get("geometry", {} if kind == T.CLASSIFICATION else None)
    if not isinstance(geometry, dict):
        p.add("geometry", f"geometry must be an object (see the {kind} schema), got {geometry!r}.")
        return None
    if "type" in geometry and canonical_type(geometry["type"]) != kind:
        p.add("geometry.type", f"geometry.type {geometry['type']!r} disagrees with the shape type {kind!r}.")
        return None
    if p:
        return None
    shape = CleanShape(
        index=index,
        type=kind,
        geometry={},
        attributes=attributes or {},
        frame_index=frame_index,
        class_name=class_name,
        label=label,
        id=shape_id,
        object_id=object_id,
        score=raw.get("score") if is_number(raw.get("score")) else None,
    )
    if shape_id is None:
        _claimed_source(shape, raw, p)
        if p:
            return None
    normalized = _geometry(shape, geometry, label, ctx, p, raw)
    if normalized is None:
        if not p:  # pragma: no cover - every refusal says why
            p.add("geometry", "invalid geometry.")
        return None
    shape.geometry = normalized
    if kind == T.VIDEO_TRACK:
        shape.object_id = normalized["track_id"]
    if kind == T.VIDEO_BBOX:
        shape.frame_index = normalized["frame_index"]
    return shape


SAVABLE_SOURCES = ("manual", "ai-accepted")


def _claimed_source(shape: CleanShape, raw: dict, p: Problems) -> None:
    """A new shape may be ``ai-accepted`` (AI output the annotator kept, e.g. a SAM mask, with
    its ``model_version``); other sources are set by the server (imports, propagation)."""
    source = raw.get("source")
    if source is None or source == "manual":
        return
    if source not in SAVABLE_SOURCES:
        p.add("source", f"a shape you save is 'manual' or 'ai-accepted' (AI output you kept), not {source!r}.")
        return
    version = raw.get("model_version", "")
    if not isinstance(version, str) or len(version) > 200:
        p.add("model_version", "model_version must be a string of at most 200 characters.")
        return
    shape.source = source
    shape.model_version = version


def _shape_type(raw: dict, p: Problems) -> str | None:
    given = raw.get("type", raw.get("annotation_type"))
    if (
        "type" in raw
        and "annotation_type" in raw
        and canonical_type(raw["type"]) != canonical_type(raw["annotation_type"])
    ):
        p.add("type", f"type {raw['type']!r} and annotation_type {raw['annotation_type']!r} disagree.")
        return None
    if given is None:
        p.add("type", "type is required (e.g. bbox, polygon, video_track; see docs/annotations.md).")
        return None
    kind = canonical_type(given)
    if kind is None:
        p.add("type", f"unknown shape type {given!r} (ours: {', '.join(t.value for t in AnnotationType)}).")
    return kind


def _label(kind: str, raw: dict, ctx: ShapeContext, p: Problems):
    name = raw.get("class_name")
    if name in (None, "") and kind == T.RELATION:
        return None, ""
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        p.add("class_name", f"class_name is required (a label name, at most {NAME_MAX} characters).")
        return None, ""
    label = ctx.label_for(name)
    if label is None and ctx.check_labels:
        p.add("class_name", f"unknown class {name!r}; this project's classes are: {ctx.class_list()}.")
    # Model output keeps the model's own name: it is mapped to ours when accepted.
    return label, (label.name if label is not None and ctx.check_labels else name.strip())


def _attributes(value: Any, label, ctx: ShapeContext, p: Problems) -> dict | None:
    if value is None:
        return {}
    if not ctx.check_labels:
        if not isinstance(value, dict):
            p.add("attributes", 'attributes must be an object {"name": value}.')
        return value if isinstance(value, dict) else None
    if label is None and p.errors.get("class_name"):
        return None  # the class is already refused: its schema is unknown
    for name, messages in check_attribute_values(label.attributes if label else [], value).items():
        path = "attributes" if name == "attributes" else f"attributes.{name}"
        for message in messages:
            p.add(path, message)
    return value if isinstance(value, dict) else None


def _frame_index(kind: str, raw: dict, ctx: ShapeContext, p: Problems) -> int | None:
    value = raw.get("frame_index")
    if kind in NO_FRAME_TYPES:
        if value is not None:
            p.add("frame_index", f"a {kind} belongs to no single frame; leave frame_index out.")
        return None
    if kind == T.VIDEO_BBOX:
        return value  # checked with its geometry (geometry.frame_index is the contract's place)
    if value is None:
        return None if kind == T.CLASSIFICATION else 0  # a classification without frame: the whole task
    if not is_int(value) or value < 0:
        p.add("frame_index", f"frame_index must be an integer >= 0, got {value!r}.")
        return None
    if ctx.frame_count is not None:
        sizes = ctx.frame_sizes
        if value not in sizes:
            p.add("frame_index", f"frame {value} does not exist; this task has frames 0-{ctx.frame_count - 1}.")
            return None
    elif not ctx.kind.framed and value != 0:
        p.add("frame_index", f"a {ctx.kind.title} task has one picture: frame_index must be 0, got {value}.")
        return None
    return value


def _geometry(shape: CleanShape, g: dict, label, ctx: ShapeContext, p: Problems, raw: dict) -> dict | None:
    kind = shape.type
    if kind in PIXEL_TYPES:
        size = ctx.frame_sizes.get(shape.frame_index) if ctx.frame_count is not None else None
        if kind == T.BBOX:
            return sg.clean_bbox(g, size, p)
        if kind == T.ROTATED_BBOX:
            return sg.clean_rotated_bbox(g, size, p)
        if kind == T.POLYGON:
            return sg.clean_polygons(g, size, p)
        if kind == T.POLYLINE:
            return sg.clean_polyline(g, size, p)
        if kind == T.POINTS:
            return sg.clean_points(g, size, p)
        if kind == T.MASK:
            return sg.clean_mask(g, size, p)
        if label is None:  # keypoints of model output whose class is not mapped yet
            p.add("class_name", f"unknown class {shape.class_name!r}: keypoints need the label's keypoint schema.")
            return None
        return sg.clean_keypoints(g, size, p, label.keypoints, label.name)
    if kind == T.CLASSIFICATION:
        if g and set(g) != {"type"}:
            p.add("geometry", "a classification has no geometry (send {} or leave it out).")
            return None
        return {}
    if kind == T.TEXT_SPAN:
        return _text_span(g, ctx, p)
    if kind == T.RELATION:
        return _relation(shape, g, p)
    if kind == T.VIDEO_BBOX:
        return tracks.clean_video_bbox(g, raw.get("frame_index"), ctx.frame_count, p)
    return tracks.clean_video_track(g, ctx.frame_count, p)


def _text_span(g: dict, ctx: ShapeContext, p: Problems) -> dict | None:
    """``{"start", "end"}`` character offsets into the task's text (end exclusive), + ``text``."""
    if not sg.check_keys(g, {"type", "start", "end", "text"}, "geometry", p):
        return None
    text = ctx.task.text or ""
    if not text:
        p.add("geometry", "this task has no text to mark a span in.")
        return None
    start, end = g.get("start"), g.get("end")
    if not is_int(start) or not is_int(end):
        p.add("geometry", f"start and end must be integer character offsets, got {start!r} and {end!r}.")
        return None
    if not 0 <= start < end <= len(text):
        p.add("geometry", f"the span {start}-{end} must satisfy 0 <= start < end <= {len(text)} (the text's length).")
        return None
    if "text" in g and g["text"] != text[start:end]:
        message = f"text {g['text']!r} is not what the task's text holds at {start}-{end}: {text[start:end]!r}."
        p.add("geometry.text", message)
        return None
    return {"start": start, "end": end, "text": text[start:end]}


def _relation(shape: CleanShape, g: dict, p: Problems) -> dict | None:
    """``{"from": ref, "to": ref, "direction"}``: a ref is ``{"id": annotation id}`` (or a bare
    id) or ``{"index": shape index in this request}``; direction right (from → to), left, bi."""
    if not sg.check_keys(g, {"type", "from", "to", "direction"}, "geometry", p):
        return None
    direction = g.get("direction", "right")
    if direction not in RELATION_DIRECTIONS:
        p.add("geometry.direction", f"direction must be one of {', '.join(RELATION_DIRECTIONS)}, got {direction!r}.")
    for end in ("from", "to"):
        ref = g.get(end)
        if is_int(ref):
            ref = {"id": ref}
        item = next(iter(ref.items())) if isinstance(ref, dict) and len(ref) == 1 else None
        if item is not None and item[0] in ("id", "index") and is_int(item[1]):
            shape.relation[end] = item
        else:
            p.add(f"geometry.{end}", f'{end} must be {{"id": annotation id}} or {{"index": shape index}}, got {ref!r}.')
    if p:
        return None
    return {"from": None, "to": None, "direction": direction}  # ends are resolved to ids when saved


def _check_across(clean: list[CleanShape | None], ctx: ShapeContext, replace: bool, errors: dict) -> None:
    """Checks between shapes: ids once each and of this task, relation ends, unique track ids."""

    def add(index: int, path: str, message: str) -> None:
        errors.setdefault(f"shapes.{index}.{path}", []).append(message)

    ids: dict[int, int] = {}
    for shape in clean:
        if shape is None or shape.id is None:
            continue
        if shape.id not in ctx.existing:
            add(shape.index, "id", f"no annotation {shape.id} on this task (leave id out to create a new one).")
        elif shape.id in ids:
            add(shape.index, "id", f"annotation {shape.id} is also shape {ids[shape.id]}; send each annotation once.")
        else:
            ids[shape.id] = shape.index
    by_index = {shape.index: shape for shape in clean if shape is not None}
    for shape in by_index.values():
        for end, (how, value) in shape.relation.items():
            if how == "index":
                target = by_index.get(value)
                if value == shape.index:
                    add(shape.index, f"geometry.{end}", "a relation cannot point at itself.")
                elif not 0 <= value < len(clean):
                    add(shape.index, f"geometry.{end}", f"there is no shape {value} in this request.")
                elif target is not None and target.type == T.RELATION:
                    add(shape.index, f"geometry.{end}", f"shape {value} is a relation; relations link shapes.")
            else:
                sent = value in ids
                exists = value in ctx.existing and (not replace or sent)
                if not exists:
                    why = " (annotations not sent are deleted)" if replace and value in ctx.existing else ""
                    add(shape.index, f"geometry.{end}", f"annotation {value} is not in this task's set{why}.")
                elif (by_index[ids[value]].type if sent else ctx.existing[value].type) == T.RELATION:
                    add(shape.index, f"geometry.{end}", f"annotation {value} is a relation; relations link shapes.")
        if shape.relation and shape.relation.get("from") == shape.relation.get("to"):
            add(shape.index, "geometry", "a relation needs two different ends.")
    tracks_seen: dict[str, str] = {}
    if not replace:
        for item in ctx.existing.values():
            if item.type == T.VIDEO_TRACK and item.id not in ids:
                tracks_seen[item.object_id] = f"annotation {item.id}"
    for shape in by_index.values():
        if shape.type != T.VIDEO_TRACK:
            continue
        track_id = shape.geometry["track_id"]
        if track_id in tracks_seen:
            add(shape.index, "geometry.track_id", f"track_id {track_id!r} is already used by {tracks_seen[track_id]}.")
        tracks_seen[track_id] = f"shape {shape.index}"
