"""Faults of the services around the product, injected into real processes.

* Redis (broker, channel layer and cache: a private redis-server with its append-only file)
  restarts while an ingest job runs on a Dramatiq worker process: the job goes on, finishes
  once, its message is acknowledged, and the worker takes new messages afterwards.
* The same restart while a browser-like websocket client follows the job on daphne's
  ``/ws/events/``: while Redis is down daphne closes each connection with 4503 (try again
  later, no traceback) and the client backs off; then it reconnects and receives the job's
  live progress up to completion.
* PostgreSQL drops the connection of a request in the middle of its transaction: daphne
  answers 503 with the JSON error body, nothing of the half-done write remains, and the next
  request succeeds.
* S3 (moto_server behind a switch that cuts the network path) is unreachable while an
  export runs: the job retries, then fails saying that storage is unavailable, no archive
  is left anywhere; a short outage is bridged by the retries; once S3 is back a new export
  succeeds.
* The same during a media import: the attempt that meets the outage stops (no file is
  refused for it), a retry after S3 is back imports every file exactly once; an outage that
  outlasts the retries fails the job naming storage, with no half-made task and no orphan
  object in the bucket.
* PostgreSQL drops every connection of a worker's pool between two jobs (a restart): the
  pool's health check replaces them, and the next job runs at its first attempt.

Jobs are held at an exact point of their work by a row or table lock that the test takes in
a separate PostgreSQL session (``Gate``), so that each fault lands mid-job deterministically
rather than by timing.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
import zipfile

import boto3
import httpx
import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.services import create_api_token
from jobs.models import Job
from media import synthetic
from media.models import Asset, Frame, ImportFile
from media.services.imports import IncomingFile, Source, start_import
from tasks.models import Task
from tests.hardening.stack import Daphne, DramatiqWorker, MotoServer, RedisServer, database_url, free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REDIS_DOWN_SECONDS = 3.0


# --- tools ---------------------------------------------------------------------------------------
class Gate:
    """A lock held by a PostgreSQL session of its own: whoever needs it waits exactly there
    (inside its transaction) until the test releases it."""

    def __init__(self, statement: str, params: tuple = ()) -> None:
        self.conn = psycopg.connect(database_url(connection.settings_dict))
        self.conn.execute(statement, params)  # psycopg opens a transaction: the lock is held
        self.pid = self.conn.info.backend_pid

    @classmethod
    def row(cls, model, pk: int) -> Gate:
        return cls(f'SELECT 1 FROM "{model._meta.db_table}" WHERE id = %s FOR UPDATE', (pk,))  # noqa: S608

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


@pytest.fixture
def gates():
    """gates(Gate) -> the gate, released at the end of the test whatever happened."""
    held: list[Gate] = []

    def keep(gate: Gate) -> Gate:
        held.append(gate)
        return gate

    yield keep
    for gate in held:
        gate.release()


def lock_waiters() -> list[tuple[int, str]]:
    """(pid, query) of the sessions of this test database waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchall()


def image_import(world, project, count: int):
    """An image import of ``count`` distinct PNGs, recorded and stored (not yet queued)."""
    files = []
    for n in range(count):
        data = synthetic.image_bytes(32, 24, seed=1000 + n)
        files.append(IncomingFile(name=f"{n:02d}.png", content=data, size=len(data)))
    return start_import(actor=world.owner, project=project, files=files, source=Source.UPLOAD)


def import_file(job, position: int) -> ImportFile:
    return ImportFile.objects.get(job=job, position=position)


def held_import(job, position: int, *, gates, broker, worker):
    """Queue the import and wait until the worker holds file ``position`` in its transaction;
    returns the gate that lets it go on."""
    from media.actors import run_import

    gate = gates(Gate.row(ImportFile, import_file(job, position).pk))
    broker.enqueue(run_import.message(job.pk))
    wait_until(lock_waiters, timeout=90, what=f"the worker to reach file {position}:\n{worker.log_tail()}")
    return gate


def redis_broker(url: str, namespace: str, queue_name: str):
    """The producer side of the workers' broker (this process's own broker is the stub)."""
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=url, namespace=namespace)
    broker.declare_queue(queue_name)
    return broker


