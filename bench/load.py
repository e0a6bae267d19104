"""Load test: annotators and reviewers working through a project on the real stack.

    .venv/bin/python bench/load.py --json load.json     # 120 s, 200 annotators + 20 reviewers, human pace
    .venv/bin/python bench/load.py --think-ms 1000      # ten times the pace: the stack saturated
    .venv/bin/python bench/load.py --duration 30 --annotators 20 --reviewers 4 --tasks 300   # a quick look

What it does
------------
* Uses its own PostgreSQL database (``--database-url``, default
  ``postgres://postgres@127.0.0.1:5432/annotator_load``): drops and recreates it (unless
  ``--keep-database``), migrates, and seeds through the services: one organization, an owner,
  ``--annotators`` annotators and ``--reviewers`` reviewers with an API token each, one
  image project with two labels. Its ``--tasks`` images (small generated street scenes) go
  in through the real ingest path: ``media.services.imports.start_import`` records them and
  the Dramatiq worker below decodes them, makes thumbnails and creates one task per image.
* Starts the production shape on this machine: ``--servers`` × ``daphne
  annotator.asgi:application`` (users are spread over them, as a load balancer would) and
  ``python -m dramatiq annotator.worker``, on Redis (``--redis-url``, default db 10) with a
  Dramatiq namespace and cache/channel prefixes of their own, files in a temporary folder,
  ``API_RATE_LIMIT`` raised, ``DEBUG`` off.
* Runs ``--duration`` seconds of asyncio + httpx clients, each a real API user with its token:
  - an annotator loops: ``POST /tasks/next`` → what the workspace loads for an image task
    (``GET /tasks/{id}/frames``, ``GET /tasks/{id}/frames/0?ext=jpeg``,
    ``GET /tasks/{id}/annotations``, and its side panels: comments, predictions, history) →
    1–3 draft saves (``PUT /tasks/{id}/annotations/draft``, one more box each, with the
    revision) → submit (``POST /tasks/{id}/annotations``);
  - a reviewer loops: ``POST /reviews/next`` → ``GET /tasks/{id}/annotations`` and the frame →
    ``POST /tasks/{id}/approve``, or (``--return-share``) ``POST /tasks/{id}/return`` with a
    comment; the annotator then gets the task back first in their queue.
  Between steps a user pauses ``--think-ms`` on average (exponential; default 10 s: drawing
  a box, looking at a picture, so a task takes an annotator about 30 s); the workspace's own
  burst of reads is not paced, like a browser's. ``--think-ms 0`` runs back to back (a closed
  loop). Users start spread over ``--ramp`` seconds (30), not all in the same millisecond.
* Reports requests per second, tasks submitted/approved/returned, per endpoint the count and
  p50/p95/p99/max latency (send to last byte), errors by status (any 4xx/5xx or transport
  error; 204 "nothing to claim" is counted apart), and double assignments, which must be 0:
  a claim answered with a task whose ``locked_by`` is someone else, or that another client
  still holds (clients forget a task before they send its last request); in the database, a
  claim that took over a live lock (ended as ``expired``), a task with two open claims, or a
  task whose lock names someone other than its open claim. ``--json PATH`` writes it all.

The clients share the machine with the servers, PostgreSQL and Redis: the report gives the
CPU seconds each used during the run (daphne, worker, clients, PostgreSQL backends). To see
where a server spends them, attach a sampling profiler to a daphne while it runs (``py-spy
record -p PID``; cProfile sees only daphne's main thread, not the request threads).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/annotator_load"
DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
NAMESPACE = "annotator-load"
LABELS = [
    {"name": "car", "color": "#ff0000", "maskid": 1},
    {"name": "person", "color": "#00ff00", "maskid": 2},
]
IMAGE_SIZE = (160, 120)
WORKER_QUEUES = ["default", "media", "exports", "maintenance"]


# --- the stack -----------------------------------------------------------------------------
def stack_env(args, data_dir: Path) -> dict[str, str]:
    """Environment of this script's Django and of every server and worker process."""
    return {
        "DJANGO_SETTINGS_MODULE": args.settings,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "DRAMATIQ_BROKER_URL": args.redis_url,
        "DRAMATIQ_NAMESPACE": NAMESPACE,
        "CACHE_KEY_PREFIX": NAMESPACE,
        "CHANNEL_LAYER_PREFIX": NAMESPACE,
        "ANNOTATOR_DATA_DIR": str(data_dir),
        "SECRET_KEY": "load-test-secret-key-not-for-production-0123456789",
        "DEBUG": "false",
        "API_RATE_LIMIT": "10000000/60s",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def forget_redis_keys(url: str) -> None:
    """Drop what an earlier run left under this script's prefixes (queues, rate counters)."""
    import redis

    client = redis.Redis.from_url(url)
    for pattern in (f"{NAMESPACE}*", f"*:{NAMESPACE}:*", f":1:{NAMESPACE}*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)


@dataclass
class Seed:
    project_id: int
    annotators: list[tuple[int, str]]  # (user id, token)
    reviewers: list[tuple[int, str]]


def seed(annotators: int, reviewers: int) -> tuple[Seed, object, object]:
    """Organization, members with tokens and the project, all through the services."""
    from django.test import override_settings

    from accounts.models import User
    from accounts.services import create_api_token
    from organizations.roles import Role
    from organizations.services import add_member, create_organization
    from projects.labels import validate_label_rows
    from projects.services.labels import apply_label_rows
    from projects.services.projects import create_project

    stamp = int(time.time())
    started = time.perf_counter()
    # A cheap hasher while seeding: the users sign in with tokens; 220 PBKDF2 hashes would
    # take minutes on this machine and measure nothing.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        owner = User(username=f"load-owner-{stamp}")
        owner.set_unusable_password()
        owner.save()
        org = create_organization(name=f"Load {stamp}", owner=owner)
        project = create_project(actor=owner, organization=org, name="Street scenes (load)", kind="image")
        rows, errors = validate_label_rows(LABELS)
        assert not errors, errors
        apply_label_rows(actor=owner, project=project, rows=rows)

        def members(role: str, count: int) -> list[tuple[int, str]]:
            out = []
            for i in range(count):
                membership, _ = add_member(
                    actor=owner,
                    organization=org,
                    username=f"load-{role}-{stamp}-{i:03d}",
                    role=role,
                    password=f"Correct-horse-battery-{stamp % 9973}-{i}",
                )
                _, token = create_api_token(user=membership.user, organization=org, name="load")
                out.append((membership.user.pk, token))
            return out

        people = Seed(project.pk, members(Role.ANNOTATOR, annotators), members(Role.REVIEWER, reviewers))
    print(
        f"seeded {annotators} annotators and {reviewers} reviewers in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return people, owner, project


def ingest(owner, project, count: int, chunk: int = 200, timeout: float = 1800) -> float:
    """Import ``count`` generated images through the real import path; wait for the worker."""
    from jobs.models import Job, JobStatus
    from media import synthetic
    from media.services.imports import IncomingFile, Source, start_import
    from tasks.models import Task

    started = time.perf_counter()
    job_ids = []
    for first in range(0, count, chunk):
        files = []
        for n in range(first, min(count, first + chunk)):
            data = synthetic.image_bytes(*IMAGE_SIZE, seed=n, fmt="JPEG")
            files.append(IncomingFile(name=f"street-{n:05d}.jpg", content=data, size=len(data)))
        job_ids.append(start_import(actor=owner, project=project, files=files, source=Source.UPLOAD).pk)
    while True:
        jobs = list(Job.objects.filter(pk__in=job_ids).values_list("status", flat=True))
        done = sum(1 for s in jobs if s in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED))
        tasks = Task.objects.filter(project=project).count()
        print(f"\ringest: {tasks:,}/{count:,} tasks, {done}/{len(jobs)} imports finished", end="", flush=True)
        if done == len(jobs):
            break
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the imports did not finish; see the worker's log")
        time.sleep(2)
    print(flush=True)
    failed = Job.objects.filter(pk__in=job_ids).exclude(status=JobStatus.SUCCEEDED).count()
    tasks = Task.objects.filter(project=project).count()
    if failed or tasks < count:
        raise RuntimeError(f"ingest: {failed} import(s) did not succeed, {tasks} of {count} tasks created")
    return time.perf_counter() - started


# --- the clients ---------------------------------------------------------------------------
@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)  # "403", "exc:ReadTimeout"
    errors_by_endpoint: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    empty_claims: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)  # submitted, approved, returned, drafts
    double: list[str] = field(default_factory=list)
    holder: dict[int, int] = field(default_factory=dict)  # task id -> user id, while a client holds it


