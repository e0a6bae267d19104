"""Shared test vectors of the one track interpolation (``annotations.geometry.track_frames``).

The workspace's JavaScript port must produce exactly ``expected`` for every case (compare
numbers with ``===``: the formula below uses the same IEEE-754 operations in both languages).
Regenerate after a deliberate change of the function, and review the diff:

    .venv/bin/python -m tests.annotations.track_vectors

``test_track_vectors_file_matches_the_function`` fails while the file and the function differ.
"""

from __future__ import annotations

import json
from pathlib import Path

from annotations.geometry import track_frames

PATH = Path(__file__).with_name("track_vectors.json")

RULES = [
    "keyframes are sorted by frame_index, each {frame_index, bbox {x,y,w,h} (0-1), source, absent, occluded}",
    "a present keyframe is shown on its frame (keyframe: true, its own source)",
    "between two present keyframes s < e, frame f gets a + (b - a) * ((f - s) / (e - s)) for each of x, y, w, h "
    "(keyframe: false, source 'interpolated', occluded from the keyframe before)",
    "an absent keyframe hides the object from its frame until the next present keyframe; a present keyframe "
    "followed by an absent one is shown on its own frame only",
    "nothing is shown after the last keyframe; frames >= frame_count (when given) are not shown",
]


def kf(index, x=0.1, y=0.2, w=0.3, h=0.4, *, absent=False, occluded=False, source="manual", bbox=True):
    item = {"frame_index": index, "source": source, "absent": absent, "occluded": occluded}
    if bbox:
        item["bbox"] = {"x": x, "y": y, "w": w, "h": h}
    return item


CASES: list[tuple[str, list[dict], int | None]] = [
    ("empty track", [], None),
    ("one keyframe", [kf(5)], None),
    ("two keyframes, linear", [kf(0, 0.0, 0.0, 0.1, 0.1), kf(4, 0.4, 0.2, 0.3, 0.5)], None),
    ("thirds (rounding)", [kf(0, 0.1, 0.1, 0.2, 0.2), kf(3, 0.7, 0.3, 0.25, 0.15)], None),
    ("adjacent keyframes", [kf(7, 0.1), kf(8, 0.2)], None),
    ("absent hides until the next present", [kf(0, 0.1), kf(3, absent=True, bbox=False), kf(6, 0.5), kf(8, 0.6)], None),
    ("present then absent: one frame only", [kf(2), kf(9, absent=True)], None),
    ("leading absent keyframe", [kf(0, absent=True, bbox=False), kf(2, 0.2), kf(4, 0.4)], None),
    ("absent keyframe with a box keeps hiding", [kf(0, 0.1), kf(2, 0.9, absent=True), kf(5, 0.3)], None),
    ("occluded carries into interpolated frames", [kf(0, occluded=True), kf(3, 0.4), kf(5, 0.5, occluded=True)], None),
    ("sources", [kf(0, source="ai"), kf(2, 0.3, source="propagated")], None),
    ("frame_count cuts the track", [kf(0, 0.0), kf(10, 0.5)], 6),
    ("frame_count before the first keyframe", [kf(8)], 5),
    ("long gap", [kf(0, 0.0, 0.0, 0.5, 0.5), kf(97, 0.5, 0.5, 0.5, 0.5)], None),
]


def build_vectors() -> dict:
    cases = []
    for name, keyframes, frame_count in CASES:
        cases.append(
            {
                "name": name,
                "keyframes": keyframes,
                "frame_count": frame_count,
                "expected": list(track_frames(keyframes, frame_count=frame_count)),
            }
        )
    return {"function": "annotations.geometry.track_frames", "rules": RULES, "cases": cases}


def render() -> str:
    return json.dumps(build_vectors(), indent=1) + "\n"


if __name__ == "__main__":
    PATH.write_text(render())
    print(f"wrote {PATH} ({len(CASES)} cases)")