def broker_leftovers(redis_url: str, namespace: str, queue_name: str) -> dict[str, int]:
    """Messages still held by the broker: queued, unacknowledged (would be redelivered) or dead."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        unacked = sum(client.scard(key) for key in client.scan_iter(f"{namespace}:__acks__.*"))
        return {
            "queued": client.llen(f"{namespace}:{queue_name}"),
            "stored": client.hlen(f"{namespace}:{queue_name}.msgs"),
            "unacked": unacked,
            "dead": client.zcard(f"{namespace}:{queue_name}.XQ"),
        }
    finally:
        client.close()


class TcpSwitch:
    """A TCP forwarder in front of a server that the test switches off (new connections
    refused, open ones cut) and on again at the same address: the server is unreachable
    without losing its state (moto_server keeps its buckets in memory)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self) -> TcpSwitch:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def off(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def assert_imported_once(job, project, count: int, attempts: int = 1) -> None:
    """Every file became exactly one task with one asset and one frame; nothing twice."""
    job.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.message, job.errors)
    assert job.attempts == attempts, f"the job ran {job.attempts} times"
    assert job.result["accepted"] == count and job.result.get("duplicate", 0) == 0, job.result
    assert job.progress_done == job.progress_total == count
    assert Task.objects.filter(project=project).count() == count
    assert Asset.objects.filter(project=project).count() == count
    assert Frame.objects.filter(task__project=project).count() == count
    assert set(ImportFile.objects.filter(job=job).values_list("outcome", flat=True)) == {"accepted"}
    names = list(Task.objects.filter(project=project).values_list("name", flat=True))
    assert len(set(names)) == count


# A browser's static/portal/js/events.js, in Python with autobahn's asyncio websocket client:
# connect with the session cookie, subscribe, and after a close reconnect with a back-off
# (0.5 s doubling to 30 s, the upper half random; started over once a connection received a
# message or stayed open 5 s) and subscribe again. It runs in a process of its own (this one
# has txaio on Twisted already) and prints one JSON line per open, message and close, stamped
# with the system's monotonic clock.
EVENTS_CLIENT = r"""
import asyncio, json, random, sys, time

import txaio

txaio.use_asyncio()
from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

port, cookie, subscribe = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def emit(kind, **fields):
    print(json.dumps({"at": time.monotonic(), "kind": kind, **fields}), flush=True)


async def main():
    loop = asyncio.get_running_loop()
    failures = 0
    while True:
        closed = loop.create_future()
        opened, healthy = [], []

        class Protocol(WebSocketClientProtocol):
            def onOpen(self):
                opened.append(time.monotonic())
                emit("open")
                self.sendMessage(subscribe.encode())

            def onMessage(self, payload, is_binary):
                healthy.append(True)
                emit("message", message=json.loads(payload))

            def onClose(self, was_clean, code, reason):
                if not closed.done():
                    closed.set_result(code)

        url = f"ws://127.0.0.1:{port}/ws/events/"
        factory = WebSocketClientFactory(url, headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"})
        factory.protocol = Protocol
        try:
            await loop.create_connection(factory, "127.0.0.1", port)
        except OSError:
            closed.set_result(None)
        emit("close", code=await closed)
        if healthy or (opened and time.monotonic() - opened[0] >= 5.0):
            failures = 0
        failures += 1
        ceiling = min(30.0, 0.5 * 2 ** (failures - 1))
        await asyncio.sleep(ceiling / 2 + random.random() * ceiling / 2)


asyncio.run(main())
"""


