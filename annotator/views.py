"""Health checks and error pages (JSON under /api/, HTML elsewhere)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from annotator.api.errors import error_body


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Ready when the database (and Redis, where configured) answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # report, don't crash
        checks["database"] = f"error: {type(exc).__name__}"
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ok else "degraded", "checks": checks}, status=200 if ok else 503)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _page(request, status: int, title: str, message: str):
    if _is_api(request):
        code = {400: "bad_request", 403: "forbidden", 404: "not_found", 500: "server_error"}[status]
        return JsonResponse(error_body(message, code), status=status)
    try:
        return render(request, "error.html", {"title": title, "message": message}, status=status)
    except Exception:
        return HttpResponse(f"{title}: {message}", status=status, content_type="text/plain")


def not_found(request, exception=None):
    return _page(request, 404, "Not found", "There is nothing at this address.")


def forbidden(request, exception=None):
    reason = str(exception) if exception is not None and str(exception) else "You may not do this."
    return _page(request, 403, "Forbidden", reason)


def bad_request(request, exception=None):
    return _page(request, 400, "Bad request", "The request could not be understood.")


def server_error(request):
    return _page(request, 500, "Server error", "Something went wrong on our side; it has been logged.")
