"""The schema adapter: raw model or imported output → our internal shapes (``to_internal_shape``).

Predictions are stored and served in our shape schema (docs/annotations.md), never in the
raw form they arrived in (that is kept beside them, in ``Prediction.raw``). Accepted input:

* **our own shapes** (``{"type", "class_name", "geometry", ...}``): passed through;
* **Label Studio results** (``{"type": "rectanglelabels", "value": {...}, "score",
  "original_width", "original_height", "id"}``), coordinates in **percent** (0-100) of the
  image, converted to pixels of the frame (``original_width``/``original_height`` of the
  item, else the task's frame size):

  ========================  ========================================================
  Label Studio ``type``      our shape
  ========================  ========================================================
  rectanglelabels           bbox; rotated_bbox when ``rotation`` is not 0 (rotation
                            about the top-left corner, converted to our centre form)
  polygonlabels             polygon
  keypointlabels            points (one point)
  labels (text)             text_span (``start``/``end`` offsets)
  choices                   classification (one shape per choice)
  relation                  relation (``from_id``/``to_id`` → shape indexes)
  videorectangle            video_track: ``sequence[].frame`` is 1-based → frame_index
                            0-based; x/y/width/height percent → normalized 0-1;
                            ``enabled: false`` → the box shows on that frame and the
                            object is absent from the next frame on
  brushlabels               refused: Label Studio's brush RLE is not COCO RLE
  ========================  ========================================================

The class is the first name in the value's label list (``rectanglelabels``, ``labels``,
...): the model's own name, mapped to a project class through ``LabelClass.aliases`` only
when a shape is accepted.
"""

from __future__ import annotations

from typing import Any

from annotations import geometry
from annotations.shape_geometry import is_number

LABEL_LISTS = (
    "rectanglelabels",
    "polygonlabels",
    "keypointlabels",
    "brushlabels",
    "labels",
    "choices",
    "videorectangle",
    "ellipselabels",
    "polylinelabels",
)


class AdapterError(ValueError):
    """Raw output that cannot become one of our shapes; the message says why."""


def _is_internal(item: dict) -> bool:
    return "geometry" in item and ("type" in item or "annotation_type" in item) and "value" not in item


def _class_name(item: dict, value: dict) -> str:
    for key in (item.get("type"), *LABEL_LISTS):
        names = value.get(key) if key else None
        if isinstance(names, list) and names and isinstance(names[0], str):
            return names[0]
    labels = item.get("labels")
    if isinstance(labels, list) and labels and isinstance(labels[0], str):
        return labels[0]
    raise AdapterError(f"no class name in the {item.get('type')!r} result (its value has no label list)")


def _size(item: dict, width: int | None, height: int | None) -> tuple[int, int]:
    w = item.get("original_width") or width
    h = item.get("original_height") or height
    if not (is_number(w) and is_number(h) and w > 0 and h > 0):
        raise AdapterError(
            "percent coordinates need the image size: give original_width/original_height, "
            "or give the task frames first"
        )
    return int(w), int(h)


def _numbers(value: dict, *names: str) -> list[float]:
    out = []
    for name in names:
        if not is_number(value.get(name)):
            raise AdapterError(f"value.{name} must be a number, got {value.get(name)!r}")
        out.append(float(value[name]))
    return out


