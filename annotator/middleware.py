from __future__ import annotations


class ApiTrailingSlashMiddleware:
    """Accept ``/api/v1/projects/`` as ``/api/v1/projects`` (no redirect, so POST bodies survive)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/api/v1/") and path.endswith("/") and len(path) > len("/api/v1/"):
            request.path_info = path.rstrip("/")
        return self.get_response(request)


def _media_origins() -> str:
    """Where presigned media links point (S3 endpoint) plus CSP_EXTRA_MEDIA_ORIGINS."""
    from urllib.parse import urlsplit

    from django.conf import settings

    origins: list[str] = []
    if getattr(settings, "S3_BUCKET", None):
        endpoint = settings.STORAGES["default"].get("OPTIONS", {}).get("endpoint_url")
        if endpoint:
            parts = urlsplit(endpoint)
            origins.append(f"{parts.scheme}://{parts.netloc}")
        else:
            origins.append("https://*.amazonaws.com")
    origins += getattr(settings, "CSP_EXTRA_MEDIA_ORIGINS", [])
    return " ".join(origins)


class ContentSecurityPolicyMiddleware:
    """A strict Content-Security-Policy for portal pages (no inline scripts, no CDNs).

    Media may also come from the object store that signs download links (S3 endpoint)."""

    def __init__(self, get_response):
        self.get_response = get_response
        media = _media_origins()
        extra = f" {media}" if media else ""
        self.policy = (
            f"default-src 'self'; img-src 'self' data: blob:{extra}; media-src 'self' blob:{extra}; "
            "style-src 'self' 'unsafe-inline'; script-src 'self'; "
            f"connect-src 'self' ws: wss:{extra}; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.policy)
        return response


class ServiceUnavailableMiddleware:
    """A database connection lost mid-request (failover, restart, a killed backend) answers
    ``503`` with ``Retry-After`` — the error shape under /api/, a short page elsewhere —
    instead of a 500: the client may simply retry. The transaction the request was in is
    rolled back by the server with the connection, so nothing half-written remains; Django
    opens a fresh connection for the next request."""

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        import logging

        from django.db import InterfaceError, OperationalError
        from django.http import HttpResponse, JsonResponse

        from annotator.api.errors import error_body

        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logging.getLogger("annotator.database").warning(
            "database unavailable during %s %s: %s", request.method, request.path, exception
        )
        message = "The database is unavailable right now; nothing was changed. Retry in a few seconds."
        if request.path.startswith("/api/"):
            response = JsonResponse(error_body(message, "database_unavailable"), status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response
