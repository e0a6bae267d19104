"""Per-credential rate limit (default 10,000 requests per 10 minutes, ``API_RATE_LIMIT``).

A fixed window counter in the cache (Redis in production): one round trip per request on
Redis (``INCR`` and ``EXPIRE`` pipelined; Django's own ``add`` then ``incr`` took three).
Each API token and key pair has its own budget; session users are counted per user.
"""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    match = _RATE.match(rate)
    if not match:
        raise ImproperlyConfigured(f"API_RATE_LIMIT must look like '10000/600s', got {rate!r}")
    return int(match[1]), int(match[2]) * _UNIT[match[3]]


class CredentialRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.limit, self.window = parse_rate(settings.API_RATE_LIMIT)
        self._wait = 0.0

    def scope_key(self, request) -> str | None:
        credential = getattr(request, "auth", None)
        if credential is not None and hasattr(credential, "throttle_key"):
            return credential.throttle_key
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        key = self.scope_key(request)
        now = time.time()
        window_start = int(now // self.window) * self.window
        count = self._hit(f"throttle:{key}:{window_start}")
        if count > self.limit:
            self._wait = window_start + self.window - now
            return False
        return True

    def _hit(self, cache_key: str) -> int:
        """Count this request in its window and return the window's count."""
        ttl = self.window + 5
        backend = getattr(cache, "_cache", None)
        if hasattr(backend, "get_client"):  # django.core.cache.backends.redis.RedisCache
            key = cache.make_and_validate_key(cache_key)
            pipe = backend.get_client(key, write=True).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, ttl)  # each window has its own key: refreshing the expiry is harmless
            count, _ = pipe.execute()
            return int(count)
        if cache.add(cache_key, 1, timeout=ttl):  # the local-memory cache of the embedded default
            return 1
        try:
            return cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=ttl)
            return 1

    def wait(self) -> float:
        return max(1.0, self._wait)
