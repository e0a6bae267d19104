"""The interactive lane: how a click reaches the ML worker without waiting in a queue.

Dramatiq's Redis consumer polls an idle queue with a growing back-off (up to the worker
timeout, a second by default), which would add up to that much to every click. So on Redis,
clicks (and embedding warm-ups) skip Dramatiq: the web ``RPUSH``es the message to one list,
and each ML worker process runs a few lane threads blocked on ``BLPOP`` — they wake the moment
a click arrives and never wait behind a running job, whatever ``--threads`` says. Answers go
back through ``ml.replies``.

Without Redis (the embedded default: web and workers in one process, the stub broker wakes its
consumers at once) the same messages go through the ``sam_interactive`` actor instead.

The lane threads start with any Dramatiq worker that consumes the ``ml`` queue
(``InteractiveLane`` middleware, installed by ``ml.actors``) and stop with it.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import dramatiq
from django.conf import settings

logger = logging.getLogger(__name__)

LIST_TTL_SECONDS = 300
POLL_SECONDS = 0.25  # how often an idle lane thread checks whether its worker is stopping


def _list_name() -> str:
    # Web and workers share DRAMATIQ_NAMESPACE and CACHE_KEY_PREFIX; parallel test runs on one
    # Redis differ in the latter, so one run's lane never takes another's clicks.
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{settings.DRAMATIQ_NAMESPACE}:{prefix}:ml-interactive"


def submit(message: dict[str, Any]) -> None:
    """Hand an interactive message (``{"kind": "masks" | "embed", ...}``) to the ML workers."""
    if settings.REDIS_URL:
        from ml.replies import _redis

        name = _list_name()
        _redis().pipeline().rpush(name, json.dumps(message)).expire(name, LIST_TTL_SECONDS).execute()
    else:
        from ml.actors import sam_interactive

        sam_interactive.send(message)


def handle(message: dict[str, Any]) -> None:
    """Run one interactive message (in a lane thread or the ``sam_interactive`` actor)."""
    from ml.services import sam

    if message.get("kind") == "embed":
        sam.warm_embedding(message["organization_id"], message["task_id"], message["frame_index"])
    else:
        sam.answer_mask_request(message)


def _serve(stop: threading.Event) -> None:
    import redis
    from django.db import close_old_connections

    from ml.replies import _redis

    client = _redis()
    name = _list_name()
    poll: float = POLL_SECONDS
    while not stop.is_set():
        try:
            item = client.blpop([name], timeout=poll)
        except redis.ResponseError:
            poll = 1  # Redis before 6 takes whole seconds only
            continue
        except Exception:
            logger.warning("interactive lane: Redis unavailable, retrying", exc_info=True)
            stop.wait(POLL_SECONDS)
            continue
        if item is None:
            continue
        close_old_connections()
        try:
            handle(json.loads(item[1]))
        except Exception:
            logger.exception("interactive lane: message failed")
        finally:
            close_old_connections()


class InteractiveLane(dramatiq.Middleware):
    """Starts ``ML_INTERACTIVE_THREADS`` lane threads in workers that consume ``ml``."""

    def __init__(self) -> None:
        self._running: dict[int, tuple[threading.Event, list[threading.Thread]]] = {}

    def after_worker_boot(self, broker, worker) -> None:
        queues = getattr(worker, "queues", None)
        if not settings.REDIS_URL or (queues is not None and "ml" not in queues):
            return
        stop = threading.Event()
        threads = [
            threading.Thread(target=_serve, args=(stop,), name=f"ml-interactive-{i}", daemon=True)
            for i in range(max(1, settings.ML_INTERACTIVE_THREADS))
        ]
        for thread in threads:
            thread.start()
        self._running[id(worker)] = (stop, threads)

    def before_worker_shutdown(self, broker, worker) -> None:
        stop, threads = self._running.pop(id(worker), (None, []))
        if stop is None:
            return
        stop.set()
        for thread in threads:
            thread.join(timeout=POLL_SECONDS + 5)