class EventsClient:
    """The websocket client process and what it received: ``events`` gets ``(time, message)``;
    ``opened`` and ``closed`` record each connection's open and close (with its code)."""

    def __init__(self, port: int, cookie: str, subscribe: dict, log_dir) -> None:
        cookie_header = f"{settings.SESSION_COOKIE_NAME}={cookie}"
        self.command = [sys.executable, "-c", EVENTS_CLIENT, str(port), cookie_header, json.dumps(subscribe)]
        self.stderr_path = log_dir / "events-client.log"
        self.events: queue.Queue = queue.Queue()
        self.opened: list[float] = []
        self.closed: list[tuple[float, int | None]] = []
        self.process: subprocess.Popen | None = None

    def start(self) -> EventsClient:
        self.stderr_path.parent.mkdir(parents=True, exist_ok=True)
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        for line in self.process.stdout:
            record = json.loads(line)
            if record["kind"] == "open":
                self.opened.append(record["at"])
            elif record["kind"] == "close":
                self.closed.append((record["at"], record["code"]))
            else:
                self.events.put((record["at"], record["message"]))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._stderr.close()

    def take(self, until, timeout: float, what: str) -> list[tuple[float, dict]]:
        """The messages received until (and including) one for which ``until(message)``."""
        taken = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                item = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                stderr = self.stderr_path.read_text(errors="replace")[-2000:]
                raise TimeoutError(f"no {what} within {timeout:.0f} s; got {[m for _, m in taken]}\n{stderr}") from None
            taken.append(item)
            if until(item[1]):
                return taken


def session_cookie(user) -> str:
    browser = Client()
    browser.force_login(user)
    return browser.cookies[settings.SESSION_COOKIE_NAME].value


def job_event(job_id: int, **fields):
    def matches(message: dict) -> bool:
        if message.get("type") != "job" or message.get("job_id") != job_id:
            return False
        return all(message.get(key) == value for key, value in fields.items())

    return matches


# --- 1. Redis restarted while a worker runs a job ---------------------------------------------
@pytest.fixture
def private_redis(start, tmp_path):
    return start(RedisServer(log_dir=tmp_path / "logs", data_dir=tmp_path / "redis"))


def test_a_job_survives_a_redis_restart_and_runs_once(
    world_a, make_project, stack_env, start, private_redis, gates, tmp_path
):
    count, gate_at = 8, 3
    env = stack_env(redis_url=private_redis.url)
    namespace = env["DRAMATIQ_NAMESPACE"]
    worker = start(DramatiqWorker(env=env, log_dir=tmp_path / "logs", queues=["media"], threads=2))
    broker = redis_broker(private_redis.url, namespace, "media")
    from media.actors import run_import

    project = make_project(world_a, "image")
    job = image_import(world_a, project, count)
    # The worker ingests files 0..2 and waits inside the transaction of file 3.
    gate = held_import(job, gate_at, gates=gates, broker=broker, worker=worker)
    job.refresh_from_db()
    assert job.status == "running" and job.progress_done == gate_at

    private_redis.stop()  # SIGTERM: redis-server writes its append-only file and exits
    down_at = time.monotonic()
    gate.release()  # the job goes on while Redis is down
    time.sleep(REDIS_DOWN_SECONDS)
    finished_while_down = Job.objects.get(pk=job.pk).is_finished
    private_redis.start()
    up_at = time.monotonic()

    wait_until(
        lambda: Job.objects.get(pk=job.pk).is_finished,
        timeout=120,
        what=f"the import to finish after the restart:\n{worker.log_tail()}",
    )
    assert_imported_once(job, project, count)

    # The worker's consumer reconnected: a new message is taken and done.
    second_project = make_project(world_a, "image")
    second = image_import(world_a, second_project, 2)
    broker.enqueue(run_import.message(second.pk))
    wait_until(lambda: Job.objects.get(pk=second.pk).is_finished, timeout=90, what=f"a new job:\n{worker.log_tail()}")
    assert_imported_once(second, second_project, 2)

    # Both messages were acknowledged: nothing is left to redeliver, nothing went dead.
    wait_until(
        lambda: (
            broker_leftovers(private_redis.url, namespace, "media")
            == {"queued": 0, "stored": 0, "unacked": 0, "dead": 0}
        ),
        timeout=15,
        what=f"the broker to be empty: {broker_leftovers(private_redis.url, namespace, 'media')}",
    )
    log = worker.log_tail(200_000)
    print(
        f"\nredis down {up_at - down_at:.1f} s; import finished while redis was down: {finished_while_down}; "
        f"consumer connection errors: {log.count('Consumer encountered a connection error')}; "
        f"acks retried: {log.count('Failed to post_process_message')}"
    )
    broker.close()


