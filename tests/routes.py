"""Enumerate the URL conf: every route, its view, the HTTP methods it answers and the
object ids it names. Used by the tenancy sweep and the permission-coverage tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass
class Route:
    pattern: str  # regex-ish, joined
    name: str | None
    callback: object
    kwargs: list[str] = field(default_factory=list)

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def methods(self) -> list[str]:
        actions = getattr(self.callback, "actions", None)
        if actions:
            return sorted(actions)
        view = self.view_class
        if view is None:
            return ["get", "post"]
        return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]

    def action_for(self, method: str) -> str | None:
        actions = getattr(self.callback, "actions", None)
        return actions.get(method) if actions else None

    def url(self, values: dict[str, object]) -> str:
        path = self.pattern
        for key, value in values.items():
            path = re.sub(rf"\(\?P<{key}>[^)]*\)", str(value), path)
            path = re.sub(rf"<(?:\w+:)?{key}>", str(value), path)
        path = path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\.", ".")
        path = re.sub(r"\(\?:[^)]*\)\??", "", path)
        return "/" + path.lstrip("/")


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            joined = prefix + str(entry.pattern)
            kwargs = re.findall(r"\(\?P<(\w+)>", joined) + re.findall(r"<(?:\w+:)?(\w+)>", joined)
            yield Route(joined, entry.name, entry.callback, kwargs)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def routes_with_ids() -> list[Route]:
    return [r for r in all_routes() if r.kwargs and not r.pattern.startswith("admin/")]
