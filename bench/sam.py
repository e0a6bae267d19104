"""Benchmark: SAM 2.1 through Annotator vs the raw sam2 predictors, same weights, same pictures.

    .venv/bin/python bench/sam.py                          # tiny config, CPU, random weights
    .venv/bin/python bench/sam.py --device cuda            # the same on a GPU (bf16 autocast)
    .venv/bin/python bench/sam.py --checkpoint sam2.1_hiera_large.pt --config large --device cuda

What it measures
----------------
1. **Click → mask** on one ``--width`` x ``--height`` picture (default 1024x768), a positive
   point, three candidate masks:

   * raw: ``SAM2ImagePredictor.set_image`` then ``predict`` (masks as numpy arrays);
   * service: ``ml.services.sam.compute_masks`` — frame read through media, embedding LRU,
     the same predictor, then polygons (with holes) + COCO RLE for every mask;
   * API: ``POST /api/v1/sam/masks`` through Django/DRF (token auth, tenancy, validation),
     the ``ml`` queue (Dramatiq, an in-process worker), and the reply channel back.

   "first click" includes computing the embedding; "next clicks" hit the embedding cache
   (the interactive case the ≤ 10 % overhead target is about).
2. **Propagation** of one object over ``--frames`` frames of ``--video-width`` x
   ``--video-height`` (default 8 frames of 320x240):

   * raw: ``build_sam2_video_predictor`` + ``init_state`` on a folder of JPEG frames,
     ``add_new_mask`` on frame 0, ``propagate_in_video``;
   * ours: ``ml.services.propagation`` (frames decoded by media in chunks, each frame's masks
     traced and written as annotations of the chain, progress events, the run record).

   Seconds per propagated frame: all work after the model is loaded, divided by frames.

Environment: a throwaway SQLite database and media folder (nothing else is needed, so the
script runs unchanged on a bare GPU machine); the reply channel is in-process unless
``--redis`` gives a Redis URL (then Redis carries the broker, the replies and the cache, as in
production). Without ``--checkpoint`` both sides load the same randomly initialised
checkpoint (seed 0): timings do not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ... (default cpu)")
    parser.add_argument("--config", default="tiny", help="tiny, small, base_plus, large or a config path")
    parser.add_argument("--checkpoint", default=None, help="a SAM 2.1 checkpoint (default: random weights)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--clicks", type=int, default=10, help="repetitions of the cached click")
    parser.add_argument("--first-clicks", type=int, default=3, help="repetitions of the first click")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--video-width", type=int, default=320)
    parser.add_argument("--video-height", type=int, default=240)
    parser.add_argument(
        "--single-mask", action="store_true", help="multimask_output=False (SAM's advice for refining clicks)"
    )
    parser.add_argument("--no-polygons", action="store_true", help="include_polygons=False (answers carry RLE only)")
    parser.add_argument("--redis", default=None, help="Redis URL for broker, replies and cache")
    parser.add_argument("--skip-video", action="store_true")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    return parser.parse_args()


def configure(args: argparse.Namespace, workdir: Path) -> None:
    os.environ["ANNOTATOR_DATA_DIR"] = str(workdir / "data")
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    os.environ["SECRET_KEY"] = "bench-secret-key-not-for-production-0123456789"  # noqa: S105
    os.environ["DEBUG"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["ML_DEVICE"] = args.device
    os.environ["SAM2_CONFIG"] = args.config
    os.environ["ML_TORCH_THREADS"] = str(args.threads)
    os.environ["ML_INTERACTIVE_TIMEOUT_SECONDS"] = "600"
    os.environ.pop("DATABASE_URL", None)
    if args.redis:
        os.environ["REDIS_URL"] = args.redis
        os.environ["DRAMATIQ_BROKER_URL"] = args.redis
        os.environ["DRAMATIQ_NAMESPACE"] = f"bench-sam-{os.getpid()}"
        os.environ["CACHE_KEY_PREFIX"] = f"bench-sam-{os.getpid()}"
    else:
        os.environ.pop("REDIS_URL", None)
        os.environ["DRAMATIQ_BROKER_URL"] = "stub://"


def random_checkpoint(config: str, path: Path) -> str:
    import torch
    from sam2.build_sam import build_sam2

    torch.manual_seed(0)
    model = build_sam2(config, None, device="cpu", apply_postprocessing=False)
    torch.save({"model": model.state_dict()}, path)
    return str(path)


def timed(fn, repeat: int) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds of the whole process) per call. On a shared CPU the wall
    time swings with other people's load; the process's CPU time measures the work itself."""
    out = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - wall, time.process_time() - cpu))
    return out


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ms(values: list[tuple[float, float]]) -> dict:
    return {
        "median_ms": round(statistics.median(v[0] for v in values) * 1000, 2),
        "min_ms": round(min(v[0] for v in values) * 1000, 2),
        "median_cpu_ms": round(statistics.median(v[1] for v in values) * 1000, 2),
        "n": len(values),
    }


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-sam-"))
    configure(args, workdir)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from ml.sam_config import config_name

    config = config_name(args.config)
    checkpoint = args.checkpoint or random_checkpoint(config, workdir / "random-sam2.1.pt")
    os.environ["SAM2_CHECKPOINT"] = checkpoint

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    world = build_world()
    device = torch.device(args.device)
    results: dict = {
        "device": args.device,
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "config": config,
        "checkpoint": "random (seed 0)" if not args.checkpoint else args.checkpoint,
        "torch_threads": args.threads,
        "reply_channel": "redis" if args.redis else "in-process",
    }
    picture = np.ascontiguousarray(synthetic_picture(args.width, args.height, seed=1))
    # All media is imported before the in-process worker starts (it would import it again).
    click_tasks = [
        import_pictures(
            world, world["image"], [picture if i == 0 else synthetic_picture(args.width, args.height, i + 1)]
        )
        for i in range(2)
    ]
    clip = None if args.skip_video else video_clip(args)
    clip_task = None if clip is None else import_pictures(world, world["video"], clip[0], folder="clip")
    import dramatiq

    dramatiq.get_broker().flush_all()
    results["click"] = bench_click(args, world, picture, click_tasks, config, checkpoint, device)
    if clip is not None:
        results["propagation"] = bench_propagation(args, world, clip, clip_task, config, checkpoint, device)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def synthetic_picture(width: int, height: int, seed: int):
    from media.synthetic import street_scene

    return street_scene(width, height, seed)


