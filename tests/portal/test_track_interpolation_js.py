"""The workspace's JavaScript track interpolation (static/portal/js/workspace/tracks.js) gives
exactly what the server's ``annotations.geometry.track_frames`` gives, on the shared vectors
(tests/annotations/track_vectors.json), compared with ``===`` in node — and the workspace's
RLE codec round-trips with pycocotools."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "static" / "portal" / "js" / "workspace"
VECTORS = ROOT / "tests" / "annotations" / "track_vectors.json"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (scripts/system-packages.sh installs it)")

RUNNER = """
import { readFileSync } from "node:fs";
import { trackFrames } from "./tracks.mjs";
const cases = JSON.parse(readFileSync(process.argv[2], "utf8")).cases;
const failures = [];
const same = (a, b) => {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i], y = b[i];
    for (const k of ["frame_index", "occluded", "keyframe", "source"]) {
      if (x[k] !== y[k]) return `item ${i}: ${k} ${JSON.stringify(x[k])} !== ${JSON.stringify(y[k])}`;
    }
    for (const k of ["x", "y", "w", "h"]) {
      if (x.bbox[k] !== y.bbox[k]) return `item ${i}: bbox.${k} ${x.bbox[k]} !== ${y.bbox[k]}`;
    }
    if (Object.keys(x).length !== Object.keys(y).length) return `item ${i}: keys differ`;
  }
  return null;
};
for (const c of cases) {
  const got = trackFrames(c.keyframes, c.frame_count);
  const problem = same(got, c.expected);
  if (problem) failures.push(`${c.name}: ${problem}`);
}
console.log(JSON.stringify({ cases: cases.length, failures }));
"""


def run_node(tmp_path: Path, files: dict[str, Path], runner: str, *args: str) -> dict:
    for name, source in files.items():
        (tmp_path / name).write_text(source.read_text())
    (tmp_path / "run.mjs").write_text(runner)
    done = subprocess.run(
        [NODE, str(tmp_path / "run.mjs"), *args], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_js_track_interpolation_reproduces_every_vector_exactly(tmp_path):
    result = run_node(tmp_path, {"tracks.mjs": JS / "tracks.js"}, RUNNER, str(VECTORS))
    assert result["cases"] == len(json.loads(VECTORS.read_text())["cases"]) > 10
    assert result["failures"] == []


def test_js_port_is_checked_against_a_track_that_breaks_it(tmp_path):
    """The comparison is not vacuous: a port that rounds differently fails."""
    broken = tmp_path / "broken.js"
    broken.write_text((JS / "tracks.js").read_text().replace("a[k] + (b[k] - a[k]) * t", "a[k] * (1 - t) + b[k] * t"))
    result = run_node(tmp_path, {"tracks.mjs": broken}, RUNNER, str(VECTORS))
    assert any("thirds" in f for f in result["failures"])


RLE_RUNNER = """
import { readFileSync } from "node:fs";
import { decodeCounts, encodeCounts, maskToCounts, countsToMask } from "./rle.mjs";
const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = cases.map((c) => {
  const mask = Uint8Array.from(c.mask);
  const counts = maskToCounts(mask, c.width, c.height);
  const back = countsToMask(c.compressed, c.width, c.height);
  return {
    counts,
    compressed: encodeCounts(counts),
    decoded: decodeCounts(c.compressed),
    roundtrip: Array.from(back),
  };
});
console.log(JSON.stringify(out));
"""


def test_js_rle_codec_agrees_with_pycocotools(tmp_path):
    """The brush's masks are encoded as pycocotools encodes them, and the server's compressed
    strings (SAM, propagation) decode to the same pixels."""
    import numpy as np
    from pycocotools import mask as coco

    rng = np.random.default_rng(7)
    cases = []
    for height, width, density in [(5, 7, 0.5), (32, 24, 0.1), (40, 64, 0.9), (3, 3, 0.0), (60, 50, 0.4)]:
        mask = (rng.random((height, width)) < density).astype(np.uint8)
        mask[height // 3 : height // 2, width // 4 : width // 2] = 1  # a solid block: long runs
        rle = coco.encode(np.asfortranarray(mask))
        cases.append(
            {"width": width, "height": height, "mask": mask.ravel().tolist(), "compressed": rle["counts"].decode()}
        )
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    results = run_node(tmp_path, {"rle.mjs": JS / "rle.js"}, RLE_RUNNER, str(tmp_path / "cases.json"))
    for case, got in zip(cases, results, strict=True):
        assert got["compressed"] == case["compressed"]
        assert got["roundtrip"] == case["mask"]
        size = [case["height"], case["width"]]
        assert coco.frPyObjects({"size": size, "counts": got["counts"]}, *size)["counts"].decode() == case["compressed"]
        assert got["decoded"] == got["counts"]


SHADES_RUNNER = """
import { runShade } from "./shades.mjs";
const out = {};
for (const n of [1, 2, 5, 12]) out[n] = Array.from({ length: n }, (_, i) => runShade(i, n));
console.log(JSON.stringify(out));
"""


def test_propagation_runs_are_successively_darker_shades_of_one_blue(tmp_path):
    import re

    shades = run_node(tmp_path, {"shades.mjs": JS / "shades.js"}, SHADES_RUNNER)
    for count, colours in shades.items():
        parsed = [tuple(map(float, re.fullmatch(r"hsl\((\d+) (\d+)% ([\d.]+)%\)", c).groups())) for c in colours]
        assert len(parsed) == int(count)
        assert {(h, s) for h, s, _ in parsed} == {(214.0, 85.0)}  # one blue
        lightness = [light for _, _, light in parsed]
        assert lightness == sorted(lightness, reverse=True) and len(set(lightness)) == len(lightness)
