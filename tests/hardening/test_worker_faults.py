"""Worker faults: a Dramatiq worker process SIGKILLed in the middle of a media import, an
export and a SAM 2.1 propagation, and a fresh worker that takes the job over.

Nothing here is a test-only path. The message reaches a real ``dramatiq annotator.worker``
process through the Redis broker; the worker is killed the way the OOM killer or a lost
machine kills it (SIGKILL, no clean-up); the message it had taken stays in its
acknowledgement set, and a new worker gets it back through the broker's own redelivery:
once the dead worker's heartbeat is older than ``DRAMATIQ_HEARTBEAT_TIMEOUT_MS``, the next
maintenance of the queue moves it back (``DRAMATIQ_MAINTENANCE_CHANCE``, here on every
broker command so the wait is the heartbeat timeout, not luck). The job must then finish
exactly once: no second task, asset, frame, annotation or archive, progress up to 100 %,
and one ``succeeded`` — checked in the rows and in the job's live events.
"""

from __future__ import annotations

import asyncio
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.core.files.storage import default_storage

from jobs.events import job_group
from jobs.models import FINISHED, Job
from tests.hardening.conftest import shared_redis_url
from tests.hardening.stack import DramatiqWorker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HEARTBEAT_TIMEOUT_MS = 8_000  # production keeps Dramatiq's 60 s
FINISH_TIMEOUT = 180  # seconds for the new worker to finish the job


# --- the job's live events --------------------------------------------------------------------
class JobEvents:
    """Every event the job publishes on the Channels layer (what the pages watching it see),
    collected by a thread of this process while the workers run."""

    def __init__(self, job: Job) -> None:
        self.group = job_group(job.organization_id, job.pk)
        self.events: list[dict] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(self.group, channel)
        self._ready.set()
        try:
            while not self._stop.is_set():
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
                except TimeoutError:
                    continue
                if message["event"].get("type") == "job":
                    self.events.append({**message["event"], "received_at": time.monotonic()})
        finally:
            await layer.group_discard(self.group, channel)

    def __enter__(self) -> JobEvents:
        self._thread.start()
        assert self._ready.wait(30), "could not join the job's channel group"
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(1.0)  # the last event is published just after the commit that finished the job
        self._stop.set()
        self._thread.join(timeout=10)

    def check_finished_once(self, killed_at: float, total: int, *, resumes: bool) -> list[int]:
        """Before the kill: running, short of the total. After it: the redelivered attempt
        starts (``running``), its progress never goes back (``resumes``: from where the dead
        worker stopped; otherwise from 0, as a job that starts over), reaches the total, and
        the job succeeds — one ``succeeded``, the last event, nothing failed or cancelled.
        Returns the ``done`` values of the attempt after the kill."""
        # What the dead worker published is in well before the message can come back.
        split = killed_at + HEARTBEAT_TIMEOUT_MS / 2000
        before = [e for e in self.events if e["received_at"] < split]
        after = [e for e in self.events if e["received_at"] >= split]
        statuses = [e["status"] for e in self.events]
        assert before and {e["status"] for e in before} == {"running"}, statuses
        assert max(e["done"] for e in before) < total
        assert statuses.count("succeeded") == 1 and statuses[-1] == "succeeded", statuses
        assert not {"failed", "cancelled"} & set(statuses), statuses
        assert after[0]["status"] == "running", after[0]  # start_job: still the old attempt's figure
        done = [e["done"] for e in after[1:]]
        assert done == sorted(done), f"progress went back during the second attempt: {done}"
        assert done[-1] == total and after[-1]["total"] == total, after[-1]
        if resumes:
            assert done[0] >= max(e["done"] for e in before), (before[-1], after[0])
        else:
            assert 0 in done, done
        return done


