"""The JSON test vectors the JavaScript port of track interpolation is checked against."""

from __future__ import annotations

import json

from tests.annotations.track_vectors import PATH, build_vectors, render


def test_track_vectors_file_matches_the_function():
    assert PATH.read_text() == render(), "regenerate: .venv/bin/python -m tests.annotations.track_vectors"


def test_track_vectors_cover_the_rules():
    cases = {case["name"]: case for case in json.loads(PATH.read_text())["cases"]}
    assert cases == {case["name"]: case for case in build_vectors()["cases"]}
    gap = cases["absent hides until the next present"]["expected"]
    assert [f["frame_index"] for f in gap] == [0, 6, 7, 8]
    thirds = cases["thirds (rounding)"]["expected"]
    assert thirds[1]["bbox"]["x"] == 0.1 + (0.7 - 0.1) * (1 / 3)
    assert [f["frame_index"] for f in cases["frame_count cuts the track"]["expected"]] == [0, 1, 2, 3, 4, 5]
    assert cases["empty track"]["expected"] == []