# --- 2. Redis restarted while a websocket client follows the job --------------------------------
def test_websocket_progress_resumes_after_a_redis_restart(
    world_a, make_project, stack_env, start, private_redis, gates, tmp_path
):
    count, first_gate, second_gate = 10, 3, 6
    env = stack_env(redis_url=private_redis.url)
    namespace = env["DRAMATIQ_NAMESPACE"]
    daphne = start(Daphne(env=env, log_dir=tmp_path / "logs"))
    worker = start(DramatiqWorker(env=env, log_dir=tmp_path / "logs", queues=["media"], threads=2))
    broker = redis_broker(private_redis.url, namespace, "media")
    from media.actors import run_import

    project = make_project(world_a, "image")
    job = image_import(world_a, project, count)
    first = gates(Gate.row(ImportFile, import_file(job, first_gate).pk))
    second = gates(Gate.row(ImportFile, import_file(job, second_gate).pk))

    cookie = session_cookie(world_a.user("manager"))
    client = EventsClient(daphne.port, cookie, {"action": "subscribe", "job": job.pk}, tmp_path / "logs")
    client.start()
    try:
        client.take(job_event(job.pk, status="queued"), timeout=30, what="the subscription's snapshot")
        broker.enqueue(run_import.message(job.pk))
        before = client.take(job_event(job.pk, done=first_gate), timeout=90, what=f"progress to {first_gate}")
        assert any(m.get("status") == "running" for _, m in before)
        wait_until(lock_waiters, timeout=30, what="the worker to wait at the first gate")

        # Redis goes away with the job running; the job goes on to the second gate meanwhile.
        private_redis.stop()
        down_at = time.monotonic()
        first.release()
        time.sleep(REDIS_DOWN_SECONDS)
        private_redis.start()
        up_at = time.monotonic()

        # The client gets the job's state again (a reconnect's snapshot, or live progress).
        resumed = client.take(
            lambda m: job_event(job.pk)(m) and m["done"] >= second_gate, timeout=60, what="the job after the restart"
        )
        wait_until(lambda: len(lock_waiters()) == 1, timeout=30, what="the worker to wait at the second gate")
        resumed_at = resumed[-1][0]
        second.release()
        rest = client.take(job_event(job.pk, status="succeeded"), timeout=90, what="the job's completion")
    finally:
        client.stop()

    # Once Redis is back the connection holds, and the progress is live again: every file from
    # the second gate on, then success.
    assert not [code for at, code in client.closed if at > resumed_at], client.closed
    live = [m for _, m in rest if m.get("type") == "job"]
    assert {m["done"] for m in live if m["status"] == "running"} >= set(range(second_gate + 1, count)), live
    assert live[-1]["done"] == live[-1]["total"] == count
    assert_imported_once(job, project, count)
    closes = [code for at, code in client.closed if at > down_at]
    # Redis down: daphne tells the client to try again later (4503), without a traceback per attempt.
    assert closes and set(closes) == {4503}, closes
    assert "Exception inside application" not in daphne.log_tail(1_000_000), daphne.log_tail()
    subscribed = next((at for at, m in resumed if m.get("type") == "subscribed" and at > up_at), None)
    print(
        f"\nredis down {up_at - down_at:.1f} s; close codes since: {closes} (None: refused); "
        f"subscribed again {subscribed - up_at if subscribed else float('nan'):.1f} s and had the job's state "
        f"{resumed_at - up_at:.1f} s after redis came back"
    )
    assert worker.alive() and daphne.alive()
    broker.close()