# --- a worker to kill, a worker to finish -----------------------------------------------------
@dataclass
class FaultStack:
    """Workers on this test's database, storage and broker namespace, and a broker client
    that sends messages there as the web process would."""

    env: dict[str, str]
    logs: Path
    start: object
    namespace: str
    broker: object
    redis: redis.Redis
    workers: list[DramatiqWorker] = field(default_factory=list)

    def heartbeats(self) -> set[str]:
        return {member.decode() for member in self.redis.zrange(f"{self.namespace}:__heartbeats__", 0, -1)}

    def worker(self, queues: list[str]) -> tuple[DramatiqWorker, str]:
        """Start a worker process and wait until it polls the broker; returns it and its
        broker id (the id its heartbeats and acknowledgement sets carry)."""
        known = self.heartbeats()
        name = f"worker-{len(self.workers) + 1}"
        worker = self.start(DramatiqWorker(env=self.env, log_dir=self.logs, queues=queues, threads=2, name=name))
        self.workers.append(worker)

        def new_id() -> str | None:
            assert worker.alive(), worker.log_tail()
            fresh = self.heartbeats() - known
            return fresh.pop() if fresh else None

        return worker, wait_until(new_id, timeout=120, what=f"{name} to poll the broker")

    def send(self, actor, *args) -> None:
        """Enqueue the message the service queued on commit (this process's broker is the
        test settings' stub broker, where nothing consumes it) on the workers' Redis broker."""
        self.broker.enqueue(actor.message(*args))

    def taken_by(self, broker_id: str, queue: str) -> int:
        """Messages of ``queue`` the worker ``broker_id`` has fetched and not acknowledged."""
        return self.redis.scard(f"{self.namespace}:__acks__.{broker_id}.{queue}")

    def queued(self, queue: str) -> int:
        return self.redis.llen(f"{self.namespace}:{queue}")

    def dead_lettered(self, queue: str) -> int:
        return self.redis.zcard(f"{self.namespace}:{queue}.XQ")

    def log_tails(self) -> str:
        return "\n".join(f"--- {w.name}:\n{w.log_tail(3000)}" for w in self.workers)


@pytest.fixture
def faults(stack_env, start, tmp_path):
    from dramatiq.brokers.redis import RedisBroker

    from annotator.broker import QUEUES

    # Maintenance on every broker command: the wait for redelivery is the heartbeat timeout.
    env = stack_env(DRAMATIQ_HEARTBEAT_TIMEOUT_MS=HEARTBEAT_TIMEOUT_MS, DRAMATIQ_MAINTENANCE_CHANCE=1_000_000)
    namespace = env["DRAMATIQ_NAMESPACE"]
    broker = RedisBroker(url=shared_redis_url(), namespace=namespace)
    for queue in QUEUES:
        broker.declare_queue(queue)
    client = redis.Redis.from_url(shared_redis_url())
    stack = FaultStack(env=env, logs=tmp_path / "logs", start=start, namespace=namespace, broker=broker, redis=client)
    yield stack
    for worker in stack.workers:
        worker.stop()
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)
    broker.close()
    client.close()


def kill_mid_job(
    stack: FaultStack, worker: DramatiqWorker, worker_id: str, job: Job, queue: str, started, *, oom: bool
) -> dict:
    """Wait until the job is under way (``started(job)``), then SIGKILL the worker: its
    worker process only, as the OOM killer does (``oom``; the main process then exits), or
    its whole process group, as when the machine or container goes. Checks that the job is
    left running, its message held by the dead worker."""
    wait_until(
        lambda: started(Job.objects.get(pk=job.pk)) or Job.objects.get(pk=job.pk).is_finished,
        timeout=FINISH_TIMEOUT,
        interval=0.05,
        what=f"job {job.pk} to get under way\n{stack.log_tails()}",
    )
    job.refresh_from_db()
    assert not job.is_finished, f"the job finished before the kill: make it longer\n{stack.log_tails()}"
    if oom:
        assert worker.kill_worker_processes()
        killed_at = time.monotonic()
        worker.popen.wait(timeout=30)  # the main process follows its dead worker process
    else:
        worker.kill()
        killed_at = time.monotonic()
    job.refresh_from_db()
    assert job.status == "running" and job.attempts == 1, (job.status, job.attempts)
    assert stack.taken_by(worker_id, queue) == 1 and stack.queued(queue) == 0
    return {"killed_at": killed_at, "done_at_kill": job.progress_done, "total_at_kill": job.progress_total}


