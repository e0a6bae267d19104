"""Dramatiq broker setup: Redis in production, the stub broker on the embedded default.

Called once from ``jobs.apps.JobsConfig.ready`` so that the broker exists before any
``actors.py`` module declares an actor.
"""

from __future__ import annotations

import logging
import threading

import dramatiq
from django.conf import settings
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)

# Queues: CPU media work, exports, maintenance, and the GPU/ML queue scale separately.
QUEUES = ("default", "media", "exports", "ml", "maintenance")


class DatabaseConnectionMiddleware(Middleware):
    """Give each message a healthy DB connection and close it afterwards.

    Workers are long-lived threads; without this a connection dropped by the server (or
    past CONN_MAX_AGE) would fail every later message on that thread.
    """

    def before_process_message(self, broker, message):
        from django.db import close_old_connections

        close_old_connections()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        from django.db import close_old_connections

        close_old_connections()

    after_skip_message = after_process_message

    def before_worker_thread_shutdown(self, broker, thread):
        from django.db import connections

        connections.close_all()


_configured = False
_lock = threading.Lock()


def setup_broker() -> dramatiq.Broker:
    """Create and install the global broker (idempotent)."""
    global _configured
    with _lock:
        if _configured:
            return dramatiq.get_broker()
        url = settings.DRAMATIQ_BROKER_URL
        if url and not url.startswith("stub:"):
            from dramatiq.brokers.redis import RedisBroker

            broker: dramatiq.Broker = RedisBroker(
                url=url,
                namespace=settings.DRAMATIQ_NAMESPACE,
                heartbeat_timeout=settings.DRAMATIQ_HEARTBEAT_TIMEOUT_MS,
                maintenance_chance=settings.DRAMATIQ_MAINTENANCE_CHANCE,
            )
        else:
            broker = StubBroker()
            broker.emit_after("process_boot")
        broker.add_middleware(DatabaseConnectionMiddleware())
        for queue in QUEUES:
            broker.declare_queue(queue)
        dramatiq.set_broker(broker)
        _configured = True
        return broker


_in_process_worker: dramatiq.Worker | None = None


def start_in_process_worker(worker_threads: int = 2) -> dramatiq.Worker:
    """Run a Dramatiq worker inside this process (embedded default: no Redis needed)."""
    global _in_process_worker
    if _in_process_worker is None:
        broker = dramatiq.get_broker()
        _in_process_worker = dramatiq.Worker(broker, worker_threads=worker_threads, worker_timeout=100)
        _in_process_worker.start()
        logger.info("in-process Dramatiq worker started (%d threads)", worker_threads)
    return _in_process_worker
