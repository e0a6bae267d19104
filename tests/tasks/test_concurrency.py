"""Next task under concurrency, on PostgreSQL: many threads, each with its own database
connection, claim from one pool at the same moment. No task is ever handed to two people,
and every caller gets one while tasks remain. Also run with the compare-and-set fallback
(the path SQLite uses) forced on."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from organizations.roles import Role
from organizations.services import add_member
from tasks.models import Task, TaskClaim
from tasks.services import claims
from tests.conftest import PASSWORD
from tests.tasks.conftest import new_task, submit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the concurrency proof runs on PostgreSQL")


def _annotators(world, n):
    return [
        add_member(
            actor=world.owner,
            organization=world.org,
            username=f"racer-{world.org.pk}-{i}",
            role=Role.ANNOTATOR,
            password=PASSWORD,
        )[0].user
        for i in range(n)
    ]


def _race(users, work):
    """Run work(user) in one thread per user, all released at once; returns {user: result}."""
    barrier = threading.Barrier(len(users))
    results, errors = {}, []

    def run(user):
        try:
            barrier.wait(timeout=30)
            results[user.pk] = work(user)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_40_simultaneous_callers_each_get_a_different_task(world_a, project, claim_path):
    tasks = [new_task(world_a, project) for _ in range(64)]
    users = _annotators(world_a, 40)
    got = _race(users, lambda user: claims.claim_next_task(user=user, project=project).pk)
    assert len(got) == 40
    assert len(set(got.values())) == 40, "a task was handed to two people"
    # The 40 best tasks (oldest first, all priority 0) went out.
    assert set(got.values()) == {task.pk for task in tasks[:40]}
    for user_pk, task_pk in got.items():
        assert Task.objects.get(pk=task_pk).locked_by_id == user_pk
    assert TaskClaim.objects.count() == 40


def test_more_callers_than_tasks_the_pool_runs_dry_without_double_handing(world_a, project, claim_path):
    tasks = [new_task(world_a, project) for _ in range(20)]
    users = _annotators(world_a, 40)
    got = _race(users, lambda user: getattr(claims.claim_next_task(user=user, project=project), "pk", None))
    handed = [pk for pk in got.values() if pk is not None]
    assert sorted(handed) == sorted(task.pk for task in tasks), "every task handed out exactly once"
    assert list(got.values()).count(None) == 20


def test_32_annotators_working_through_a_pool_never_share_a_task(world_a, project, claim_path):
    tasks = [new_task(world_a, project, priority=i % 3) for i in range(160)]
    users = _annotators(world_a, 32)

    def work(user):
        mine = []
        while True:
            task = claims.claim_next_task(user=user, project=project)
            if task is None:
                return mine
            mine.append(task.pk)
            submit(task, user)

    got = _race(users, work)
    counts = Counter(pk for mine in got.values() for pk in mine)
    assert set(counts) == {task.pk for task in tasks}
    assert max(counts.values()) == 1, "a task was handed to two people"
    assert set(Task.objects.filter(project=project).values_list("status", flat=True)) == {"submitted"}
    assert sum(1 for mine in got.values() if mine) >= 16  # the work was really shared