def finish_after_restart(stack: FaultStack, job: Job, queues: list[str], queue: str, killed: dict) -> dict:
    """Start a new worker; it gets the message back once the dead worker's heartbeat is
    stale, and the job must finish within FINISH_TIMEOUT seconds."""
    _, new_id = stack.worker(queues)
    wait_until(
        lambda: Job.objects.get(pk=job.pk).attempts >= 2,
        timeout=FINISH_TIMEOUT,
        interval=0.1,
        what=f"job {job.pk} to be redelivered\n{stack.log_tails()}",
    )
    redelivered_after = time.monotonic() - killed["killed_at"]
    wait_until(
        lambda: Job.objects.get(pk=job.pk).status in FINISHED,
        timeout=FINISH_TIMEOUT,
        interval=0.2,
        what=f"job {job.pk} to finish\n{stack.log_tails()}",
    )
    finished_after = time.monotonic() - killed["killed_at"]
    job.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.message, job.errors, stack.log_tails())
    assert job.attempts == 2, job.attempts
    assert job.progress_total > 0 and job.progress_done == job.progress_total
    # The message is acknowledged: not queued, not held by anyone, not dead-lettered.
    wait_until(lambda: stack.taken_by(new_id, queue) == 0, timeout=10, what="the message to be acknowledged")
    assert stack.queued(queue) == 0 and stack.dead_lettered(queue) == 0
    return {**killed, "redelivered_after_s": round(redelivered_after, 1), "finished_after_s": round(finished_after, 1)}


def report(name: str, figures: dict) -> None:
    shown = {k: v for k, v in figures.items() if k != "killed_at"}
    print(f"\n{name}: {shown}")


# --- 1. media import ---------------------------------------------------------------------------
IMPORT_IMAGES = 160


def test_a_worker_killed_mid_import_leaves_no_duplicate_task_asset_or_frame(faults, world_a, make_project):
    """The OOM killer takes the media worker process after a fifth of 160 images became
    tasks; the redelivered import skips the files already decided and ends with 160 tasks,
    assets, frames, thumbnails and originals, progress resuming where it stopped."""
    from media import synthetic
    from media.actors import run_import
    from media.models import Asset, Frame, ImportFile
    from media.services.imports import IncomingFile, Source, start_import
    from tasks.models import Task

    project = make_project(world_a, "image")
    files = []
    for n in range(IMPORT_IMAGES):
        data = synthetic.image_bytes(320, 240, seed=n)
        files.append(IncomingFile(name=f"street-{n:03d}.png", content=data, size=len(data)))
    job = start_import(actor=world_a.owner, project=project, files=files, source=Source.UPLOAD)
    queues = ["media"]
    worker, worker_id = faults.worker(queues)

    with JobEvents(job) as events:
        faults.send(run_import, job.pk)
        killed = kill_mid_job(
            faults, worker, worker_id, job, "media", started=lambda j: j.progress_done >= IMPORT_IMAGES // 5, oom=True
        )
        tasks_at_kill = Task.objects.filter(project=project).count()
        assert 0 < tasks_at_kill < IMPORT_IMAGES
        figures = finish_after_restart(faults, job, queues, "media", killed)
    events.check_finished_once(killed["killed_at"], IMPORT_IMAGES, resumes=True)

    tasks = Task.objects.filter(project=project)
    assert tasks.count() == IMPORT_IMAGES
    assert sorted(tasks.values_list("name", flat=True)) == [f"street-{n:03d}.png" for n in range(IMPORT_IMAGES)]
    assets = Asset.objects.filter(project=project)
    assert assets.count() == IMPORT_IMAGES and assets.values("content_hash").distinct().count() == IMPORT_IMAGES
    assert Frame.objects.filter(task__project=project).count() == IMPORT_IMAGES
    assert all(task.frames.count() == 1 for task in tasks.prefetch_related("frames"))
    outcomes = list(ImportFile.objects.filter(job=job).values_list("outcome", flat=True))
    assert outcomes == ["accepted"] * IMPORT_IMAGES
    job.refresh_from_db()
    assert (job.result["accepted"], job.result["tasks"], job.result["refused"], job.result["duplicate"]) == (
        IMPORT_IMAGES,
        IMPORT_IMAGES,
        0,
        0,
    )
    thumbnails = default_storage.listdir(f"{project.storage_prefix}/thumbnails")[1]
    assert len(thumbnails) == IMPORT_IMAGES  # rewritten in place on the retry, never a second copy
    assert len(default_storage.listdir(f"{project.storage_prefix}/originals/{job.pk}")[1]) == IMPORT_IMAGES
    assert Job.objects.get(pk=job.pk).attempts == 2  # and no third run since
    report("import", {**figures, "tasks_at_kill": tasks_at_kill, "tasks_after": tasks.count()})