class Stop(Exception):
    pass


class User:
    def __init__(self, client, user_id: int, token: str, stats: Stats, deadline: float, think_ms: float):
        self.client = client
        self.id = user_id
        self.headers = {"Authorization": f"Token {token}"}
        self.stats = stats
        self.deadline = deadline
        self.think_ms = think_ms

    async def call(self, method: str, path: str, endpoint: str, *, expect=(200,), **kwargs):
        """One request, timed; returns the response or None for an error (counted)."""
        import httpx

        started = time.perf_counter()
        try:
            response = await self.client.request(method, "/api/v1/" + path, headers=self.headers, **kwargs)
            await response.aread()
        except httpx.HTTPError as exc:
            self.stats.latencies[endpoint].append(time.perf_counter() - started)
            self._error(endpoint, f"exc:{type(exc).__name__}", repr(exc))
            return None
        self.stats.latencies[endpoint].append(time.perf_counter() - started)
        if response.status_code not in expect:
            self._error(endpoint, str(response.status_code), response.text[:300])
            return None
        return response

    def _error(self, endpoint: str, key: str, detail: str) -> None:
        self.stats.errors[key] += 1
        self.stats.errors_by_endpoint[f"{endpoint} {key}"] += 1
        if len(self.stats.error_samples) < 20:
            self.stats.error_samples.append(f"{endpoint} -> {key}: {detail}")

    async def think(self) -> None:
        """Pause like a person at work; stop once the run's time is up (not a pause later)."""
        if self.think_ms:
            pause = random.expovariate(1000 / self.think_ms)
            await asyncio.sleep(max(0.0, min(pause, self.deadline - time.perf_counter())))
        if time.perf_counter() >= self.deadline:
            raise Stop

    def claimed(self, task: dict) -> int:
        task_id = task["id"]
        holder = (task.get("locked_by") or {}).get("id")
        if holder != self.id:
            self.stats.double.append(f"task {task_id} handed to user {self.id} but its lock names {holder}")
        other = self.stats.holder.get(task_id)
        if other not in (None, self.id):
            self.stats.double.append(f"task {task_id} handed to user {self.id} while user {other} holds it")
        self.stats.holder[task_id] = self.id
        return task_id

    def letting_go(self, task_id: int) -> None:
        """Forget the task before the request that ends the lock: after it, someone else may get it."""
        if self.stats.holder.get(task_id) == self.id:
            del self.stats.holder[task_id]

    async def claim(self, path: str, endpoint: str, project_id: int) -> int | None:
        while True:
            response = await self.call("POST", path, endpoint, expect=(200, 204), json={"project_id": project_id})
            if response is not None and response.status_code == 200:
                return self.claimed(response.json())
            if response is not None:
                self.stats.empty_claims[endpoint] += 1
            # Nothing to do (or an error): look again a little later.
            await asyncio.sleep(max(0.0, min(random.uniform(0.5, 1.5), self.deadline - time.perf_counter())))
            await self.think()

    async def load_workspace(self, task_id: int) -> dict | None:
        """What the workspace page loads for an image task, in the browser's order."""
        t = f"tasks/{task_id}"
        await self.call("GET", f"{t}/frames", "GET /tasks/{id}/frames", params={"limit": 1000, "offset": 0})
        results = await asyncio.gather(
            self.call("GET", f"{t}/frames/0", "GET /tasks/{id}/frames/{n}", params={"ext": "jpeg"}),
            self.call("GET", f"{t}/annotations", "GET /tasks/{id}/annotations"),
            self.call("GET", f"{t}/comments", "GET /tasks/{id}/comments", params={"limit": 500}),
            self.call("GET", f"{t}/predictions", "GET /tasks/{id}/predictions", params={"limit": 100}),
            self.call(
                "GET", f"{t}/history", "GET /tasks/{id}/history", params={"include_snapshot": "true", "limit": 30}
            ),
        )
        return results[1].json() if results[1] is not None else None


