"""One Redis connection pool per process for the cache, whatever thread asks.

Django keeps a cache object per thread (per async context), each with its own connection
pool, and daphne serves every request in a new thread (Django's ASGI handler): so every API
request opened a new Redis connection for the rate limit, and left it open until garbage
collection (bench/load.py counted ~100 open per daphne). ``redis.ConnectionPool`` is
thread-safe and resets itself in a forked child, so one per URL and options is shared.
"""

from __future__ import annotations

import threading

import redis

_pools: dict[tuple, redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    @classmethod
    def from_url(cls, url: str, **kwargs) -> redis.ConnectionPool:
        key = (url, tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = super().from_url(url, **kwargs)
        return pool