# --- 3. PostgreSQL drops a request's connection mid-transaction ----------------------------------
def test_a_request_whose_database_connection_drops_gets_503_and_writes_nothing(
    world_a, stack_env, start, gates, tmp_path
):
    from audit.models import AuditEvent
    from projects.models import Project

    daphne = start(Daphne(env=stack_env(), log_dir=tmp_path / "logs"))
    _, token = create_api_token(user=world_a.owner, organization=world_a.org, name="faults")
    api = httpx.Client(base_url=daphne.url, headers={"Authorization": f"Token {token}"}, timeout=60)
    assert api.get("/api/v1/projects").status_code == 200  # daphne holds a database connection now
    name = f"Half-written {uuid.uuid4().hex[:6]}"

    # create_project writes the project, then its audit event: the request waits there.
    gate = gates(Gate(f'LOCK TABLE "{AuditEvent._meta.db_table}" IN SHARE MODE'))
    answer: dict = {}
    request = threading.Thread(
        target=lambda: answer.update(response=api.post("/api/v1/projects", json={"name": name, "kind": "image"}))
    )
    request.start()
    (pid, query), *_ = wait_until(lock_waiters, timeout=30, what=f"the request to wait:\n{daphne.log_tail()}")
    assert "audit_auditevent" in query
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND c.relname = %s AND l.mode = 'RowExclusiveLock'",
            [pid, Project._meta.db_table],
        )
        assert cursor.fetchone()[0] == 1, "the request has not written its project row yet"
        cursor.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [gate.pid],
        )
        terminated = cursor.fetchall()
    assert pid in {row[0] for row in terminated} and all(ok for _, ok in terminated)
    gate.release()
    request.join(timeout=60)

    response = answer["response"]
    assert response.status_code == 503, (response.status_code, response.text, daphne.log_tail())
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["code"] == "database_unavailable" and "nothing was changed" in body["message"]
    assert not Project.objects.filter(name=name).exists()
    assert not AuditEvent.objects.filter(action="project.created", after__name=name).exists()

    # The very next request gets a fresh connection and succeeds.
    created = api.post("/api/v1/projects", json={"name": name, "kind": "image"})
    assert created.status_code == 201, (created.status_code, created.text, daphne.log_tail())
    assert Project.objects.filter(name=name).count() == 1
    assert AuditEvent.objects.filter(action="project.created", after__name=name).count() == 1
    assert all(api.get("/api/v1/projects").status_code == 200 for _ in range(5))
    print(f"\nterminated {len(terminated)} backend(s) of the test database; the request got 503 and the next 201")
    api.close()


# --- 4. S3 unreachable during an export ---------------------------------------------------------
BUCKET = "annotator-faults"
S3_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
RETRY_BACKOFF_MS = 250


def s3_env(endpoint_url: str) -> dict[str, str]:
    """A worker's S3 settings: the test bucket behind ``endpoint_url`` (a TcpSwitch)."""
    return {
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": endpoint_url,
        "S3_ACCESS_KEY_ID": S3_KEYS["aws_access_key_id"],
        "S3_SECRET_ACCESS_KEY": S3_KEYS["aws_secret_access_key"],
        "S3_REGION": S3_KEYS["region_name"],
        "S3_ADDRESSING_STYLE": "path",
        "S3_PREFIX": "tenant-data",
    }


def annotated_project(world, make_project, images: int = 3):
    from tests.exports.conftest import LABELS, add_image_task, annotate, box

    project = make_project(world, kind="image", labels=LABELS)
    for n in range(images):
        annotate(add_image_task(world, project, f"street-{n}.png"), [box(2 + n, 3, 20, 10, "car")])
    return project


