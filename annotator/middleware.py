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