def build_world() -> dict:
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from accounts.services import create_api_token
    from organizations.services import create_organization
    from projects.services.labels import create_label
    from projects.services.projects import create_project

    owner = User.objects.create(username=f"bench-{time.time_ns()}", password=make_password(None))
    organization = create_organization(name=f"Bench {owner.username}", owner=owner)
    _, token = create_api_token(user=owner, organization=organization, name="bench")
    image_project = create_project(actor=owner, organization=organization, name="click", kind="image")
    video_project = create_project(actor=owner, organization=organization, name="clip", kind="sequential_image")
    create_label(actor=owner, project=video_project, data={"name": "object", "color": "#ff0000"})
    return {"owner": owner, "org": organization, "token": token, "image": image_project, "video": video_project}


def import_pictures(world: dict, project, pictures: list, folder: str = ""):
    """Through media's own import (what an upload does), without the queue."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from media.actors import run_import
    from media.services.imports import start_upload_import
    from tasks.models import Task

    files, paths = [], []
    for i, picture in enumerate(pictures):
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="PNG")
        files.append(SimpleUploadedFile(f"{i:05d}.png", buffer.getvalue(), content_type="image/png"))
        paths.append(f"{folder}/{i:05d}.png" if len(pictures) > 1 else f"{i:05d}.png")
    before = set(Task.objects.filter(project=project).values_list("pk", flat=True))
    job = start_upload_import(actor=world["owner"], project=project, uploaded=files, paths=paths)
    run_import.fn(job.pk)
    return Task.objects.filter(project=project).exclude(pk__in=before).get()


class RawImage:
    """The raw sam2 image predictor on the same weights: ``set_image`` then ``predict``."""

    def __init__(self, config: str, checkpoint: str, device, picture, point, multimask: bool = True):
        import numpy as np
        import torch
        from sam2.build_sam import build_sam2
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        self.device, self.picture, self.multimask = device, picture, multimask
        self.coords, self.labels = np.asarray(point, np.float32), np.asarray([1])
        self.autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda" else _null
        self.predictor = SAM2ImagePredictor(build_sam2(config, checkpoint, device=str(device)))

    def set_image(self) -> None:
        with self.autocast():
            self.predictor.set_image(self.picture)
        sync(self.device)

    def predict(self) -> None:
        with self.autocast():
            self.predictor.predict(point_coords=self.coords, point_labels=self.labels, multimask_output=self.multimask)
        sync(self.device)

    def first_click(self) -> None:
        self.set_image()
        self.predict()


def bench_click(args, world: dict, picture, tasks: list, config: str, checkpoint: str, device) -> dict:
    """Raw, service and API measured in turn, round after round, so that all three see the
    same machine (a shared CPU's load changes from second to second)."""
    from rest_framework.test import APIClient

    from annotator.broker import start_in_process_worker
    from ml.engine.sam import get_engine
    from ml.services.sam import compute_masks

    point = [[args.width * 0.4, args.height * 0.6]]
    multimask = not args.single_mask
    raw = RawImage(config, checkpoint, device, picture, point, multimask)
    engine = get_engine()
    start_in_process_worker(2)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world['token']}")
    breakdown: list[dict] = []

    def service(task, keep: bool = False):
        result = compute_masks(
            task=task,
            frame_index=0,
            points=point,
            point_labels=[1],
            multimask_output=multimask,
            include_polygons=not args.no_polygons,
        )
        sync(device)
        if keep:
            breakdown.append(result["timing"])

    def api(task):
        body = {
            "include_polygons": not args.no_polygons,
            "task_id": task.pk,
            "frame_index": 0,
            "points": point,
            "point_labels": [1],
            "multimask_output": multimask,
        }
        response = client.post("/api/v1/sam/masks", body, format="json")
        assert response.status_code == 200, response.content[:500]

    # warm-up: kernels, allocator, the worker thread's predictor
    raw.first_click()
    service(tasks[-1])
    api(tasks[-1])

    times: dict[str, list[tuple[float, float]]] = {k: [] for k in ("raw_first", "service_first", "api_first")}
    for _ in range(args.first_clicks):  # tasks[0] holds the same picture as the raw run
        times["raw_first"] += timed(raw.first_click, 1)
        engine.embeddings.clear()
        times["service_first"] += timed(lambda: service(tasks[0]), 1)
        engine.embeddings.clear()
        times["api_first"] += timed(lambda: api(tasks[0]), 1)
    for key in ("raw_next", "service_next", "api_next"):
        times[key] = []
    for _ in range(args.clicks):
        times["raw_next"] += timed(raw.predict, 1)
        times["service_next"] += timed(lambda: service(tasks[0], keep=True), 1)
        times["api_next"] += timed(lambda: api(tasks[0]), 1)

    def median(key, which=0):
        return statistics.median(v[which] for v in times[key])

    out = {"picture": f"{args.width}x{args.height}"}
    for key, values in times.items():
        out[key + "_click"] = ms(values)
    out["service_next_breakdown_ms"] = {
        key: round(statistics.median(t[key] for t in breakdown), 2)
        for key in ("embedding_ms", "decoder_ms", "encode_ms", "worker_ms")
    }
    out["embedding_cache"] = engine.embeddings.stats()
    out["masks_per_click"] = 3 if multimask else 1
    out["polygons"] = not args.no_polygons
    out["encode_clean_masks_ms"] = clean_mask_encoding_ms(
        args.width, args.height, out["masks_per_click"], polygons=out["polygons"]
    )
    out["api_plumbing_ms"] = api_plumbing_ms(args, tasks[0], point, api, out["masks_per_click"])
    for kind in ("next", "first"):
        for side in ("service", "api"):
            for which, suffix in ((0, ""), (1, "_cpu")):
                ratio = median(f"{side}_{kind}", which) / median(f"raw_{kind}", which)
                out[f"overhead_{kind}_click_{side}{suffix}_pct"] = round((ratio - 1) * 100, 1)
    return out