def test_an_export_retries_while_s3_is_unreachable_then_fails_cleanly_and_succeeds_once_back(
    world_a, make_project, stack_env, start, gates, tmp_path
):
    from annotations.models import Annotation
    from exports.actors import run_export_job
    from exports.models import Export
    from exports.services.exports import request_export
    from tests.hardening.conftest import shared_redis_url

    moto = start(MotoServer(log_dir=tmp_path / "logs"))
    s3 = boto3.client("s3", endpoint_url=moto.url, **S3_KEYS)
    s3.create_bucket(Bucket=BUCKET)
    switch = TcpSwitch(moto.port).on()
    export_temp = tmp_path / "export-temp"
    export_temp.mkdir()
    env = stack_env(**s3_env(switch.url), EXPORT_TEMP_DIR=export_temp, EXPORTS_RETRY_BACKOFF_MS=RETRY_BACKOFF_MS)
    worker = start(DramatiqWorker(env=env, log_dir=tmp_path / "logs", queues=["exports"], threads=1))
    broker = redis_broker(shared_redis_url(), env["DRAMATIQ_NAMESPACE"], "exports")
    project = annotated_project(world_a, make_project)
    prefix = f"tenant-data/{project.storage_prefix}/exports/"

    def export_now() -> Export:
        export = request_export(actor=world_a.owner, project=project, format="coco", include_images=False, queue=False)
        broker.enqueue(run_export_job.message(export.pk))
        return export

    def finished(export: Export) -> Job:
        wait_until(
            lambda: Job.objects.get(pk=export.job_id).is_finished,
            timeout=120,
            what=f"export {export.pk} to finish:\n{worker.log_tail()}",
        )
        return Job.objects.get(pk=export.job_id)

    def stored() -> list[str]:
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))

    try:
        # S3 goes away while the export runs (held where it reads the annotations).
        gate = gates(Gate(f'LOCK TABLE "{Annotation._meta.db_table}" IN ACCESS EXCLUSIVE MODE'))
        failing = export_now()
        wait_until(lock_waiters, timeout=60, what=f"the export to start:\n{worker.log_tail()}")
        assert Job.objects.get(pk=failing.job_id).status == "running"
        switch.off()
        started = time.monotonic()
        gate.release()
        job = finished(failing)
        gave_up_after = time.monotonic() - started

        assert job.status == "failed", (job.status, job.message, job.errors)
        assert job.attempts == 4, job.attempts  # the first run and three retries
        assert "storage" in job.message.lower() and "4 attempts" in job.message, job.message
        assert len(job.errors) == 4 and all("storage" in error.lower() for error in job.errors), job.errors
        failing.refresh_from_db()
        assert failing.file_path == "" and not failing.is_ready and failing.size_bytes == 0
        api = world_a.client("manager")
        shown = api.get(f"/api/v1/exports/{failing.pk}").json()
        assert shown["status"] == "failed" and shown["download_url"] is None, shown
        refused = api.get(f"/api/v1/exports/{failing.pk}/download")
        assert refused.status_code == 409 and refused.json()["code"] == "not_ready"
        assert stored() == [], "a partial archive was left on S3"
        assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
        assert list(export_temp.iterdir()) == [], "a temporary archive was left behind"

        # A short outage is bridged by the retries: S3 comes back before the second attempt,
        # which is held where it reads its export (the first has read it already) until then.
        first_attempt = gates(Gate(f'LOCK TABLE "{Annotation._meta.db_table}" IN ACCESS EXCLUSIVE MODE'))
        bridged = export_now()
        wait_until(lock_waiters, timeout=60, what=f"the first attempt to start:\n{worker.log_tail()}")
        second_attempt = gates(Gate(f'LOCK TABLE "{Export._meta.db_table}" IN ACCESS EXCLUSIVE MODE'))
        first_attempt.release()
        wait_until(
            lambda: Job.objects.get(pk=bridged.job_id).errors and lock_waiters(),
            timeout=60,
            what=f"the first attempt to fail and the second to wait:\n{worker.log_tail()}",
        )
        switch.on()
        second_attempt.release()
        job = finished(bridged)
        assert job.status == "succeeded" and job.attempts == 2, (job.status, job.attempts, job.errors)
        bridged.refresh_from_db()
        assert bridged.is_ready and stored() == [f"tenant-data/{bridged.file_path}"]

        # And with S3 back, a new export succeeds at once.
        fresh = export_now()
        job = finished(fresh)
        assert job.status == "succeeded" and job.attempts == 1 and job.errors == []
        fresh.refresh_from_db()
        body = s3.get_object(Bucket=BUCKET, Key=f"tenant-data/{fresh.file_path}")["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            coco = json.loads(archive.read(next(n for n in archive.namelist() if n.endswith(".json"))))
        assert len(coco["images"]) == 3 and len(coco["annotations"]) == 3
        assert len(stored()) == 2 and list(export_temp.iterdir()) == []
    finally:
        switch.off()
        broker.close()
    print(
        f"\nS3 unreachable: {gave_up_after:.1f} s from the outage to the failed job (4 attempts, backoff from "
        f"{RETRY_BACKOFF_MS} ms); a second export failed once and succeeded on attempt 2 once S3 was back"
    )


# --- 5. S3 unreachable during a media import -----------------------------------------------------
def s3_storages(endpoint_url: str) -> dict:
    """STORAGES of this test process on the same bucket and prefix as the worker's."""
    return {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint_url,
                "access_key": S3_KEYS["aws_access_key_id"],
                "secret_key": S3_KEYS["aws_secret_access_key"],
                "region_name": S3_KEYS["region_name"],
                "location": "tenant-data",
                "default_acl": None,
                "file_overwrite": False,
                "addressing_style": "path",
                "signature_version": "s3v4",
            },
        },
    }


