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


# URL keywords that are not object ids (values used as they are).
NON_ID_KWARGS = {"index": 0, "format": "json", "x": 0, "y": 0, "w": 10, "h": 10, "ext": "png"}


def _kwarg_models() -> dict[str, type]:
    from annotations.models import Annotation
    from projects.models import Project
    from tasks.models import Task

    return {"project_pk": Project, "task_pk": Task, "task_id": Task, "annotation_id": Annotation}


def object_values(kwargs: list[str], view, world, build=None) -> tuple[dict[str, object], list[str]]:
    """URL values naming objects of ``world``'s organization, made with tests/factories.py;
    returns (values, problems) — a problem names a keyword no factory can fill."""
    from tests.factories import VIEW_OBJECTS

    if build is None:
        from tests.factories import build
    values: dict[str, object] = {}
    cache: dict[type, object] = {}
    kwarg_models = _kwarg_models()

    def obj(model):
        if model not in cache:
            cache[model] = build(model, world)
        return cache[model]

    try:
        for key in dict.fromkeys(kwargs):
            if key in NON_ID_KWARGS:
                values[key] = NON_ID_KWARGS[key]
            elif key in ("pk", "id") and getattr(view, "model", None) is not None:
                for_view = VIEW_OBJECTS.get(f"{view.__module__}.{view.__qualname__}")
                instance = for_view(world) if for_view is not None else obj(view.model)
                values[key] = instance.pk
                parent = getattr(instance, "project_id", None)
                if "project_pk" in kwargs and parent is not None:
                    values["project_pk"] = parent  # a nested object belongs to the parent in the URL
            elif key in kwarg_models:
                values.setdefault(key, obj(kwarg_models[key]).pk)
            else:
                return values, [f"don't know how to build a value for <{key}>"]
    except LookupError as exc:
        return values, [str(exc)]
    return values, []


@dataclass
class SchemaPath:
    """An OpenAPI path with path parameters, resolved to the view that answers it."""

    path: str  # e.g. /api/v1/projects/{project_pk}/labels/{id}
    callback: object
    kwargs: list[str]
    methods: list[str]

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    def url(self, values: dict[str, object]) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m[1]]), self.path)


def openapi_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def schema_paths_with_parameters(schema: dict) -> tuple[list[SchemaPath], list[str]]:
    """Every schema path with a path parameter and the view answering it; (paths, problems)."""
    from django.urls import Resolver404, resolve

    found, problems = [], []
    for path, item in schema["paths"].items():
        names = re.findall(r"\{(\w+)\}", path)
        if not names:
            continue
        sample = re.sub(r"\{(\w+)\}", lambda m: str(NON_ID_KWARGS.get(m[1], 1)), path)
        try:
            match = resolve(sample)
        except Resolver404:
            problems.append(f"{path}: in the schema but no route answers it")
            continue
        methods = [m for m in ("get", "post", "put", "patch", "delete") if m in item]
        found.append(SchemaPath(path, match.func, names, methods))
    return found, problems
