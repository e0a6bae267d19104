"""Background work for tasks: the periodic maintenance sweep (expired task locks, and
expired resumable uploads with their chunks).

Scheduling: ``expire_task_locks_periodically`` reschedules itself with a delay of
``TASK_LOCK_SWEEP_SECONDS`` (default 60; 0 turns the sweep off). Every worker process sends
one first message when it boots (``LockSweepStarter``), on the Redis broker and on the
embedded default's in-process worker; not in the test suite (stub broker without the
in-process worker), where tests call the sweep themselves.

One chain at a time: a chain carries its id, and only the chain holding the cache lease
``tasks:lock-sweep-chain`` (refreshed on every run, lapsing after three intervals) schedules
a successor; a second chain (another worker booted) runs once and stops. If a chain dies,
the lease lapses and the next worker boot starts a new one. Claims never depend on the
sweep: they treat expired locks as free; the sweep records expiries and returns tasks to
their queue, and running it twice is harmless (an expired lock is cleared once).
"""

from __future__ import annotations

import logging
import uuid

import dramatiq
from django.conf import settings
from django.core.cache import cache
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware

from media.services.uploads import purge_expired_uploads
from tasks.services.claims import expire_task_locks

logger = logging.getLogger(__name__)

LEASE_KEY = "tasks:lock-sweep-chain"


def sweep_interval_seconds() -> int:
    return settings.TASK_LOCK_SWEEP_SECONDS


def _holds_lease(chain_id: str, interval: int) -> bool:
    ttl = interval * 3
    if cache.add(LEASE_KEY, chain_id, ttl):
        return True
    if cache.get(LEASE_KEY) == chain_id:
        cache.touch(LEASE_KEY, ttl)
        return True
    return False


@dramatiq.actor(queue_name="maintenance", max_retries=0, time_limit=10 * 60 * 1000)
def expire_task_locks_periodically(chain_id: str | None = None) -> None:
    """Record expired task locks and give those tasks back to their queue, and purge the
    resumable uploads past ``MEDIA_UPLOAD_EXPIRY_HOURS``; then, if this chain holds the lease,
    run again after ``TASK_LOCK_SWEEP_SECONDS``. Idempotent."""
    interval = sweep_interval_seconds()
    try:
        expired = expire_task_locks()
        if expired:
            logger.info("expired %d task lock(s)", expired)
        purged = purge_expired_uploads()
        if purged:
            logger.info("purged %d expired upload(s)", purged)
    finally:  # a failed sweep must not end the chain: the next run catches up
        if chain_id and interval > 0 and _holds_lease(chain_id, interval):
            expire_task_locks_periodically.send_with_options(args=(chain_id,), delay=interval * 1000)


class LockSweepStarter(Middleware):
    """Starts a sweep chain when a worker boots (see the module docstring)."""

    def after_worker_boot(self, broker, worker) -> None:
        if sweep_interval_seconds() <= 0:
            return
        if isinstance(broker, StubBroker) and not settings.DRAMATIQ_IN_PROCESS_WORKER:
            return  # the test suite's stub broker: tests drive the sweep themselves
        expire_task_locks_periodically.send(uuid.uuid4().hex)


_broker = dramatiq.get_broker()
if not any(isinstance(m, LockSweepStarter) for m in _broker.middleware):
    _broker.add_middleware(LockSweepStarter())