def test_an_import_waits_out_an_s3_outage_and_fails_cleanly_when_it_lasts(
    world_a, make_project, stack_env, start, gates, settings, tmp_path
):
    from media.services.storage_check import verify_storage
    from tests.hardening.conftest import shared_redis_url

    count, gate_at = 6, 3
    moto = start(MotoServer(log_dir=tmp_path / "logs"))
    s3 = boto3.client("s3", endpoint_url=moto.url, **S3_KEYS)
    s3.create_bucket(Bucket=BUCKET)
    switch = TcpSwitch(moto.port).on()
    settings.STORAGES = s3_storages(switch.url)  # uploads go to the bucket the worker reads
    settings.MEDIA_LOCAL_CACHE_DIR = tmp_path / "test-media-cache"
    env = stack_env(**s3_env(switch.url), MEDIA_RETRY_BACKOFF_MS=RETRY_BACKOFF_MS)
    worker = start(DramatiqWorker(env=env, log_dir=tmp_path / "logs", queues=["media"], threads=1))
    broker = redis_broker(shared_redis_url(), env["DRAMATIQ_NAMESPACE"], "media")

    def outcomes(job) -> dict[str, int]:
        rows = ImportFile.objects.filter(job=job).values_list("outcome", flat=True)
        return {outcome: list(rows).count(outcome) for outcome in set(rows)}

    def finished(job) -> Job:
        wait_until(
            lambda: Job.objects.get(pk=job.pk).is_finished,
            timeout=240,
            what=f"import {job.pk} to finish:\n{worker.log_tail()}",
        )
        return Job.objects.get(pk=job.pk)

    def stored(project) -> list[str]:
        listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"tenant-data/{project.storage_prefix}/")
        return sorted(
            o["Key"].removeprefix(f"tenant-data/{project.storage_prefix}/") for o in listing.get("Contents", [])
        )

    try:
        # A short outage is bridged by a retry. S3 goes away while the worker saves file 3;
        # file 4 then meets it, and the retry is held where it starts (FOR KEY SHARE on the
        # job's row lets the first attempt write progress, not the second take its row) until
        # S3 is back.
        bridged_project = make_project(world_a, "image")
        bridged = image_import(world_a, bridged_project, count)
        first_attempt = held_import(bridged, gate_at, gates=gates, broker=broker, worker=worker)
        switch.off()
        down_at = time.monotonic()
        second_attempt = gates(Gate(f'SELECT 1 FROM "{Job._meta.db_table}" WHERE id = %s FOR KEY SHARE', (bridged.pk,)))  # noqa: S608
        first_attempt.release()
        wait_until(
            lambda: Job.objects.get(pk=bridged.pk).errors and lock_waiters(),
            timeout=120,
            what=f"the first attempt to fail and the second to wait:\n{worker.log_tail()}",
        )
        first_failed_after = time.monotonic() - down_at
        job = Job.objects.get(pk=bridged.pk)
        assert job.status == "running" and job.attempts == 1, (job.status, job.attempts)
        assert job.message.startswith("Retrying: storage unavailable (EndpointConnectionError"), job.message
        assert len(job.errors) == 1 and job.errors[0].startswith("Attempt 1: storage unavailable"), job.errors
        assert outcomes(bridged) == {"accepted": gate_at + 1, "pending": count - gate_at - 1}  # none refused
        switch.on()
        bridged_outage = time.monotonic() - down_at
        second_attempt.release()
        assert finished(bridged).status == "succeeded"
        assert_imported_once(bridged, bridged_project, count, attempts=2)
        hashes = list(Asset.objects.filter(project=bridged_project).values_list("content_hash", flat=True))
        assert len(set(hashes)) == count
        assert len(set(ImportFile.objects.filter(job=bridged).values_list("asset_id", flat=True))) == count
        files = stored(bridged_project)
        assert len([f for f in files if f.startswith("originals/")]) == count, files
        assert len([f for f in files if f.startswith("thumbnails/")]) == count, files

        # An outage that outlasts the retries: the job fails saying so, the files saved
        # before it stay, the others stay pending (their uploads kept), nothing is half-made.
        lasting_project = make_project(world_a, "image")
        lasting = image_import(world_a, lasting_project, count)
        gate = held_import(lasting, gate_at, gates=gates, broker=broker, worker=worker)
        switch.off()
        down_at = time.monotonic()
        gate.release()
        job = finished(lasting)
        gave_up_after = time.monotonic() - down_at
        assert job.status == "failed", (job.status, job.message, job.errors)
        assert job.attempts == 4, job.attempts  # the first run and three retries
        assert job.message.startswith("Import failed after 4 attempts: storage unavailable (EndpointConnectionError")
        assert "the others stay pending: resume the import" in job.message, job.message
        assert len(job.errors) == 4 and all("storage unavailable" in error for error in job.errors), job.errors
        assert outcomes(lasting) == {"accepted": gate_at + 1, "pending": count - gate_at - 1}
        saved = set(ImportFile.objects.filter(job=lasting, outcome="accepted").values_list("name", flat=True))
        assert set(Asset.objects.filter(project=lasting_project).values_list("original_name", flat=True)) == saved
        assert Task.objects.filter(project=lasting_project).count() == len(saved)
        assert Frame.objects.filter(task__project=lasting_project).count() == len(saved)
        switch.on()
        files = stored(lasting_project)
        assert len([f for f in files if f.startswith("originals/")]) == count, files  # pending ones kept
        assert len([f for f in files if f.startswith("thumbnails/")]) == len(saved), files
        report = verify_storage(organization=world_a.org)
        assert report.orphans == [] and report.missing == [], report.as_dict()
        assert report.stored_files == 2 * count + count + len(saved)
    finally:
        switch.off()
        broker.close()
    log = worker.log_tail(400_000)
    print(
        f"\nS3 off while an import ran: attempt 1 failed {first_failed_after:.1f} s in, S3 back after "
        f"{bridged_outage:.1f} s, attempt 2 imported the rest ({count} files, each once); an outage that "
        f"lasted failed the job {gave_up_after:.1f} s in after 4 attempts (backoff from {RETRY_BACKOFF_MS} ms); "
        f"retries logged: {log.count('retrying after attempt')}"
    )