def api_plumbing_ms(args, task, point, api, count: int) -> dict:
    """The API's own cost for one click: HTTP handling (DRF, token, tenancy, validation), the
    queue, the reply channel and JSON, around a worker answer prepared in advance (three
    clean masks; the model is not run), median of ``--clicks`` round trips."""
    import ml.services.sam as sam_service

    prepared = sam_service.compute_masks(task=task, frame_index=0, points=point, point_labels=[1])
    clean = clean_masks(args.width, args.height)[:count]
    with_polygons = not args.no_polygons
    prepared["masks"] = [{"score": 0.9, **m} for m in sam_service.encode_masks(clean, include_polygons=with_polygons)]
    real = sam_service.masks_for_picture
    sam_service.masks_for_picture = lambda *a, **kw: prepared
    try:
        values = timed(lambda: api(task), args.clicks)
    finally:
        sam_service.masks_for_picture = real
    return {"median_ms": round(statistics.median(v[0] for v in values) * 1000, 2)}


def clean_masks(width: int, height: int) -> list:
    import cv2
    import numpy as np

    masks = []
    for scale in (0.15, 0.2, 0.25):
        mask = np.zeros((height, width), np.uint8)
        axes = (int(width * scale), int(height * scale))
        cv2.ellipse(mask, (width // 2, height // 2), axes, 15, 0, 360, 1, -1)
        cv2.circle(mask, (width // 2, height // 2), max(2, axes[1] // 4), 0, -1)  # a hole
        masks.append(mask.astype(bool))
    return masks


def clean_mask_encoding_ms(width: int, height: int, count: int, polygons: bool = True) -> float:
    """Polygons + RLE for three object-like masks (what a trained checkpoint returns; random
    weights return salt-and-pepper masks with thousands of holes, far costlier to trace)."""
    from ml.services.sam import encode_masks

    masks = clean_masks(width, height)[:count]
    values = timed(lambda: encode_masks(masks, include_polygons=polygons), 5)
    return round(statistics.median(v[0] for v in values) * 1000, 2)


def video_clip(args) -> tuple[list, object]:
    """``--frames`` pictures of a panning scene and the object's mask on frame 0."""
    import numpy as np

    w, h = args.video_width, args.video_height
    base = synthetic_picture(w, h, seed=100)
    frames = [np.ascontiguousarray(np.roll(base, 3 * i, axis=1)) for i in range(args.frames)]
    mask = np.zeros((h, w), dtype=bool)
    mask[h // 4 : h // 2, w // 4 : w // 2] = True
    return frames, mask


def bench_propagation(args, world: dict, clip, task, config: str, checkpoint: str, device) -> dict:
    import numpy as np
    import torch
    from PIL import Image
    from sam2.build_sam import build_sam2_video_predictor

    from annotations.geometry import mask_to_polygons
    from annotations.services import write_annotations
    from jobs.models import Job
    from ml.models import PropagationRun
    from ml.services.propagation import start_propagation

    frames, mask = clip

    # --- raw, before and after ours (the mean of both faces the same machine load) -----------
    folder = Path(tempfile.mkdtemp(prefix="bench-sam-frames-"))
    for i, picture in enumerate(frames):
        Image.fromarray(picture).save(folder / f"{i:05d}.jpg", quality=95)
    predictor = build_sam2_video_predictor(config, checkpoint, device=str(device))
    predictor.fill_hole_area = 0
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda" else _null

    def raw_run() -> tuple[float, float, list[float]]:
        started, cpu = time.perf_counter(), time.process_time()
        with autocast():
            state = predictor.init_state(str(folder))
            predictor.add_new_mask(state, 0, 1, mask)
            per_frame, last = [], time.perf_counter()
            for frame_index, _, masks in predictor.propagate_in_video(state):
                np.asarray((masks > 0).cpu())
                sync(device)
                now = time.perf_counter()
                if frame_index:
                    per_frame.append(now - last)
                last = now
        return time.perf_counter() - started, time.process_time() - cpu, per_frame

    raw_before, raw_cpu_before, per_frame = raw_run()

    # --- ours: API-equivalent start, the ml queue, the worker -------------------------------
    shape = {"type": "mask", "class_name": "object", "frame_index": 0, "object_id": "1"}
    shape["geometry"] = {"polygons": mask_to_polygons(mask)}
    write_annotations(task, [shape], source="manual", actor=world["owner"])
    started, cpu = time.perf_counter(), time.process_time()
    run = start_propagation(actor=world["owner"], task=task, reference_frame=0, object_ids=["1"])
    while not Job.objects.get(pk=run.job_id).is_finished:
        time.sleep(0.05)
    ours_total, ours_cpu = time.perf_counter() - started, time.process_time() - cpu
    run = PropagationRun.objects.get(pk=run.pk)
    job = Job.objects.get(pk=run.job_id)
    assert job.status == "succeeded", (job.status, job.message)
    raw_after, raw_cpu_after, more = raw_run()
    per_frame += more
    raw_total = (raw_before + raw_after) / 2
    raw_cpu = (raw_cpu_before + raw_cpu_after) / 2
    count = args.frames - 1
    return {
        "frames": f"{args.frames} x {frames[0].shape[1]}x{frames[0].shape[0]}",
        "raw_seconds_per_frame": round(raw_total / count, 3),
        "raw_runs_seconds": [round(raw_before, 2), round(raw_after, 2)],
        "raw_steady_seconds_per_frame": round(statistics.median(per_frame), 3),
        "ours_seconds_per_frame": round(ours_total / count, 3),
        "ours_steady_seconds_per_frame": round(statistics.median(run.frame_seconds), 3),
        "ours_annotations_written": run.annotations_written,
        "overhead_pct": round((ours_total / raw_total - 1) * 100, 1),
        "raw_cpu_seconds_per_frame": round(raw_cpu / count, 3),
        "ours_cpu_seconds_per_frame": round(ours_cpu / count, 3),
        "overhead_cpu_pct": round((ours_cpu / raw_cpu - 1) * 100, 1),
    }


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def report(results: dict) -> None:
    print(f"SAM 2.1 bench — {results['config']} on {results['device']} {results['gpu'] or ''}".rstrip())
    print(f"  weights: {results['checkpoint']}; torch threads {results['torch_threads']}", end="")
    print(f"; replies {results['reply_channel']}")
    click = results["click"]
    shapes = "RLE + polygons" if click["polygons"] else "RLE only"
    print(f"\nclick → mask, {click['picture']}, {click['masks_per_click']} mask(s), {shapes} (median ms):")
    print(f"  {'':12}{'first click':>14}{'(cpu)':>12}{'next clicks':>14}{'(cpu)':>12}")
    for name in ("raw", "service", "api"):
        first, nxt = click[f"{name}_first_click"], click[f"{name}_next_click"]
        row = (first["median_ms"], first["median_cpu_ms"], nxt["median_ms"], nxt["median_cpu_ms"])
        print(f"  {name:12}{row[0]:>14}{row[1]:>12}{row[2]:>14}{row[3]:>12}")
    print(
        f"  overhead vs raw: next click service {click['overhead_next_click_service_pct']}%, "
        f"API {click['overhead_next_click_api_pct']}%; first click service "
        f"{click['overhead_first_click_service_pct']}%, API {click['overhead_first_click_api_pct']}%"
    )
    print(
        f"  overhead in CPU time: next click service {click['overhead_next_click_service_cpu_pct']}%, "
        f"API {click['overhead_next_click_api_cpu_pct']}%; first click service "
        f"{click['overhead_first_click_service_cpu_pct']}%, API {click['overhead_first_click_api_cpu_pct']}%"
    )
    print(f"  service next-click breakdown (ms): {click['service_next_breakdown_ms']}")
    count = click["masks_per_click"]
    print(f"  polygons + RLE of {count} clean object mask(s) at this size: {click['encode_clean_masks_ms']} ms")
    print(f"  API plumbing around a prepared {count}-clean-mask answer: {click['api_plumbing_ms']['median_ms']} ms")
    raw_next = click["raw_next_click"]["median_ms"]
    projected = raw_next + click["encode_clean_masks_ms"] + click["api_plumbing_ms"]["median_ms"]
    print(
        f"  projected next click with object-like masks: service {round(raw_next + click['encode_clean_masks_ms'], 1)}"
        f" ms ({round(click['encode_clean_masks_ms'] / raw_next * 100, 1)}%), API {round(projected, 1)} ms"
        f" ({round((projected / raw_next - 1) * 100, 1)}%)"
    )
    if "propagation" in results:
        prop = results["propagation"]
        print(f"\npropagation, {prop['frames']} (seconds per propagated frame):")
        print(f"  raw video predictor: {prop['raw_seconds_per_frame']} (steady {prop['raw_steady_seconds_per_frame']})")
        print(
            f"  ours (service+job):  {prop['ours_seconds_per_frame']} (steady {prop['ours_steady_seconds_per_frame']})"
        )
        print(f"  overhead: {prop['overhead_pct']}%; annotations written: {prop['ours_annotations_written']}")
        print(
            f"  CPU seconds per frame: raw {prop['raw_cpu_seconds_per_frame']}, ours "
            f"{prop['ours_cpu_seconds_per_frame']} (overhead {prop['overhead_cpu_pct']}%)"
        )


if __name__ == "__main__":
    main()