# --- 2. export -----------------------------------------------------------------------------------
# The segmentation-results package: five files per frame (the original, a mask per class, the
# GT, Pro and Mix labels) and two JSON files; rendering the labels makes it a long export.
EXPORT_VIDEOS, EXPORT_FRAMES = 2, 120


def expected_segmentation_entries(coco: dict) -> set[str]:
    """The archive's files, from the frames its annotations_coco.json lists (one car box each)."""
    names = {"annotations_coco.json", "class_map.json"}
    for image in coco["images"]:
        stem = Path(image["file_name"]).stem
        names |= {
            f"original_frames/{stem}.jpg",
            f"separate_masks/{stem}_separate/{stem}_car_maskid1.png",
            f"GT_label/{stem}.png",
            f"Pro_label/{stem}.png",
            f"Mix_label/{stem}.jpg",
        }
    return names


def test_a_worker_killed_mid_export_never_marks_an_incomplete_archive_done(faults, world_a, make_project, tmp_path):
    """The export worker's machine goes (its process group SIGKILLed) while the archive is
    half written: nothing is marked done and nothing is stored; the redelivered export starts
    over and stores one archive with every entry once (CRCs checked), marked done once."""
    import json

    from exports.actors import run_export_job
    from exports.services.exports import request_export
    from media import synthetic
    from media.services.imports import Source, start_import
    from tasks.models import Task
    from tests.exports.conftest import LABELS, annotate, box
    from tests.media.conftest import files_of, run_import_now

    project = make_project(world_a, kind="video", labels=LABELS)
    videos = [
        (f"drive-{n}.mp4", synthetic.video_bytes(frames=EXPORT_FRAMES, size=(320, 240), fps=25 + n))
        for n in range(EXPORT_VIDEOS)
    ]
    imported = start_import(actor=world_a.owner, project=project, files=files_of(videos), source=Source.UPLOAD)
    assert run_import_now(imported.pk).result["accepted"] == EXPORT_VIDEOS
    frames = set()
    for task in Task.objects.filter(project=project):
        assert task.frames.count() == EXPORT_FRAMES
        annotate(task, [box(4 + i % 50, 8, 40, 30, "car", frame_index=i) for i in range(EXPORT_FRAMES)])
        frames |= {(task.pk, i) for i in range(EXPORT_FRAMES)}
    total = len(frames)
    export = request_export(actor=world_a.owner, project=project, format="segmentation_results")
    job = export.job
    temp = tmp_path / "export-temp"
    temp.mkdir()
    faults.env["EXPORT_TEMP_DIR"] = str(temp)
    queues = ["exports"]
    worker, worker_id = faults.worker(queues)
    archives = f"{project.storage_prefix}/exports/{export.pk}"

    def stored_archives() -> list[str]:
        return default_storage.listdir(archives)[1] if default_storage.exists(archives) else []

    with JobEvents(job) as events:
        faults.send(run_export_job, export.pk)
        killed = kill_mid_job(
            faults, worker, worker_id, job, "exports", started=lambda j: j.progress_done > 0, oom=False
        )
        export.refresh_from_db()
        assert not export.file_path and export.finished_at is None and not stored_archives()
        figures = finish_after_restart(faults, job, queues, "exports", killed)
    events.check_finished_once(killed["killed_at"], total, resumes=False)

    export.refresh_from_db()
    assert export.finished_at is not None and stored_archives() == [Path(export.file_path).name]
    with default_storage.open(export.file_path, "rb") as handle, zipfile.ZipFile(handle) as archive:
        assert archive.testzip() is None  # every member's CRC checks out: nothing truncated
        names = archive.namelist()
        coco = json.loads(archive.read("annotations_coco.json"))
    images = {image["id"]: image for image in coco["images"]}
    assert sorted((i["task_id"], i["frame_index"]) for i in images.values()) == sorted(frames)  # each frame once
    assert len(names) == len(set(names)) == 5 * total + 2
    assert set(names) == expected_segmentation_entries(coco)
    located = [(images[a["image_id"]]["task_id"], images[a["image_id"]]["frame_index"]) for a in coco["annotations"]]
    assert sorted(located) == sorted(frames)  # one box per frame, none twice
    assert (export.frame_count, export.annotation_count, export.file_count) == (total, total, 5 * total + 2)
    assert export.size_bytes == default_storage.size(export.file_path)
    job.refresh_from_db()
    assert (job.result["frames"], job.result["annotations"], job.result["files"]) == (total, total, 5 * total + 2)
    assert job.attempts == 2
    # The killed attempt's half-written zip stays in EXPORT_TEMP_DIR (SIGKILL runs no clean-up);
    # the finished one is removed.
    report(
        "export",
        {
            **figures,
            "frames": total,
            "archive_entries": len(names),
            "archive_bytes": export.size_bytes,
            "temp_files_left": sorted(f"{f.name}: {f.stat().st_size} bytes" for f in temp.iterdir()),
        },
    )