def shapes_of(annotation_set: dict) -> list[dict]:
    """The workspace's save payload for the shapes the server returned."""
    return [
        {
            "id": a["id"],
            "type": a["annotation_type"],
            "class_name": a["class_name"],
            "geometry": a["geometry"],
            "attributes": a.get("attributes") or {},
        }
        for a in annotation_set.get("annotations", [])
    ]


def new_box() -> dict:
    width, height = IMAGE_SIZE
    w, h = random.randint(8, width // 3), random.randint(8, height // 3)
    return {
        "type": "bbox",
        "class_name": random.choice(LABELS)["name"],
        "geometry": {"x": random.randint(0, width - w), "y": random.randint(0, height - h), "width": w, "height": h},
        "attributes": {},
    }


async def annotator(user: User, project_id: int) -> None:
    stats = user.stats
    with contextlib.suppress(Stop):
        while True:
            task_id = await user.claim("tasks/next", "POST /tasks/next", project_id)
            current = await user.load_workspace(task_id)
            if current is None:
                user.letting_go(task_id)
                await user.call("DELETE", f"tasks/{task_id}/lock", "DELETE /tasks/{id}/lock", expect=(204,))
                continue
            revision, shapes = current["revision"], shapes_of(current)
            for _ in range(random.randint(1, 3)):
                await user.think()
                body = {"shapes": [*shapes, new_box()], "revision": revision}
                saved = await user.call(
                    "PUT", f"tasks/{task_id}/annotations/draft", "PUT /tasks/{id}/annotations/draft", json=body
                )
                if saved is not None:
                    stats.counts["drafts"] += 1
                    data = saved.json()
                    revision, shapes = data["revision"], shapes_of(data)
            await user.think()
            user.letting_go(task_id)
            body = {"shapes": shapes, "revision": revision}
            if await user.call("POST", f"tasks/{task_id}/annotations", "POST /tasks/{id}/annotations", json=body):
                stats.counts["submitted"] += 1


async def reviewer(user: User, project_id: int, return_share: float) -> None:
    stats = user.stats
    with contextlib.suppress(Stop):
        while True:
            task_id = await user.claim("reviews/next", "POST /reviews/next", project_id)
            await asyncio.gather(
                user.call("GET", f"tasks/{task_id}/frames/0", "GET /tasks/{id}/frames/{n}", params={"ext": "jpeg"}),
                user.call("GET", f"tasks/{task_id}/annotations", "GET /tasks/{id}/annotations"),
            )
            await user.think()
            user.letting_go(task_id)
            if random.random() < return_share:
                body = {"comment": "The box on the left is too loose; please tighten it."}
                if await user.call("POST", f"tasks/{task_id}/return", "POST /tasks/{id}/return", json=body):
                    stats.counts["returned"] += 1
            elif await user.call("POST", f"tasks/{task_id}/approve", "POST /tasks/{id}/approve", json={}):
                stats.counts["approved"] += 1


async def run_clients(args, people: Seed, servers: list[str]) -> tuple[Stats, float]:
    import httpx

    stats = Stats()
    # One client per user, like a browser (up to 6 connections each, keep-alive); one big
    # shared pool costs the client more CPU per request as it grows (httpcore scans it).
    limits = httpx.Limits(max_connections=6, max_keepalive_connections=6)
    clients: list = []

    def client_for(n: int):
        clients.append(httpx.AsyncClient(base_url=servers[n % len(servers)], limits=limits, timeout=60.0))
        return clients[-1]

    started = time.perf_counter()
    deadline = started + args.duration
    coroutines = []
    for n, (user_id, token) in enumerate(people.annotators):
        user = User(client_for(n), user_id, token, stats, deadline, args.think_ms)
        coroutines.append(annotator(user, people.project_id))
    for n, (user_id, token) in enumerate(people.reviewers):
        user = User(client_for(n + 1), user_id, token, stats, deadline, args.think_ms)
        coroutines.append(reviewer(user, people.project_id, args.return_share))

    async def staggered(i: int, coroutine):
        await asyncio.sleep(args.ramp * i / len(coroutines))  # not all 220 in the same millisecond
        await coroutine

    await asyncio.gather(*(staggered(i, c) for i, c in enumerate(coroutines)))
    wall = time.perf_counter() - started
    for client in clients:
        await client.aclose()
    return stats, wall


# --- after the run -------------------------------------------------------------------------
def database_checks(project_id: int) -> dict[str, int]:
    from django.db import connection

    queries = {
        "live_lock_takeovers": "SELECT count(*) FROM tasks_taskclaim c JOIN tasks_task t ON t.id = c.task_id "
        "WHERE t.project_id = %s AND c.end_reason = 'expired'",
        "tasks_with_two_open_claims": "SELECT count(*) FROM (SELECT c.task_id FROM tasks_taskclaim c "
        "JOIN tasks_task t ON t.id = c.task_id WHERE t.project_id = %s AND c.ended_at IS NULL "
        "GROUP BY c.task_id HAVING count(*) > 1) s",
        "lock_not_its_open_claim": "SELECT count(*) FROM tasks_task t JOIN tasks_taskclaim c "
        "ON c.task_id = t.id AND c.ended_at IS NULL WHERE t.project_id = %s "
        "AND t.locked_by_id IS DISTINCT FROM c.user_id",
        "claims": "SELECT count(*) FROM tasks_taskclaim c JOIN tasks_task t ON t.id = c.task_id "
        "WHERE t.project_id = %s",
        "submissions": "SELECT count(*) FROM tasks_tasktransition tr JOIN tasks_task t ON t.id = tr.task_id "
        "WHERE t.project_id = %s AND tr.to_status = 'submitted'",
    }
    out = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql, [project_id])
            out[name] = cursor.fetchone()[0]
    return out


