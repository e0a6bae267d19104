"""Tenancy sweep: for every route that names an object id, organization B — by session,
API token and key pair — gets 404 for organization A's object, for every method.

Generated from the URL conf: a new route whose ids cannot be resolved to an object of A
fails here until it is covered (register a factory in tests/factories.py, or map a new
URL keyword in ``KWARG_MODELS``).
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import build
from tests.routes import routes_with_ids

pytestmark = pytest.mark.django_db


def _kwarg_models():
    from projects.models import Project

    mapping = {"project_pk": Project}
    try:
        from tasks.models import Task

        mapping.update({"task_pk": Task, "task_id": Task})
    except ImportError:  # pragma: no cover
        pass
    try:
        from annotations.models import Annotation

        mapping["annotation_id"] = Annotation
    except ImportError:  # pragma: no cover
        pass
    return mapping


# URL keywords that are not object ids (values used as they are).
NON_ID_KWARGS = {"index": 0, "format": "json", "x": 0, "y": 0, "w": 10, "h": 10, "ext": "png"}
# Routes outside the API that name no tenant object.
IGNORED_PREFIXES = ("admin/", "static/", "media/")


def _resolve(route, world_a):
    """Build URL values for A's objects; returns (values, problems)."""
    values: dict[str, object] = {}
    problems: list[str] = []
    kwarg_models = _kwarg_models()
    view = route.view_class
    cache: dict[type, object] = {}

    def obj(model):
        if model not in cache:
            cache[model] = build(model, world_a)
        return cache[model]

    try:
        return _values(route, view, obj, kwarg_models, values, problems)
    except LookupError as exc:
        return values, [f"{route.pattern}: {exc}"]


def _values(route, view, obj, kwarg_models, values, problems):
    for key in route.kwargs:
        if key in NON_ID_KWARGS:
            values[key] = NON_ID_KWARGS[key]
        elif key in ("pk", "id") and getattr(view, "model", None) is not None:
            instance = obj(view.model)
            # A nested route's object must belong to the parent named in the URL.
            values[key] = instance.pk
            parent = getattr(instance, "project_id", None)
            if "project_pk" in route.kwargs and parent is not None:
                values["project_pk"] = parent
                values.setdefault("project_pk", parent)
        elif key in kwarg_models:
            values.setdefault(key, obj(kwarg_models[key]).pk)
        else:
            problems.append(f"{route.pattern}: don't know how to build an organization-A value for <{key}>")
    return values, problems


def _clients(world_b):
    token_client = world_b.client("owner")
    pair, private = world_b.key_pair("owner")
    key_client = APIClient()
    key_client.credentials(HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    session_client = APIClient()
    session_client.force_login(world_b.owner)
    return {"token": token_client, "key pair": key_client, "session": session_client}


def test_every_route_with_an_object_id_answers_404_to_another_organization(world_a, world_b):
    routes = [r for r in routes_with_ids() if not r.pattern.startswith(IGNORED_PREFIXES)]
    assert routes, "the URL conf has no routes with ids?"
    clients = _clients(world_b)
    owner_a = world_a.client("owner")
    # Portal pages (outside /api/) know only sessions: B's session tries every method there
    # (the test client skips CSRF), and A's own session proves the object is visible.
    portal_b = Client()
    portal_b.force_login(world_b.owner)
    portal_a = Client()
    portal_a.force_login(world_a.owner)
    failures: list[str] = []
    swept = 0
    for route in routes:
        values, problems = _resolve(route, world_a)
        failures += problems
        if problems:
            continue
        url = route.url(values)
        is_portal = not route.pattern.startswith("api/")
        for method in route.methods:
            for how, client in {"portal session": portal_b}.items() if is_portal else clients.items():
                if how == "session" and method != "get":
                    continue  # session writes need CSRF; token and key pair cover writes
                response = getattr(client, method)(url, {}, format="json")
                swept += 1
                if response.status_code != 404:
                    failures.append(f"{method.upper()} {url} as B's {how}: {response.status_code} (expected 404)")
        if "get" in route.methods:
            # The object really exists for its own organization (the sweep is not vacuous).
            status = (portal_a if is_portal else owner_a).get(url).status_code
            if status == 404:
                failures.append(f"GET {url} as A's owner: 404 (A's object should be visible to A)")
    assert not failures, "\n".join(failures)
    assert swept > 0
