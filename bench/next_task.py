"""Benchmark: next-task claims under concurrency on PostgreSQL.

    .venv/bin/python bench/next_task.py                 # 64 clients x 2,000 claims, 100,000 tasks
    .venv/bin/python bench/next_task.py --clients 8 --claims 200 --tasks 5000   # a quick run

What it does
------------
* Uses its own database (``BENCH_DATABASE_URL``, default
  ``postgres://postgres@127.0.0.1:5432/annotator_bench``): drops and recreates it (unless
  ``--keep``), migrates, and loads one organization, ``--clients`` annotators and one image
  project with ``--tasks`` tasks (``bulk_create``, priorities 0/10/20/30), then VACUUM ANALYZE.
* Runs ``--clients`` concurrent clients as threads spread over ``--processes`` processes
  (one database connection per client; processes so that Python itself is not the GIL-bound
  bottleneck). Each client calls the service ``tasks.services.claims.claim_next_task``
  directly — the code path ``POST /api/v1/tasks/next`` runs, without HTTP, authentication
  and JSON, which are not what contends — ``--claims`` times. Each claim is followed, like a
  real annotator, by a submit (what ``POST /tasks/{id}/annotations`` does: check the lock,
  move to ``submitted``, release) or, for one claim in ``--release-every``, a release (the
  task goes back to the queue and is claimed again by someone else): 64 x 2,000 = 128,000
  claims from 100,000 tasks.
* Reports claim latency (p50/p90/p99/max, only the claim call is timed), claims per second
  over the whole run, and double assignments, which must be 0. A double assignment is any
  of: a client handed a task whose row does not name it as the lock holder; a submit or
  release refused because someone else holds the lock; a claim that took over a live lock
  (recorded as ``expired``, impossible within the 30-minute lock of this run); a task
  submitted twice.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/annotator_bench"


def _configure_env(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    os.environ.setdefault("DRAMATIQ_BROKER_URL", "stub://")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("REDIS_URL", None)


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def load(tasks: int, clients: int) -> tuple[int, list[int]]:
    """Create the organization, annotators and the project with its tasks; (project id, user ids)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from accounts.models import User
    from organizations.models import Membership
    from organizations.services import create_organization
    from projects.services.projects import create_project
    from tasks.models import Task

    stamp = int(time.time())
    owner = User.objects.create(username=f"bench-owner-{stamp}", password=make_password(None))
    org = create_organization(name=f"Bench {stamp}", owner=owner)
    project = create_project(actor=owner, organization=org, name="claims", kind="image")
    users = User.objects.bulk_create(
        [User(username=f"bench-{stamp}-{i}", password=make_password(None)) for i in range(clients)]
    )
    Membership.objects.bulk_create([Membership(user=u, organization=org, role="annotator") for u in users])
    started = time.perf_counter()
    for start in range(0, tasks, 10_000):
        Task.objects.bulk_create(
            [
                Task(organization=org, project=project, name=f"image-{i:06d}.jpg", priority=(i % 4) * 10)
                for i in range(start, min(tasks, start + 10_000))
            ]
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tasks_task")
    print(f"loaded {tasks:,} tasks in {time.perf_counter() - started:.1f} s", flush=True)
    return project.pk, [u.pk for u in users]


def client_loop(
    project_id: int, user_id: int, claims: int, release_every: int, think_ms: float, out: dict, barrier
) -> None:
    from django.db import connection, transaction

    from accounts.models import User
    from annotator.api.errors import ApiError
    from projects.models import Project
    from tasks.models import Task
    from tasks.services.claims import claim_next_task, release_task_lock
    from tasks.services.lifecycle import transition_task
    from tasks.services.locks import require_lock

    user = User.objects.get(pk=user_id)
    project = Project.objects.get(pk=project_id)
    latencies: list[float] = []
    problems = empty = 0
    barrier.wait()
    for n in range(claims):
        started = time.perf_counter()
        task = claim_next_task(user=user, project=project)
        latencies.append(time.perf_counter() - started)
        if task is None:
            empty += 1
            continue
        if task.locked_by_id != user.pk:
            problems += 1
        if think_ms:
            time.sleep(random.expovariate(1000 / think_ms))  # the annotator at work
        try:
            if n % release_every == release_every - 1:
                release_task_lock(task=task, user=user)
            else:
                with transaction.atomic():
                    row = Task.objects.select_for_update(of=("self",)).select_related("project").get(pk=task.pk)
                    require_lock(row, user)
                    transition_task(row, "submitted", actor=user)
        except ApiError:
            problems += 1
    connection.close()
    out[user_id] = (latencies, problems, empty)


def process_main(
    project_id: int, user_ids: list[int], claims: int, release_every: int, think_ms: float, barrier, queue
) -> None:
    import django

    django.setup()
    out: dict = {}
    threads = [
        threading.Thread(target=client_loop, args=(project_id, uid, claims, release_every, think_ms, out, barrier))
        for uid in user_ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(list(out.values()))


def vacuum_loop(url: str, every: float, stop: threading.Event, runs: list[float]) -> None:
    """Stand in for autovacuum when the server has it off: a claim queue leaves dead index
    entries at its head, which only VACUUM removes (see README)."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        while not stop.wait(every):
            started = time.perf_counter()
            conn.execute("VACUUM tasks_task")
            runs.append(time.perf_counter() - started)


def autovacuum_is_on() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "on"


def percentile(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def db_checks(project_id: int) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM tasks_taskclaim c JOIN tasks_task t ON t.id = c.task_id "
            "WHERE t.project_id = %s AND c.end_reason = 'expired'",
            [project_id],
        )
        takeovers = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT tr.task_id FROM tasks_tasktransition tr "
            "JOIN tasks_task t ON t.id = tr.task_id "
            "WHERE t.project_id = %s AND tr.to_status = 'submitted' GROUP BY tr.task_id HAVING count(*) > 1) s",
            [project_id],
        )
        twice = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM tasks_taskclaim c JOIN tasks_task t ON t.id = c.task_id WHERE t.project_id = %s",
            [project_id],
        )
        claims = cursor.fetchone()[0]
    return {"live_lock_takeovers": takeovers, "submitted_twice": twice, "claims_recorded": claims}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--claims", type=int, default=2000, help="claims per client")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--release-every", type=int, default=4, help="release instead of submit every Nth claim")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0,
        help="mean time (exponential) a client works on a task before submitting; 0 = claim back to back",
    )
    parser.add_argument("--keep", action="store_true", help="reuse the database instead of recreating it")
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=None,
        help="seconds between VACUUMs of tasks_task during the run (default: 5 when the server's autovacuum is off, "
        "else none; 0 turns it off)",
    )
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _configure_env(url)
    if not args.keep:
        recreate_database(url)
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection

    call_command("migrate", verbosity=0)
    project_id, user_ids = load(args.tasks, args.clients)
    vacuum_every = args.vacuum_every if args.vacuum_every is not None else (0 if autovacuum_is_on() else 5)
    connection.close()
    stop, vacuums = threading.Event(), []

    load_before = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(args.clients + 1)
    queue = ctx.Queue()
    groups = [user_ids[i :: args.processes] for i in range(args.processes)]
    groups = [g for g in groups if g]
    procs = [
        ctx.Process(
            target=process_main, args=(project_id, g, args.claims, args.release_every, args.think_ms, barrier, queue)
        )
        for g in groups
    ]
    for proc in procs:
        proc.start()
    barrier.wait()
    started = time.perf_counter()
    if vacuum_every:
        threading.Thread(target=vacuum_loop, args=(url, vacuum_every, stop, vacuums), daemon=True).start()
    results = [item for _ in procs for item in queue.get()]
    wall = time.perf_counter() - started
    stop.set()
    for proc in procs:
        proc.join()

    latencies = sorted(lat for lats, _, _ in results for lat in lats)
    problems = sum(p for _, p, _ in results)
    empty = sum(e for _, _, e in results)
    checks = db_checks(project_id)
    double = problems + checks["live_lock_takeovers"] + checks["submitted_twice"]
    ms = [v * 1000 for v in latencies]
    print(
        f"clients={args.clients} (processes={len(procs)}) claims/client={args.claims} tasks={args.tasks:,} "
        f"release_every={args.release_every} think_ms={args.think_ms:g} cpus={os.cpu_count()} "
        f"load_average_before={load_before}"
    )
    print(f"claims: {len(ms):,} in {wall:.1f} s = {len(ms) / wall:,.0f} claims/s ({empty:,} found nothing)")
    print(
        f"claim latency ms: p50={percentile(ms, 50):.1f} p90={percentile(ms, 90):.1f} "
        f"p99={percentile(ms, 99):.1f} max={ms[-1]:.1f} mean={statistics.fmean(ms):.1f}"
    )
    print(f"claims recorded: {checks['claims_recorded']:,}")
    if vacuums:
        print(f"VACUUM tasks_task every {vacuum_every:g} s (autovacuum off): {len(vacuums)} runs, {sum(vacuums):.1f} s")
    print(
        f"double assignments: {double} (client saw another holder / refused: {problems}, "
        f"live-lock takeovers: {checks['live_lock_takeovers']}, submitted twice: {checks['submitted_twice']})"
    )


if __name__ == "__main__":
    main()
