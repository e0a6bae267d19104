"""Export speed and memory: our format plug-ins vs the FastLabel SDK's converters vs a floor.

The data: a generated project of N images 1920x1080, each with 10 polygons of 8-20
vertices across 5 classes (deterministic: the same numbers in every process). Each run
happens in its own process (peak RSS is that process's ``ru_maxrss``):

* **ours** — the exporter plug-in fed the way an export job feeds it: per frame, stored
  annotation rows (``type``/``geometry``) read by ``exports.shapes`` into ``ExportFrame``s,
  streamed into a zip on a temporary file (no image files: the converters write none).
* **fastlabel** — the SDK's converter on the same data as its task dicts, in a separate venv
  (``.venv-bench``, created here: ``fastlabel`` pulls the GUI ``opencv-python``, which would
  overwrite our headless ``cv2``). Its project lookup is stubbed (no network).
* **floor** — the least code that writes the same files: for masks a plain numpy + OpenCV loop
  (``cv2.fillPoly`` + ``cv2.imencode``), for text formats a plain ``json``/f-string loop; both
  into the same kind of zip.

Usage::

    .venv/bin/python bench/export.py                 # 500 images, RSS check at 500 and 5,000
    .venv/bin/python bench/export.py --images 100 --rss-images 0 --no-fastlabel   # quick
    .venv/bin/python bench/export.py --json bench/results.json

No process pool is used; one would need the ``spawn``/``forkserver`` context (fork after
OpenCV can deadlock).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".venv-bench"
FASTLABEL_PIN = "fastlabel==0.26.0"
WIDTH, HEIGHT = 1920, 1080
SEED = 20261125
CLASSES = [
    ("road", "#804080", 1),
    ("car", "#ff0000", 2),
    ("person", "#00ff00", 3),
    ("tree", "#0000ff", 4),
    ("sign", "#ffff00", 5),
]


# --- the data (numpy only: runs in both venvs) ------------------------------------------------
def frame_polygons(index: int) -> list[tuple[int, np.ndarray]]:
    """(class index, (n, 2) float vertices) x 10 for image ``index``: star-shaped rings."""
    rng = np.random.default_rng(SEED + index)
    out = []
    for _ in range(10):
        count = int(rng.integers(8, 21))
        cx, cy = rng.uniform(220, WIDTH - 220), rng.uniform(220, HEIGHT - 220)
        radius = rng.uniform(30, 200)
        angles = np.sort(rng.uniform(0, 2 * np.pi, count))
        radii = radius * rng.uniform(0.55, 1.0, count)
        points = np.round(np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1), 2)
        out.append((int(rng.integers(0, len(CLASSES))), points))
    return out


def image_name(index: int) -> str:
    return f"img_{index:06d}.jpg"


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- ours ---------------------------------------------------------------------------------------
OURS = {
    # name: (format, options)
    "coco": ("coco", {}),
    "yolo": ("yolo", {}),
    "yolo_seg": ("yolo_seg", {}),
    "voc": ("voc", {"masks": "none"}),
    "voc_object": ("voc", {"masks": "object"}),
    "voc_full": ("voc", {"masks": "both"}),
    "labelme": ("labelme", {}),
    "geojson": ("geojson", {}),
    "gt_label": ("segmentation_results", {"outputs": ["gt_label"]}),
    "pro_label": ("segmentation_results", {"outputs": ["pro_label"]}),
    "mix_label": ("segmentation_results", {"outputs": ["mix_label"]}),
    "separate": ("segmentation_results", {"outputs": ["separate"]}),
    "seg_package": (
        "segmentation_results",
        {"outputs": ["separate", "gt_label", "pro_label", "mix_label", "coco", "class_map"]},
    ),
}


def background() -> np.ndarray:
    """The 'original frame' Mix_label blends over (decoding is not what is measured)."""
    rng = np.random.default_rng(SEED)
    small = rng.integers(0, 255, (HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    import cv2

    return cv2.resize(small, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


def run_ours(name: str, count: int, stream: bool = False, repeat: int = 1) -> dict:
    sys.path.insert(0, str(ROOT))
    from types import SimpleNamespace

    from exports.formats import get_exporter
    from exports.formats.base import ExportContext, ExportFrame, ExportLabel
    from exports.shapes import shape_from_annotation
    from exports.writers import ZipArchiveWriter

    fmt, options = OURS[name]
    labels = [ExportLabel(id=i + 1, name=n, color=c, maskid=m, z_order=i) for i, (n, c, m) in enumerate(CLASSES)]
    original = background()

    def rows_of(index: int) -> list:
        return [
            (
                SimpleNamespace(  # what the selector reads from the annotations table
                    pk=index * 10 + number,
                    type="polygon",
                    geometry={"polygons": [{"exterior": points.tolist(), "holes": []}]},
                    object_id="",
                    source="manual",
                    score=None,
                    attributes={},
                ),
                labels[cls],
            )
            for number, (cls, points) in enumerate(frame_polygons(index))
        ]

    # Timing runs start from rows in memory, as FastLabel starts from its task dicts; memory
    # runs (stream) generate them frame by frame, as the database hands them out.
    stored = None if stream else [rows_of(index) for index in range(count)]

    def frames():
        for index in range(count):
            rows = rows_of(index) if stored is None else stored[index]
            yield ExportFrame(
                task_id=index + 1,
                task_name=image_name(index),
                index=0,
                width=WIDTH,
                height=HEIGHT,
                stem=image_name(index)[:-4],
                image_ext=".jpg",
                video_name=image_name(index)[:-4],
                shapes=[shape_from_annotation(row, label, WIDTH, HEIGHT) for row, label in rows],
                load_rgb=lambda: original,
            )

    best = float("inf")
    for _ in range(repeat):
        exporter = get_exporter(fmt)(options)
        ctx = ExportContext(
            project_name="bench", project_kind="image", labels=labels, options=exporter.options, include_images=False
        )
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "export.zip"
            started = time.perf_counter()
            with ZipArchiveWriter(target) as writer:
                exporter.export(frames(), writer, ctx)
            best = min(best, time.perf_counter() - started)
            size = target.stat().st_size
    return {"seconds": best, "max_rss_mb": max_rss_mb(), "bytes": size, "files": writer.file_count}


# --- floors -------------------------------------------------------------------------------------
def _stored(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_STORED)


def _area(ring: list) -> float:
    area, (x0, y0) = 0.0, ring[-1]
    for x1, y1 in ring:
        area += x0 * y1 - x1 * y0
        x0, y0 = x1, y1
    return abs(area) / 2


def run_floor(name: str, count: int, stream: bool = False, repeat: int = 1) -> dict:
    best = float("inf")
    generated = [frame_polygons(index) for index in range(count)]
    for _ in range(repeat):
        seconds, size = _floor_once(name, count, generated)
        best = min(best, seconds)
    return {"seconds": best, "max_rss_mb": max_rss_mb(), "bytes": size}


def _floor_once(name: str, count: int, generated: list) -> tuple[float, int]:
    import cv2

    lut = np.zeros((256, 1, 3), dtype=np.uint8)
    for _, color, maskid in CLASSES:
        lut[maskid, 0] = (int(color[5:7], 16), int(color[3:5], 16), int(color[1:3], 16))
    original = background()
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "floor.zip"
        started = time.perf_counter()
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            if name == "coco":
                images, annotations = [], []
                for index in range(count):
                    images.append({"id": index + 1, "file_name": image_name(index), "width": WIDTH, "height": HEIGHT})
                    for cls, points in generated[index]:
                        ring = points.tolist()
                        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
                        x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
                        annotations.append(
                            {
                                "id": len(annotations) + 1,
                                "image_id": index + 1,
                                "category_id": cls + 1,
                                "segmentation": [[v for p in ring for v in p]],
                                "area": _area(ring),
                                "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                                "iscrowd": 0,
                            }
                        )
                categories = [{"id": i + 1, "name": n} for i, (n, _, _) in enumerate(CLASSES)]
                doc = {"images": images, "annotations": annotations, "categories": categories}
                zf.writestr("annotations/instances_default.json", json.dumps(doc))
            for index in range(count if name != "coco" else 0):
                polygons = generated[index]
                stem = image_name(index)[:-4]
                if name in ("yolo", "yolo_seg"):
                    lines = []
                    for cls, points in polygons:
                        if name == "yolo":
                            x0, y0 = points.min(axis=0)
                            x1, y1 = points.max(axis=0)
                            lines.append(
                                f"{cls} {(x0 + x1) / 2 / WIDTH:.6f} {(y0 + y1) / 2 / HEIGHT:.6f} "
                                f"{(x1 - x0) / WIDTH:.6f} {(y1 - y0) / HEIGHT:.6f}"
                            )
                        else:
                            lines.append(f"{cls} " + " ".join(f"{x / WIDTH:.6f} {y / HEIGHT:.6f}" for x, y in points))
                    zf.writestr(f"labels/train/{stem}.txt", "\n".join(lines) + "\n")
                elif name == "voc":
                    objects = "".join(
                        f"<object><name>{CLASSES[cls][0]}</name><bndbox><xmin>{points[:, 0].min():.2f}</xmin>"
                        f"<ymin>{points[:, 1].min():.2f}</ymin><xmax>{points[:, 0].max():.2f}</xmax>"
                        f"<ymax>{points[:, 1].max():.2f}</ymax></bndbox></object>"
                        for cls, points in polygons
                    )
                    xml = f"<annotation><filename>{image_name(index)}</filename><size><width>{WIDTH}</width>"
                    zf.writestr(
                        f"Annotations/{stem}.xml", xml + f"<height>{HEIGHT}</height></size>{objects}</annotation>"
                    )
                elif name == "labelme":
                    shapes = [
                        {"label": CLASSES[cls][0], "points": points.tolist(), "shape_type": "polygon"}
                        for cls, points in polygons
                    ]
                    doc = {"shapes": shapes, "imagePath": image_name(index), "imageHeight": HEIGHT, "imageWidth": WIDTH}
                    zf.writestr(f"{stem}.json", json.dumps(doc))
                elif name in ("gt_label", "pro_label", "mix_label", "instance"):
                    canvas = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
                    for number, (cls, points) in enumerate(polygons, start=1):
                        value = number if name == "instance" else CLASSES[cls][2]
                        cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], value)
                    if name in ("gt_label", "instance"):
                        _stored(zf, f"masks/{stem}.png", cv2.imencode(".png", canvas)[1].tobytes())
                        continue
                    colour = cv2.LUT(cv2.merge([canvas, canvas, canvas]), lut)
                    if name == "pro_label":
                        _stored(zf, f"Pro_label/{stem}.png", cv2.imencode(".png", colour)[1].tobytes())
                        continue
                    blended = cv2.addWeighted(original, 0.7, colour, 0.3, 0)
                    mixed = cv2.copyTo(blended, canvas, original.copy())
                    _stored(zf, f"Mix_label/{stem}.jpg", cv2.imencode(".jpg", mixed)[1].tobytes())
                elif name == "separate":
                    for cls in sorted({c for c, _ in polygons}):
                        canvas = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
                        cv2.fillPoly(canvas, [np.round(p).astype(np.int32) for c, p in polygons if c == cls], 255)
                        png = cv2.imencode(".png", canvas, [cv2.IMWRITE_PNG_BILEVEL, 1])[1].tobytes()
                        _stored(zf, f"separate/{stem}_{cls}.png", png)
        seconds = time.perf_counter() - started
        size = target.stat().st_size
    return seconds, size


# --- FastLabel (runs in .venv-bench) ------------------------------------------------------------
FASTLABEL = {
    "coco": "export_coco",
    "yolo_seg": "export_yolo",
    "voc": "export_pascalvoc",
    "labelme": "export_labelme",
    "gt_label": "export_semantic_segmentation",
    "voc_object": "export_instance_segmentation",
}


def run_fastlabel(name: str, count: int, stream: bool = False, repeat: int = 1) -> dict:
    import fastlabel

    tasks = [
        {
            "name": image_name(index),
            "width": WIDTH,
            "height": HEIGHT,
            "annotations": [
                {
                    "type": "polygon",
                    "value": CLASSES[cls][0],
                    "title": CLASSES[cls][0],
                    "color": CLASSES[cls][1],
                    "points": points.ravel().tolist(),
                    "attributes": [],
                    "keypoints": [],
                }
                for cls, points in frame_polygons(index)
            ],
        }
        for index in range(count)
    ]
    client = fastlabel.Client(access_token="offline-benchmark")  # noqa: S106 - no server is ever called
    client.find_project_by_slug = lambda project: {"type": "image_polygon", "slug": project}  # no network
    method = FASTLABEL[name]
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            if method in ("export_labelme", "export_semantic_segmentation", "export_instance_segmentation"):
                getattr(client, method)(tasks, output_dir=folder)
            else:
                getattr(client, method)(project="bench", tasks=tasks, output_dir=folder)
            best = min(best, time.perf_counter() - started)
            size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    return {"seconds": best, "max_rss_mb": max_rss_mb(), "bytes": size}


# --- orchestration ------------------------------------------------------------------------------
def ensure_bench_venv() -> Path:
    python = BENCH_VENV / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import fastlabel"], capture_output=True) if python.exists() else None
    if probe is None or probe.returncode != 0:
        print(f"creating {BENCH_VENV} with {FASTLABEL_PIN} (separate from .venv: it brings GUI opencv-python)")
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        (BENCH_VENV / ".gitignore").write_text("*\n")
        subprocess.run([str(python), "-m", "pip", "install", "-q", FASTLABEL_PIN], check=True)
    return python


def child(python: str, kind: str, name: str, count: int, *, repeat: int = 1, stream: bool = False) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    argv = [python, __file__, "--child", kind, "--name", name, "--images", str(count), "--repeat", str(repeat)]
    done = subprocess.run([*argv, *(["--stream"] if stream else [])], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# Formats whose memory is checked at two project sizes (streamed input, as from the database).
RSS_FORMATS = {"coco", "yolo_seg", "voc_full", "labelme", "geojson", "gt_label", "seg_package"}
FLOOR_OF = {"voc_object": "instance", "voc_full": None, "seg_package": None, "geojson": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--rss-images", type=int, default=5000, help="second size for the RSS check (0: skip)")
    parser.add_argument("--formats", nargs="*", default=list(OURS))
    parser.add_argument("--no-fastlabel", action="store_true")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per measurement; the fastest counts")
    parser.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["ours", "floor", "fastlabel"], help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        runner = {"ours": run_ours, "floor": run_floor, "fastlabel": run_fastlabel}[args.child]
        print(json.dumps(runner(args.name, args.images, stream=args.stream, repeat=args.repeat)))
        return
    bench_python = None if args.no_fastlabel else str(ensure_bench_venv())
    n = args.images
    rows = []
    for name in args.formats:
        row = {"format": name, "ours": child(sys.executable, "ours", name, n, repeat=args.repeat)}
        floor = FLOOR_OF.get(name, name)
        if floor:
            row["floor"] = child(sys.executable, "floor", floor, n, repeat=args.repeat)
        if bench_python and name in FASTLABEL:
            row["fastlabel"] = child(bench_python, "fastlabel", name, n, repeat=args.repeat)
        if args.rss_images and name in RSS_FORMATS:
            row["rss_small"] = child(sys.executable, "ours", name, n, stream=True)
            row["rss_big"] = child(sys.executable, "ours", name, args.rss_images, stream=True)
        rows.append(row)
        print(format_row(row, args.rss_images), flush=True)
    print()
    print(table(rows, n, args.rss_images))
    if args.json:
        Path(args.json).write_text(json.dumps({"images": n, "rss_images": args.rss_images, "rows": rows}, indent=2))


def _s(result: dict | None) -> str:
    if not result:
        return "—"
    return "error: " + result["error"] if "error" in result else f"{result['seconds']:.2f} s"


def format_row(row: dict, big: int) -> str:
    return (
        f"{row['format']}: ours {_s(row['ours'])}, floor {_s(row.get('floor'))}, fastlabel {_s(row.get('fastlabel'))}"
    )


def table(rows: list[dict], n: int, big: int) -> str:
    header = (
        f"| format | ours ({n}) | FastLabel | ours faster by | floor | ours / floor | "
        f"peak RSS {n} | peak RSS {big} | RSS growth |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        ours, fl, floor = row["ours"], row.get("fastlabel"), row.get("floor")
        small, bigrun = row.get("rss_small"), row.get("rss_big")
        speedup = f"{fl['seconds'] / ours['seconds']:.1f}×" if fl and "error" not in fl and "error" not in ours else "—"
        vs_floor = (
            f"{ours['seconds'] / floor['seconds']:.2f}×"
            if floor and "error" not in floor and "error" not in ours
            else "—"
        )
        ok = small and bigrun and "error" not in small and "error" not in bigrun
        rss = f"{small['max_rss_mb']:.0f} MB" if ok else "—"
        rss_big = f"{bigrun['max_rss_mb']:.0f} MB" if ok else "—"
        growth = f"{(bigrun['max_rss_mb'] / small['max_rss_mb'] - 1) * 100:+.0f}%" if ok else "—"
        cells = [row["format"], _s(ours), _s(fl), speedup, _s(floor), vs_floor, rss, rss_big, growth]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
