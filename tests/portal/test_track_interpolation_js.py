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
