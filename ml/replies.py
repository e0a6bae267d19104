"""Answers from ML workers to a waiting web request (the interactive path).

A click must feel instant, yet the web process never loads a model. So the API sends the
click to the ``ml`` queue with a fresh reply key and blocks on that key; the worker pushes
its answer there. On Redis this is ``RPUSH`` + ``BLPOP`` (one round trip, no polling); on the
embedded default (no Redis: web and worker threads share one process) it is an in-process
queue. Replies expire, so an answer nobody waits for any more does not linger.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from typing import Any

from django.conf import settings

REPLY_TTL_SECONDS = 120
MAX_WAIT_SECONDS = 300

_pool = None
_pool_lock = threading.Lock()
_local_queues: dict[str, tuple[float, queue.Queue]] = {}
_local_lock = threading.Lock()


def new_reply_key() -> str:
    return uuid.uuid4().hex


def _redis():
    global _pool
    import redis

    with _pool_lock:
        if _pool is None:
            # BLPOP blocks for up to the wait itself: the socket must not time out first
            # (redis-py's default read timeout is 5 s).
            _pool = redis.ConnectionPool.from_url(settings.REDIS_URL, socket_timeout=MAX_WAIT_SECONDS + 30)
    return redis.Redis(connection_pool=_pool)


def _name(key: str) -> str:
    return f"{settings.DRAMATIQ_NAMESPACE}:ml-reply:{key}"


def _local_queue(key: str) -> queue.Queue:
    with _local_lock:
        now = time.monotonic()
        for stale in [k for k, (born, _) in _local_queues.items() if now - born > REPLY_TTL_SECONDS]:
            del _local_queues[stale]
        if key not in _local_queues:
            _local_queues[key] = (now, queue.Queue())
        return _local_queues[key][1]


def send_reply(key: str, payload: dict[str, Any]) -> None:
    """Deliver a worker's answer (called by the actor)."""
    if settings.REDIS_URL:
        client = _redis()
        name = _name(key)
        client.pipeline().rpush(name, json.dumps(payload)).expire(name, REPLY_TTL_SECONDS).execute()
    else:
        _local_queue(key).put(payload)


def wait_reply(key: str, timeout: float) -> dict[str, Any] | None:
    """Block until the answer for ``key`` arrives; None after ``timeout`` seconds."""
    timeout = min(timeout, MAX_WAIT_SECONDS)
    if settings.REDIS_URL:
        # BLPOP takes whole or fractional seconds; 0 would mean "forever".
        item = _redis().blpop([_name(key)], timeout=max(timeout, 0.01))
        return json.loads(item[1]) if item else None
    q = _local_queue(key)
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        return None
    finally:
        with _local_lock:
            _local_queues.pop(key, None)