def percentile(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def summarize(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(ms[-1], 1),
        "mean_ms": round(statistics.fmean(ms), 1),
    }


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of processes and their children so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15]) / tick
    return total


def database_backends(url: str) -> list[int]:
    """Process ids of the PostgreSQL backends connected to this run's database (same machine)."""
    from django.db import connection

    name = url.rsplit("/", 1)[1].split("?")[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name])
        pids = [row[0] for row in cursor.fetchall()]
    connection.close()
    return pids


def process_tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            todo.extend(int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split())
    return found


def report(args, stats: Stats, wall: float, checks: dict, extra: dict) -> dict:
    endpoints = {name: summarize(values) for name, values in sorted(stats.latencies.items())}
    everything = [v for values in stats.latencies.values() for v in values]
    requests = len(everything)
    double = len(stats.double) + checks["live_lock_takeovers"] + checks["tasks_with_two_open_claims"]
    double += checks["lock_not_its_open_claim"]
    result = {
        "config": {
            "duration_s": args.duration,
            "annotators": args.annotators,
            "reviewers": args.reviewers,
            "tasks": args.tasks,
            "think_ms": args.think_ms,
            "servers": args.servers,
            "return_share": args.return_share,
            "cpus": os.cpu_count(),
        },
        **extra,
        "wall_s": round(wall, 1),
        "requests": requests,
        "requests_per_s": round(requests / wall, 1),
        "tasks": {
            "submitted": stats.counts["submitted"],
            "approved": stats.counts["approved"],
            "returned": stats.counts["returned"],
            "drafts": stats.counts["drafts"],
            "submitted_per_s": round(stats.counts["submitted"] / wall, 2),
            "reviewed_per_s": round((stats.counts["approved"] + stats.counts["returned"]) / wall, 2),
        },
        "overall": summarize(everything) if everything else {},
        "endpoints": endpoints,
        "empty_claims": dict(stats.empty_claims),
        "errors": dict(stats.errors),
        "error_count": sum(stats.errors.values()),
        "errors_by_endpoint": dict(stats.errors_by_endpoint),
        "error_samples": stats.error_samples,
        "double_assignments": double,
        "double_assignment_details": stats.double[:20],
        "database_checks": checks,
    }
    print()
    print(
        f"{args.annotators} annotators + {args.reviewers} reviewers, think {args.think_ms:g} ms, "
        f"{args.servers} daphne, {wall:.0f} s, {os.cpu_count()} CPUs, load average before "
        f"{extra['load_average_before']}"
    )
    print(f"{'endpoint':<38} {'count':>7} {'errors':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>8}  (ms)")
    errors_per = Counter()
    for key, n in stats.errors_by_endpoint.items():
        errors_per[key.rsplit(" ", 1)[0]] += n
    for name, row in endpoints.items():
        print(
            f"{name:<38} {row['count']:>7} {errors_per[name]:>6} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {row['max_ms']:>8.1f}"
        )
    if everything:
        o = result["overall"]
        print(
            f"{'all requests':<38} {requests:>7} {result['error_count']:>6} {o['p50_ms']:>7.1f} "
            f"{o['p95_ms']:>7.1f} {o['p99_ms']:>7.1f} {o['max_ms']:>8.1f}"
        )
    t = result["tasks"]
    print(
        f"throughput: {result['requests_per_s']:.1f} requests/s; tasks submitted {t['submitted']} "
        f"({t['submitted_per_s']:.2f}/s), approved {t['approved']}, returned {t['returned']}, drafts {t['drafts']}"
    )
    print(f"claims that found nothing (204): {dict(stats.empty_claims) or 0}")
    print(f"errors: {result['error_count']} {dict(stats.errors) or ''}")
    for sample in stats.error_samples[:5]:
        print(f"  {sample}")
    print(
        f"double assignments: {double} (clients: {len(stats.double)}, live-lock takeovers: "
        f"{checks['live_lock_takeovers']}, two open claims: {checks['tasks_with_two_open_claims']}, "
        f"lock not its open claim: {checks['lock_not_its_open_claim']}; {checks['claims']:,} claims recorded)"
    )
    cpu = extra.get("cpu_seconds", {})
    if cpu:
        print("CPU seconds during the run: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds of load")
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=2000, help="images imported before the run")
    parser.add_argument(
        "--think-ms", type=float, default=10000, help="mean pause between a user's steps (exponential); 0 = none"
    )
    parser.add_argument("--return-share", type=float, default=0.2, help="share of reviews that return the task")
    parser.add_argument("--servers", type=int, default=os.cpu_count() or 1, help="daphne processes")
    parser.add_argument("--worker-processes", type=int, default=2, help="Dramatiq worker processes (ingest)")
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds over which the users start")
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--redis-url", default=os.environ.get("LOAD_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--keep-database", action="store_true", help="do not drop and recreate the database")
    parser.add_argument("--data-dir", help="files folder (default: a temporary one, removed at the end)")
    parser.add_argument("--settings", default="annotator.settings", help="DJANGO_SETTINGS_MODULE of every process")
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args()

    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="annotator-load-"))
    env = stack_env(args, data_dir)
    os.environ.update(env)
    os.environ.pop("TEST_DATABASE_NAME", None)
    if not args.keep_database:
        recreate_database(args.database_url)
    forget_redis_keys(args.redis_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tests.hardening.stack import Daphne, DramatiqWorker

    call_command("migrate", verbosity=0)
    log_dir = data_dir / "logs"
    full_env = {**os.environ, **env}
    worker = DramatiqWorker(
        env=full_env, log_dir=log_dir, queues=WORKER_QUEUES, processes=args.worker_processes, threads=1
    )
    daphnes: list[Daphne] = []
    try:
        worker.start()
        people, owner, project = seed(args.annotators, args.reviewers)
        ingest_s = ingest(owner, project, args.tasks)
        print(f"ingested {args.tasks:,} images in {ingest_s:.1f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        connection.close()
        for n in range(args.servers):
            daphnes.append(Daphne(env=full_env, log_dir=log_dir, name=f"daphne-{n}").start())
        load_before = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        groups = {"daphne": [p for d in daphnes for p in process_tree(d.pid)], "worker": process_tree(worker.pid)}
        cpu_before = {name: cpu_seconds(pids) for name, pids in groups.items()}
        cpu_before["clients"] = cpu_seconds([os.getpid()])
        backends_before = {pid: cpu_seconds([pid]) for pid in database_backends(args.database_url)}
        print(f"running {args.duration:g} s of load ...", flush=True)
        stats, wall = asyncio.run(run_clients(args, people, [d.url for d in daphnes]))
        cpu = {name: cpu_seconds(pids) - cpu_before[name] for name, pids in groups.items()}
        cpu["clients"] = cpu_seconds([os.getpid()]) - cpu_before["clients"]
        # PostgreSQL backends of this database still open (the servers' pools keep theirs).
        backends = database_backends(args.database_url)
        cpu["postgres"] = sum(cpu_seconds([pid]) - backends_before.get(pid, 0.0) for pid in backends)
        checks = database_checks(people.project_id)
        extra = {
            "ingest_s": round(ingest_s, 1),
            "load_average_before": load_before,
            "load_average_after": ", ".join(f"{v:.1f}" for v in os.getloadavg()),
            "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
        }
        result = report(args, stats, wall, checks, extra)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
            print(f"wrote {args.json}")
    finally:
        for daphne in daphnes:
            daphne.stop()
        worker.stop()
        for process in (*daphnes, worker):
            tail = process.log_tail(2000).strip()
            if tail and ("Traceback" in tail or "ERROR" in tail):
                print(f"--- {process.name} log (end) ---\n{tail}")
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