# --- 3. SAM 2.1 video propagation ----------------------------------------------------------------
# SAM 2.1 tiny runs a frame in several seconds on a CPU (each frame's chain is flushed at once):
# the worker is killed once a propagated frame is in the database, with frames still to go.
PROPAGATION_FRAMES = 3


def test_a_worker_killed_mid_propagation_leaves_one_chain_without_duplicates(
    faults, world_a, make_project, sam_checkpoint, settings
):
    """The OOM killer takes the ML worker process after the first propagated frame is
    written; the redelivered run clears that partial chain and writes the whole chain once
    (one mask per object and frame), with every frame processed and progress to 100 %."""
    from annotations.models import Annotation
    from annotations.services import write_annotations
    from ml.actors import propagate_objects
    from ml.services.propagation import start_propagation
    from tests.ml.conftest import LABELS, import_pictures, scene, square_mask_shape

    settings.SAM2_CHECKPOINT, settings.SAM2_CONFIG = sam_checkpoint, "tiny"  # the web checks; the worker loads it
    project = make_project(world_a, kind="sequential_image", labels=LABELS)
    task = import_pictures(world_a, project, [scene(shift=3 * i) for i in range(PROPAGATION_FRAMES)])
    write_annotations(task, [square_mask_shape(0, "1", "car")], source="manual", actor=world_a.owner)
    run = start_propagation(actor=world_a.owner, task=task, reference_frame=0, object_ids=["1"])
    job = run.job
    total = PROPAGATION_FRAMES - 1
    faults.env.update(SAM2_CHECKPOINT=sam_checkpoint, SAM2_CONFIG="tiny", ML_DEVICE="cpu", ML_TORCH_THREADS="2")
    queues = ["ml"]
    worker, worker_id = faults.worker(queues)
    chain = Annotation.objects.filter(task=task, produced_by=job)

    with JobEvents(job) as events:
        faults.send(propagate_objects, job.pk)
        killed = kill_mid_job(
            faults, worker, worker_id, job, "ml", started=lambda j: j.progress_done >= 1 and chain.exists(), oom=True
        )
        first_attempt = set(chain.values_list("pk", flat=True))
        figures = finish_after_restart(faults, job, queues, "ml", killed)
    events.check_finished_once(killed["killed_at"], total, resumes=False)

    run.refresh_from_db()
    rows = list(chain.values_list("pk", "object_id", "frame_index", "source"))
    written = [(object_id, frame) for _, object_id, frame, _ in rows]
    assert len(written) == len(set(written)) == run.annotations_written > 0  # one shape per object and frame
    assert {frame for _, frame in written} <= set(range(1, PROPAGATION_FRAMES))
    assert {source for *_, source in rows} == {"propagated"}
    assert not first_attempt & {pk for pk, *_ in rows}  # the killed attempt's shapes were cleared, not kept
    assert Annotation.objects.filter(task=task).exclude(produced_by=job).count() == 1  # the reference mask
    assert run.frames_processed == len(run.frame_seconds) == total
    assert job.result["frames_processed"] == total and job.result["annotations_written"] == len(rows)
    assert Job.objects.get(pk=job.pk).attempts == 2
    report(
        "propagation",
        {
            **figures,
            "chain_at_kill": len(first_attempt),
            "chain_after": len(rows),
            "seconds_per_frame": run.seconds_per_frame,
        },
    )
