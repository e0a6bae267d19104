"""Session sign-in: Django's model backend behind the password-guess throttle.

Every session login goes through ``django.contrib.auth.authenticate`` and so through here —
the portal's sign-in page and the admin's alike. A locked-out attempt raises
``LoginThrottled`` (a ``ValidationError``), which the sign-in forms show as the form's error;
the message also goes to the page's messages, and the answer becomes a ``429`` with
``Retry-After`` (``accounts.middleware.LoginThrottleMiddleware``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from accounts.login_throttle import LoginThrottled, sign_in_throttle


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        throttle = sign_in_throttle(str(username), request)
        try:
            throttle.check()
            user = super().authenticate(request, username=username, password=password, **kwargs)
            if user is None:
                throttle.failed()
        except LoginThrottled as exc:
            _tell(request, exc)
            raise
        if user is not None:
            throttle.succeeded()
        return user


def _tell(request, exc: LoginThrottled) -> None:
    if request is None:
        return
    request.login_throttled = exc.retry_after
    messages.error(request, exc.messages[0], fail_silently=True)
