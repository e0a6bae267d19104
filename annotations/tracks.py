"""Video boxes and compact tracks: validation, and the edits conversions and compositions make.

Boxes are normalized ``{"x", "y", "w", "h"}`` in 0-1 of the frame (the task-platform
contract). A ``video_track`` stores keyframes only; what a track shows on each frame is
always computed by the one interpolation function, ``annotations.geometry.track_frames``.

Every edit here works on those computed frames and rebuilds keyframes from them
(:func:`keyframes_from_frames`), so an edit never changes what the track shows on frames it
does not touch: removing a frame, splitting a track and merging two tracks are all exact
(boxes equal up to floating-point rounding).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from annotations.geometry import track_frames
from annotations.shape_geometry import Problems, check_keys, is_int, is_number

BOX_KEYS = ("x", "y", "w", "h")
EPS = 1e-9  # float slack on the 0-1 bounds (x + w may round a hair above 1)
MAX_KEYFRAMES = 100_000
KEYFRAME_SOURCES = ("manual", "ai", "ai-accepted", "propagated", "imported", "interpolated")
TRACK_ID_MAX = 64


def new_track_id() -> str:
    return f"trk_{secrets.token_hex(8)}"


# --- validation ----------------------------------------------------------------------------
def clean_box(value: Any, path: str, p: Problems, who: str) -> dict | None:
    """A normalized box inside 0-1 with positive width and height; ``who`` names it in messages."""
    if not isinstance(value, dict) or not check_keys(value, set(BOX_KEYS), path, p):
        if not p.errors.get(path):
            p.add(path, f"{who}: bbox must be {{x, y, w, h}} in 0-1 of the frame.")
        return None
    bad = [k for k in BOX_KEYS if not is_number(value.get(k))]
    if bad:
        p.add(path, f"{who}: {', '.join(bad)} must be finite numbers in 0-1.")
        return None
    x, y, w, h = (float(value[k]) for k in BOX_KEYS)
    if w <= 0 or h <= 0:
        p.add(path, f"{who}: degenerate box, w and h must be greater than 0 (got w={w:g}, h={h:g}).")
        return None
    if x < -EPS or y < -EPS or x + w > 1 + EPS or y + h > 1 + EPS:
        p.add(path, f"{who}: the box must lie inside 0-1 (x={x:g}, y={y:g}, x+w={x + w:g}, y+h={y + h:g}).")
        return None
    return {"x": x, "y": y, "w": w, "h": h}  # kept as sent: float noise within EPS is no reason to move a box


def _frame_index(value: Any, frame_count: int | None, path: str, p: Problems, who: str) -> int | None:
    if not is_int(value) or value < 0:
        p.add(path, f"{who}: frame_index must be an integer >= 0, got {value!r}.")
        return None
    if frame_count is not None and value >= frame_count:
        p.add(path, f"{who}: frame {value} is past the end of the video ({frame_count} frames, 0-{frame_count - 1}).")
        return None
    return value


def clean_video_bbox(g: dict, frame_index: Any, frame_count: int | None, p: Problems) -> dict | None:
    """``{"type": "video_bbox", "frame_index", "x", "y", "w", "h"}`` (+ ``occluded``)."""
    if not check_keys(g, {"type", "frame_index", *BOX_KEYS, "occluded"}, "geometry", p):
        return None
    if "frame_index" not in g and frame_index is None:
        p.add("geometry.frame_index", "a video_bbox needs frame_index.")
        return None
    if "frame_index" in g and frame_index is not None and g["frame_index"] != frame_index:
        p.add("frame_index", f"frame_index {frame_index!r} disagrees with geometry.frame_index {g['frame_index']!r}.")
        return None
    index = _frame_index(g.get("frame_index", frame_index), frame_count, "geometry.frame_index", p, "video_bbox")
    box = clean_box({k: g.get(k) for k in BOX_KEYS}, "geometry", p, "video_bbox")
    if index is None or box is None:
        return None
    occluded = g.get("occluded", False)
    if not isinstance(occluded, bool):
        p.add("geometry.occluded", "occluded must be true or false.")
        return None
    out = {"type": "video_bbox", "frame_index": index, **box}
    if occluded:
        out["occluded"] = True
    return out


def clean_video_track(g: dict, frame_count: int | None, p: Problems) -> dict | None:
    """``{"type": "video_track", "track_id", "keyframes": [...]}``; errors name the keyframe.

    Keyframes: sorted by ``frame_index`` with no repeats, inside the video, each
    ``{"frame_index", "bbox", "source", "absent", "occluded"}``; ``bbox`` may be left out of
    an absent keyframe. At least one keyframe must be present. A missing ``track_id`` is
    generated.
    """
    if not check_keys(g, {"type", "track_id", "keyframes"}, "geometry", p):
        return None
    track_id = g.get("track_id") or new_track_id()
    if not isinstance(track_id, str) or len(track_id) > TRACK_ID_MAX:
        p.add("geometry.track_id", f"track_id must be a string of at most {TRACK_ID_MAX} characters.")
        return None
    raw = g.get("keyframes")
    if not isinstance(raw, list) or not raw:
        p.add("geometry.keyframes", "keyframes must be a non-empty list.")
        return None
    if len(raw) > MAX_KEYFRAMES:
        p.add("geometry.keyframes", f"{len(raw)} keyframes; at most {MAX_KEYFRAMES}.")
        return None
    keyframes: list[dict] = []
    previous: tuple[int, int] | None = None  # (keyframe number, frame_index)
    for i, kf in enumerate(raw):
        where = f"geometry.keyframes.{i}"
        who = f"keyframe {i}"
        if not isinstance(kf, dict):
            p.add(where, f"{who} must be an object {{frame_index, bbox, source, absent, occluded}}.")
            continue
        if not check_keys(kf, {"frame_index", "bbox", "source", "absent", "occluded"}, where, p):
            continue
        index = _frame_index(kf.get("frame_index"), frame_count, f"{where}.frame_index", p, who)
        if index is None:
            continue
        who = f"keyframe {i} (frame {index})"
        if previous is not None and index <= previous[1]:
            if index == previous[1]:
                message = f"{who}: frame {index} is already keyframe {previous[0]}; frame indexes must be unique."
            else:
                message = f"{who}: comes after keyframe {previous[0]} (frame {previous[1]}); keyframes must be sorted."
            p.add(f"{where}.frame_index", message)
        previous = (i, index)
        flags = {}
        for flag in ("absent", "occluded"):
            flags[flag] = kf.get(flag, False)
            if not isinstance(flags[flag], bool):
                p.add(f"{where}.{flag}", f"{who}: {flag} must be true or false.")
        source = kf.get("source", "manual")
        if source not in KEYFRAME_SOURCES:
            p.add(f"{where}.source", f"{who}: source must be one of {', '.join(KEYFRAME_SOURCES)}, got {source!r}.")
        box = None
        if flags["absent"] is True and kf.get("bbox") is None:
            pass
        elif "bbox" not in kf:
            p.add(f"{where}.bbox", f"{who}: a present keyframe needs a bbox {{x, y, w, h}}.")
        else:
            box = clean_box(kf["bbox"], f"{where}.bbox", p, who)
        item = {"frame_index": index, **({"bbox": box} if box else {})}
        item.update(source=source, absent=flags["absent"], occluded=flags["occluded"])
        keyframes.append(item)
    if p:
        return None
    if all(kf["absent"] for kf in keyframes):
        p.add("geometry.keyframes", "every keyframe is absent; a track needs at least one present keyframe.")
        return None
    return {"type": "video_track", "track_id": track_id, "keyframes": keyframes}


# --- reading tracks --------------------------------------------------------------------------
def visible_frames(keyframes: list[dict]) -> dict[int, dict]:
    """``{frame_index: frame}`` of every frame the track shows (``geometry.track_frames``)."""
    return {item["frame_index"]: item for item in track_frames(keyframes)}


def visible_range(keyframes: list[dict]) -> tuple[int, int] | None:
    """First and last visible frame, or None for a track that shows nothing."""
    first = last = None
    for item in track_frames(keyframes):
        if first is None:
            first = item["frame_index"]
        last = item["frame_index"]
    return None if first is None else (first, last)


# --- editing -------------------------------------------------------------------------------
def keyframes_from_frames(frames: dict[int, dict], originals: Iterable[dict] = ()) -> list[dict]:
    """Keyframes that make ``track_frames`` show exactly ``frames`` (``{index: frame}``).

    ``originals`` are keyframes of the track(s) the frames came from: those on a shown frame
    are kept as they are (so linear stretches stay exact); each run of consecutive frames
    gets a keyframe at its ends, and an absent keyframe right after it when another run
    follows.
    """
    present = {kf["frame_index"]: kf for kf in originals if not kf.get("absent")}
    absent = {kf["frame_index"]: kf for kf in originals if kf.get("absent")}
    order = sorted(frames)
    out: list[dict] = []

    def emit(index: int) -> None:
        if index in present:
            out.append(dict(present[index]))
        else:
            frame = frames[index]
            out.append(
                {
                    "frame_index": index,
                    "bbox": dict(frame["bbox"]),
                    "source": frame.get("source", "manual"),
                    "absent": False,
                    "occluded": bool(frame.get("occluded")),
                }
            )

    for position, index in enumerate(order):
        run_start = position == 0 or order[position - 1] != index - 1
        run_end = position == len(order) - 1 or order[position + 1] != index + 1
        if run_start or run_end or index in present:
            emit(index)
        if run_end and position < len(order) - 1:
            gap = index + 1
            out.append(
                dict(absent[gap])
                if gap in absent
                else {"frame_index": gap, "source": "manual", "absent": True, "occluded": False}
            )
    return out


def remove_frames(keyframes: list[dict], frame_indexes: Iterable[int]) -> list[dict]:
    """The track without the given frames (every other frame unchanged); [] if nothing is left."""
    removed = set(frame_indexes)
    frames = visible_frames(keyframes)
    if not removed & set(frames):
        return [dict(kf) for kf in keyframes]
    kept = {i: f for i, f in frames.items() if i not in removed}
    return keyframes_from_frames(kept, keyframes)


def split_track(keyframes: list[dict], frame_index: int) -> tuple[list[dict], list[dict]]:
    """Keyframes of the frames up to and including ``frame_index``, and of those after it."""
    frames = visible_frames(keyframes)
    before = {i: f for i, f in frames.items() if i <= frame_index}
    after = {i: f for i, f in frames.items() if i > frame_index}
    return keyframes_from_frames(before, keyframes), keyframes_from_frames(after, keyframes)


def merge_tracks(first: list[dict], second: list[dict]) -> list[dict]:
    """One track showing both tracks' frames; their visible ranges must not overlap. The gap
    between them is outside (an absent keyframe right after the earlier track ends)."""
    range_a, range_b = visible_range(first), visible_range(second)
    if range_a is None or range_b is None:
        raise ValueError("a track without visible frames cannot be merged")
    if range_a[0] > range_b[0]:
        first, second, range_a, range_b = second, first, range_b, range_a
    if range_b[0] <= range_a[1]:
        raise ValueError(f"visible frames overlap: {range_a[0]}-{range_a[1]} and {range_b[0]}-{range_b[1]}")
    frames = {**visible_frames(first), **visible_frames(second)}
    return keyframes_from_frames(frames, [*first, *second])


def track_from_boxes(boxes: Iterable[tuple[int, dict, str, bool]]) -> list[dict]:
    """Present keyframes from ``(frame_index, box, source, occluded)`` (frames must be unique)."""
    return [
        {"frame_index": index, "bbox": dict(box), "source": source, "absent": False, "occluded": occluded}
        for index, box, source, occluded in sorted(boxes, key=lambda item: item[0])
    ]
