"""A sign-in refused by the password-guess throttle answers 429 with Retry-After."""

from __future__ import annotations


class LoginThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        retry_after = getattr(request, "login_throttled", None)
        if retry_after and response.status_code == 200:
            response.status_code = 429
            response["Retry-After"] = str(int(retry_after))
        return response