def to_internal_shape(item: Any, *, width: int | None = None, height: int | None = None) -> list[dict]:
    """One raw result → our shape(s) (a ``choices`` result with several choices gives several).

    ``width``/``height``: the frame size to use when the item does not carry its own. Raises
    :class:`AdapterError`. Relations need the whole list: see :func:`to_internal_shapes`.
    """
    if not isinstance(item, dict):
        raise AdapterError(f"a result must be an object, got {type(item).__name__}")
    if _is_internal(item):
        return [dict(item)]
    kind = item.get("type")
    value = item.get("value")
    if not isinstance(value, dict):
        raise AdapterError(f"a {kind!r} result needs a value object")
    shape: dict[str, Any] = {"attributes": {}}
    if is_number(item.get("score")):
        shape["score"] = float(item["score"])
    if kind in ("rectanglelabels", "rectangle"):
        w, h = _size(item, width, height)
        x, y, bw, bh = _numbers(value, "x", "y", "width", "height")
        px = geometry.percent_to_pixels
        rotation = float(value.get("rotation") or 0)
        if rotation % 360:
            shape["type"] = "rotated_bbox"
            cx, cy, rw, rh, angle = geometry.corner_rotated_box_to_centre(
                px(x, w), px(y, h), px(bw, w), px(bh, h), rotation
            )
            shape["geometry"] = {"cx": cx, "cy": cy, "width": rw, "height": rh, "angle": angle}
        else:
            shape["type"] = "bbox"
            shape["geometry"] = {"x": px(x, w), "y": px(y, h), "width": px(bw, w), "height": px(bh, h)}
    elif kind in ("polygonlabels", "polygon"):
        w, h = _size(item, width, height)
        points = value.get("points")
        if not isinstance(points, list) or not all(
            isinstance(pt, list) and len(pt) == 2 and all(is_number(v) for v in pt) for pt in points
        ):
            raise AdapterError("value.points must be a list of [x%, y%] pairs")
        shape["type"] = "polygon"
        shape["geometry"] = {"points": geometry.percent_points_to_pixels(points, w, h)}
    elif kind in ("keypointlabels", "keypoint"):
        w, h = _size(item, width, height)
        x, y = _numbers(value, "x", "y")
        shape["type"] = "points"
        shape["geometry"] = {"points": geometry.percent_points_to_pixels([[x, y]], w, h)}
    elif kind in ("labels", "hypertextlabels"):
        start, end = value.get("start"), value.get("end")
        if not isinstance(start, int) or not isinstance(end, int):
            raise AdapterError("a text span needs integer value.start and value.end offsets")
        shape["type"] = "text_span"
        shape["geometry"] = {"start": start, "end": end, **({"text": value["text"]} if "text" in value else {})}
    elif kind == "choices":
        choices = value.get("choices")
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices):
            raise AdapterError("value.choices must be a non-empty list of class names")
        return [{**shape, "type": "classification", "class_name": c, "geometry": {}} for c in choices]
    elif kind == "videorectangle":
        shape["type"] = "video_track"
        shape["geometry"] = _video_track(value)
    elif kind == "brushlabels":
        raise AdapterError("Label Studio brush RLE is not COCO RLE; send masks as polygons or COCO RLE")
    else:
        raise AdapterError(f"unsupported result type {kind!r}")
    shape["class_name"] = _class_name(item, value)
    return [shape]


def _video_track(value: dict) -> dict:
    sequence = value.get("sequence")
    if not isinstance(sequence, list) or not sequence:
        raise AdapterError("a videorectangle needs a non-empty value.sequence")
    items = sorted(sequence, key=lambda s: s.get("frame", 0) if isinstance(s, dict) else 0)
    keyframes: list[dict] = []
    for position, step in enumerate(items):
        if not isinstance(step, dict) or not isinstance(step.get("frame"), int) or step["frame"] < 1:
            raise AdapterError(f"sequence item {position} needs a 1-based integer frame")
        if float(step.get("rotation") or 0) % 360:
            raise AdapterError(f"sequence item {position} is rotated; video tracks hold upright boxes")
        x, y, w, h = _numbers(step, "x", "y", "width", "height")
        index = step["frame"] - 1
        if keyframes and keyframes[-1]["frame_index"] >= index:
            raise AdapterError(f"frame {step['frame']} appears twice in the sequence")
        keyframes.append(
            {
                "frame_index": index,
                "bbox": {"x": x / 100, "y": y / 100, "w": w / 100, "h": h / 100},
                "source": "ai",
                "absent": False,
                "occluded": False,
            }
        )
        following = items[position + 1]["frame"] - 1 if position + 1 < len(items) else None
        if step.get("enabled") is False and following is not None and following > index + 1:
            keyframes.append({"frame_index": index + 1, "source": "ai", "absent": True, "occluded": False})
    return {"type": "video_track", "keyframes": keyframes}


def to_internal_shapes(raw: Any, *, width: int | None = None, height: int | None = None) -> list[dict]:
    """A whole raw output → our shapes: a list of results, or a Label Studio prediction /
    annotation object ``{"result": [...]}``. Relations' ``from_id``/``to_id`` become
    ``{"index": n}`` references to the shapes of the same list."""
    if isinstance(raw, dict) and "result" in raw:
        raw = raw["result"]
    if not isinstance(raw, list):
        raise AdapterError("raw output must be a list of results or an object with a result list")
    shapes: list[dict] = []
    positions: dict[str, int] = {}
    relations: list[tuple[int, dict]] = []
    for number, item in enumerate(raw):
        if isinstance(item, dict) and item.get("type") == "relation":
            relations.append((number, item))
            continue
        try:
            converted = to_internal_shape(item, width=width, height=height)
        except AdapterError as exc:
            raise AdapterError(f"result {number}: {exc}") from None
        if isinstance(item, dict) and item.get("id") is not None:
            positions[str(item["id"])] = len(shapes)
        shapes.extend(converted)
    for number, item in relations:
        ends = {}
        for end, key in (("from", "from_id"), ("to", "to_id")):
            if str(item.get(key)) not in positions:
                raise AdapterError(f"result {number}: relation {key} {item.get(key)!r} names no result of this list")
            ends[end] = {"index": positions[str(item[key])]}
        labels = item.get("labels") or []
        shape = {
            "type": "relation",
            "geometry": {**ends, "direction": item.get("direction", "right")},
            "attributes": {},
        }
        if labels:
            shape["class_name"] = labels[0]
        shapes.append(shape)
    return shapes
