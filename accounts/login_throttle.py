"""Throttling of password guesses: sign-in (portal, admin — every session login) and the
current-password check of a password change.

Failures are counted in the cache (Redis in production, shared by every web process) per
*username + client address*, and per client address across usernames (password spraying).
From ``LOGIN_THROTTLE_FAILURES`` failures within ``LOGIN_THROTTLE_WINDOW_SECONDS`` the pair is
locked out for ``LOGIN_THROTTLE_LOCKOUT_SECONDS``, doubling with each further lockout up to
``LOGIN_THROTTLE_MAX_LOCKOUT_SECONDS``. While locked, even the right password is refused, with a
message saying how long to wait; a successful sign-in clears the pair's count. The address
limit is ten times the pair's. A password change counts wrong current passwords per user.

Only counters are stored — never a password, never whether the username exists.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)


class LoginThrottled(ValidationError):
    """Raised instead of checking a password while its key is locked out (shown on the form)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, code="throttled")
        self.retry_after = retry_after


def client_address(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or the entry ``LOGIN_THROTTLE_TRUSTED_PROXIES``
    hops from the right of ``X-Forwarded-For`` when that many proxies stand in front."""
    if request is None:
        return "unknown"
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = getattr(settings, "LOGIN_THROTTLE_TRUSTED_PROXIES", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    return address


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"login-throttle:{kind}:{digest}"


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class Throttle:
    """Failure counting and lockout for one key (and the address key beside it)."""

    def __init__(self, what: str, key: str, address_key: str | None = None, address_factor: int = 10):
        self.what = what
        self.key = key
        self.address_key = address_key
        self.address_factor = address_factor

    @staticmethod
    def _limits() -> tuple[int, int, int, int]:
        return (
            settings.LOGIN_THROTTLE_FAILURES,
            settings.LOGIN_THROTTLE_WINDOW_SECONDS,
            settings.LOGIN_THROTTLE_LOCKOUT_SECONDS,
            settings.LOGIN_THROTTLE_MAX_LOCKOUT_SECONDS,
        )

    def _locked_for(self, key: str) -> int:
        until = cache.get(f"{key}:locked-until")
        remaining = math.ceil(until - time.time()) if until else 0
        return max(remaining, 0)

    def check(self) -> None:
        """Raise LoginThrottled while the key (or its address) is locked out."""
        failures, *_ = self._limits()
        if failures <= 0:
            return
        for key in filter(None, (self.key, self.address_key)):
            remaining = self._locked_for(key)
            if remaining:
                raise LoginThrottled(
                    f"Too many failed attempts to {self.what}. For your account's safety, try again in "
                    f"{_wait_text(remaining)}.",
                    retry_after=remaining,
                )

    def _count(self, key: str, limit: int) -> bool:
        """Count one failure on ``key``; True when this failure starts a lockout."""
        _, window, lockout, max_lockout = self._limits()
        count_key = f"{key}:failures"
        if cache.add(count_key, 1, timeout=window):
            count = 1
        else:
            try:
                count = cache.incr(count_key)
            except ValueError:  # expired between add and incr
                cache.set(count_key, 1, timeout=window)
                count = 1
        if count < limit:
            return False
        lockouts_key = f"{key}:lockouts"
        lockouts = cache.get(lockouts_key, 0) + 1
        seconds = min(lockout * 2 ** (lockouts - 1), max_lockout)
        cache.set(lockouts_key, lockouts, timeout=max_lockout * 4)
        cache.set(f"{key}:locked-until", time.time() + seconds, timeout=seconds + 5)
        cache.delete(count_key)
        return True

    def failed(self) -> None:
        """Count a failure; raise LoginThrottled if it starts a lockout."""
        failures, *_ = self._limits()
        if failures <= 0:
            return
        started = self._count(self.key, failures)
        if self.address_key:
            started = self._count(self.address_key, failures * self.address_factor) or started
        if started:
            logger.warning("locked out after repeated failures: %s", self.what)
            self.check()

    def succeeded(self) -> None:
        cache.delete_many([f"{self.key}:failures", f"{self.key}:lockouts", f"{self.key}:locked-until"])


def sign_in_throttle(username: str, request) -> Throttle:
    address = client_address(request)
    return Throttle(
        "sign in",
        _key("sign-in", username.strip().lower(), address),
        address_key=_key("address", address),
    )


def password_change_throttle(user) -> Throttle:
    return Throttle("change the password", _key("password-change", str(user.pk)))