# --- 6. PostgreSQL drops every connection between two jobs of a worker ---------------------------
def test_a_worker_whose_database_connections_were_dropped_runs_the_next_job_first_time(
    world_a, make_project, stack_env, start, tmp_path
):
    from media.actors import run_import
    from tests.hardening.conftest import shared_redis_url

    # The production shape: each worker process keeps its connections in a pool.
    env = stack_env(DATABASE_POOL_SIZE=4)
    worker = start(DramatiqWorker(env=env, log_dir=tmp_path / "logs", queues=["media"], threads=2))
    broker = redis_broker(shared_redis_url(), env["DRAMATIQ_NAMESPACE"], "media")

    def run(count: int) -> tuple[Job, object]:
        project = make_project(world_a, "image")
        job = image_import(world_a, project, count)
        broker.enqueue(run_import.message(job.pk))
        wait_until(
            lambda: Job.objects.get(pk=job.pk).is_finished, timeout=120, what=f"import {job.pk}:\n{worker.log_tail()}"
        )
        return job, project

    try:
        first, first_project = run(2)
        assert_imported_once(first, first_project, 2)
        time.sleep(0.5)  # the worker hands its connections back to its pool after the message

        # What a PostgreSQL restart (or a failover, or an idle-connection reaper) does to them.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            terminated = cursor.fetchall()
        assert terminated and all(ok for _, ok in terminated), terminated
        log_before = len(worker.log_tail(1_000_000))

        second, second_project = run(3)
        assert_imported_once(second, second_project, 3)  # attempts == 1
        after = worker.log_tail(1_000_000)[log_before:]
        assert "Failed to process message" not in after and "OperationalError" not in after, after
    finally:
        broker.close()
    print(f"\nterminated {len(terminated)} pooled worker connection(s) between two jobs; the next ran at once")
