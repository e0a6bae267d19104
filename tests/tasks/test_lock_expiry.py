"""Expired locks: the sweep records them and gives the tasks back to their queue, once; the
periodic actor keeps one chain running; workers start it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from audit.models import AuditEvent
from organizations.roles import Role
from tasks import actors
from tasks.models import Task, TaskClaim, TaskTransition
from tasks.services.claims import claim_next_review, claim_next_task, expire_task_locks
from tasks.services.review import return_task
from tests.tasks.conftest import fresh, new_task, submit

A, R = Role.ANNOTATOR, Role.REVIEWER


def _age(task, minutes=31):
    Task.objects.filter(pk=task.pk).update(lock_expires_at=timezone.now() - timedelta(minutes=minutes - 30))


@pytest.mark.django_db
def test_sweep_records_the_expiry_and_returns_the_task_to_the_pool(world_a, project):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    _age(task)
    assert expire_task_locks() == 1
    task = fresh(task)
    assert (task.status, task.locked_by, task.lock_expires_at) == ("created", None, None)
    claim = TaskClaim.objects.get(task=task)
    assert claim.end_reason == "expired" and claim.ended_at == claim.claimed_at
    back = TaskTransition.objects.filter(task=task).last()
    assert (back.from_status, back.to_status, back.actor, back.reason) == (
        "in_progress",
        "created",
        None,
        "lock expired",
    )
    event = AuditEvent.objects.get(action="task.lock_expired", object_id=str(task.pk))
    assert event.actor is None and event.before["locked_by"] == world_a.user(A).username
    assert claim_next_task(user=world_a.user(Role.MANAGER), project=project).pk == task.pk


@pytest.mark.django_db
def test_sweep_is_idempotent(world_a, project):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    _age(task)
    assert expire_task_locks() == 1
    counts = (
        TaskTransition.objects.count(),
        AuditEvent.objects.count(),
        TaskClaim.objects.filter(ended_at=None).count(),
    )
    assert expire_task_locks() == 0
    assert (TaskTransition.objects.count(), AuditEvent.objects.count(), 0) == counts


@pytest.mark.django_db
def test_sweep_leaves_live_locks_alone(world_a, project):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    assert expire_task_locks() == 0
    assert fresh(task).locked_by == world_a.user(A)


@pytest.mark.django_db
def test_expired_work_goes_back_to_the_queue_it_came_from(world_a, project):
    annotator = world_a.user(A)
    assigned = new_task(world_a, project, assignee=annotator, priority=5)
    claim_next_task(user=annotator, project=project)
    _age(assigned)
    returned = new_task(world_a, project, priority=1)
    claim_next_task(user=world_a.user(Role.MANAGER), project=project)
    submit(returned, world_a.user(Role.MANAGER))
    claim_next_review(user=world_a.user(R), project=project)
    return_task(actor=world_a.user(R), task=returned, comment="again")
    claim_next_task(user=world_a.user(Role.MANAGER), project=project)
    _age(returned)
    assert expire_task_locks() == 2
    assert fresh(assigned).status == "assigned"
    assert fresh(returned).status == "returned"


@pytest.mark.django_db
def test_an_expired_review_lock_leaves_the_task_submitted(world_a, project):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    submit(task, world_a.user(A))
    claim_next_review(user=world_a.user(R), project=project)
    _age(task)
    assert expire_task_locks() == 1
    task = fresh(task)
    assert (task.status, task.locked_by) == ("submitted", None)
    assert claim_next_review(user=world_a.user(Role.MANAGER), project=project).pk == task.pk


@pytest.mark.django_db
def test_sweep_works_through_more_tasks_than_one_chunk(world_a, project):
    tasks = [new_task(world_a, project) for _ in range(5)]
    for user in [world_a.owner, world_a.user(Role.ADMIN), world_a.user(Role.MANAGER), world_a.user(A)]:
        claim_next_task(user=user, project=project)
    Task.objects.filter(pk__in=[t.pk for t in tasks]).update(lock_expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_task_locks(chunk=3) == 4
    assert not Task.objects.filter(locked_by__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_the_periodic_actor_sweeps_on_a_real_worker(world_a, project, stub_worker):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    _age(task)
    actors.expire_task_locks_periodically.send()  # no chain id: one sweep, no successor
    stub_worker.join("maintenance", timeout=20_000)
    assert fresh(task).locked_by is None
    assert TaskClaim.objects.get(task=task).end_reason == "expired"


@pytest.mark.django_db
def test_only_the_chain_holding_the_lease_schedules_the_next_run(monkeypatch, settings):
    settings.TASK_LOCK_SWEEP_SECONDS = 60
    cache.delete(actors.LEASE_KEY)
    scheduled = []
    monkeypatch.setattr(
        actors.expire_task_locks_periodically,
        "send_with_options",
        lambda **kwargs: scheduled.append(kwargs),
    )
    actors.expire_task_locks_periodically.fn("chain-1")
    actors.expire_task_locks_periodically.fn("chain-2")  # another worker booted: runs once, stops
    actors.expire_task_locks_periodically.fn("chain-1")
    assert scheduled == [{"args": ("chain-1",), "delay": 60_000}, {"args": ("chain-1",), "delay": 60_000}]
    cache.delete(actors.LEASE_KEY)  # the first chain died: its lease lapsed
    actors.expire_task_locks_periodically.fn("chain-2")
    assert scheduled[-1] == {"args": ("chain-2",), "delay": 60_000}
    cache.delete(actors.LEASE_KEY)


@pytest.mark.django_db
def test_a_failed_sweep_still_schedules_the_next_run(monkeypatch, settings):
    settings.TASK_LOCK_SWEEP_SECONDS = 30
    cache.delete(actors.LEASE_KEY)
    scheduled = []
    monkeypatch.setattr(actors.expire_task_locks_periodically, "send_with_options", lambda **kw: scheduled.append(kw))

    def broken():
        raise RuntimeError("database went away")

    monkeypatch.setattr(actors, "expire_task_locks", broken)
    with pytest.raises(RuntimeError):
        actors.expire_task_locks_periodically.fn("chain-x")
    assert scheduled == [{"args": ("chain-x",), "delay": 30_000}]
    cache.delete(actors.LEASE_KEY)


def test_workers_start_the_chain_except_the_test_suites_stub_broker(monkeypatch, settings):
    import dramatiq

    sent = []
    monkeypatch.setattr(actors.expire_task_locks_periodically, "send", lambda *args: sent.append(args))
    starter = actors.LockSweepStarter()
    broker = dramatiq.get_broker()
    settings.DRAMATIQ_IN_PROCESS_WORKER = False
    starter.after_worker_boot(broker, None)
    assert sent == []
    settings.DRAMATIQ_IN_PROCESS_WORKER = True  # the embedded default's in-process worker
    starter.after_worker_boot(broker, None)
    assert len(sent) == 1 and isinstance(sent[0][0], str)
    settings.TASK_LOCK_SWEEP_SECONDS = 0  # turned off
    starter.after_worker_boot(broker, None)
    assert len(sent) == 1
    assert any(isinstance(m, actors.LockSweepStarter) for m in broker.middleware)
