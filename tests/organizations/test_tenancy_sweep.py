"""Tenancy sweep: for every route that names an object id, organization B gets 404 for
organization A's object, for every method and every way B can sign in.

The routes come from two independent sources, so a route one of them misses is still swept:

* the URL conf (``tests/routes.py`` walks every pattern), and
* the OpenAPI schema (``/api/schema/``): every operation with a path parameter.

Credentials: the API (``/api/v1/``) is tried with B's API token, key pair (``X-Auth-Token``
pair), portal session (writes with a valid CSRF token) and the token of a user who belongs
to both organizations but whose credential was created in B; the peer-client routes
(``/api/...``: Cytomine, detection) also with Cytomine-signed requests; portal pages with
B's session. Nothing of A may come back: the answer is 404 and its body names nothing of A.

Generated: a new route whose ids cannot be resolved to an object of A fails here until it is
covered (register a factory in tests/factories.py, or map a new URL keyword in
``KWARG_MODELS``). The websocket groups (``/ws/events/``) are swept the same way from the
consumer's subscription table, and query-string references (signed download tokens, list
filters naming ids) from the schema's parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import build
from tests.routes import Route, object_values, routes_with_ids, schema_paths_with_parameters
from tests.routes import openapi_schema as generate_schema

pytestmark = pytest.mark.django_db


# Routes outside the API that name no tenant object.
IGNORED_PREFIXES = ("admin/", "static/", "media/")
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Target:
    """One route to sweep: a URL pattern, the view that answers it and its keywords."""

    source: str  # "urlconf" or "schema"
    path: str  # the URL pattern (url conf regex or schema template)
    callback: object
    kwargs: list[str]
    methods: list[str] = field(default_factory=list)

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def family(self) -> str:
        path = self.path.lstrip("/^")
        if path.startswith("api/v1/"):
            return "api"
        if path.startswith("api/"):
            return "compat"
        return "portal"


def _values(target: Target, world_a) -> tuple[dict[str, object], list[str]]:
    """URL values naming organization A's objects; (values, problems)."""
    values, problems = object_values(target.kwargs, target.view_class, world_a)
    return values, [f"{target.path}: {problem}" for problem in problems]


def _url_of(target: Target, values: dict[str, object]) -> str:
    if target.source == "schema":
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m[1]]), target.path)
    return Route(target.path, None, target.callback, target.kwargs).url(values)


# --- B's ways in -------------------------------------------------------------------------------
class SignedClient(APIClient):
    """Cytomine-style signed requests with one of B's key pairs."""

    def __init__(self, public: str, private: str):
        super().__init__()
        self.public, self.private = public, private

    def generic(self, method, path, data="", content_type="application/octet-stream", secure=False, **extra):
        date = formatdate(usegmt=True)
        message = f"{method.upper()}\n\n\n{date}"  # signed without content type, as the server allows
        signature = base64.b64encode(hmac.new(self.private.encode(), message.encode(), hashlib.sha1).digest())
        extra.update(HTTP_DATE=date, HTTP_AUTHORIZATION=f"CYTOMINE {self.public}:{signature.decode()}")
        return super().generic(method, path, data, content_type, secure=secure, **extra)


def _csrf_session(user) -> APIClient:
    """A portal session that passes CSRF like a browser: cookie and header agree."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    client.credentials(HTTP_X_CSRFTOKEN=secret)
    return client


def b_credentials(world_a, world_b) -> dict[str, APIClient | Client]:
    from accounts.services import create_api_token
    from organizations.services import add_member
    from tests.conftest import PASSWORD

    pair, private = world_b.key_pair("owner")
    key_client = APIClient()
    key_client.credentials(HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    # A member of both organizations: a credential created in B acts in B only.
    both = world_b.user("admin")
    add_member(actor=world_a.owner, organization=world_a.org, username=both.username, role="owner", password=PASSWORD)
    _, dual_token = create_api_token(user=both, organization=world_b.org, name="dual")
    dual = APIClient()
    dual.credentials(HTTP_AUTHORIZATION=f"Token {dual_token}")
    portal = Client()
    portal.force_login(world_b.owner)
    return {
        "token": world_b.client("owner"),
        "key pair": key_client,
        "signed request": SignedClient(pair.public_key, private),
        "session": _csrf_session(world_b.owner),
        "token of a member of both, made in B": dual,
        "portal session": portal,
    }


CREDENTIALS_BY_FAMILY = {
    "api": ["token", "key pair", "session", "token of a member of both, made in B"],
    "compat": ["token", "key pair", "signed request", "session", "token of a member of both, made in B"],
    "portal": ["portal session"],
}


def a_markers(world_a) -> list[str]:
    """Strings only organization A's data contains: none may reach B."""
    users = [u.username for u in world_a.users.values()]
    return [world_a.org.name, world_a.org.slug, *users]


@dataclass
class Sweep:
    world_a: object
    world_b: object
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    swept: set[tuple[str, str]] = field(default_factory=set)  # (method, url)

    def __post_init__(self):
        self.clients = b_credentials(self.world_a, self.world_b)
        self.markers = a_markers(self.world_a)
        owner_portal = Client()
        owner_portal.force_login(self.world_a.owner)
        self.owners = {
            "api": self.world_a.client("owner"),
            "compat": self.world_a.client("owner"),
            "portal": owner_portal,
        }

    def request(self, how: str, method: str, url: str):
        self.requests += 1
        return getattr(self.clients[how], method)(url, {}, format="json")

    def check_foreign(self, response, label: str) -> None:
        if response.status_code != 404:
            self.failures.append(f"{label}: {response.status_code} (expected 404)")
            return
        body = response.content.decode("utf-8", "replace")
        leaked = [marker for marker in self.markers if marker in body]
        if leaked:
            self.failures.append(f"{label}: the 404 names organization A's {leaked}")

    def target(self, target: Target) -> None:
        values, problems = _values(target, self.world_a)
        self.failures += problems
        if problems:
            return
        url = _url_of(target, values)
        for method in target.methods:
            self.swept.add((method, url))
            for how in CREDENTIALS_BY_FAMILY[target.family]:
                response = self.request(how, method, url)
                self.check_foreign(response, f"{method.upper()} {url} as B's {how} ({target.source})")
        if "get" in target.methods:  # the object really exists for A: the sweep is not vacuous
            status = self.owners[target.family].get(url).status_code
            if status == 404:
                self.failures.append(f"GET {url} as A's owner: 404 (A's object should be visible to A)")


def test_b_credentials_really_work_in_b(world_a, world_b):
    """The sweep's clients are signed in (a 404 from an anonymous client would prove nothing)."""
    clients = b_credentials(world_a, world_b)
    for how in CREDENTIALS_BY_FAMILY["api"]:
        me = clients[how].get("/api/v1/organizations/current")
        assert me.status_code == 200 and me.json()["slug"] == world_b.org.slug, how
    created = clients["session"].post("/api/v1/projects", {"name": "csrf ok", "kind": "image"}, format="json")
    assert created.status_code == 201, "the session's CSRF token must pass"
    for how in CREDENTIALS_BY_FAMILY["compat"]:
        assert clients[how].get("/api/user/current").status_code == 200, how
    assert clients["portal session"].get("/").status_code == 200


def test_every_route_with_an_object_id_answers_404_to_another_organization(world_a, world_b):
    targets = [
        Target("urlconf", r.pattern, r.callback, r.kwargs, r.methods)
        for r in routes_with_ids()
        if not r.pattern.startswith(IGNORED_PREFIXES)
    ]
    assert len(targets) > 100, "the URL conf has few routes with ids?"
    sweep = Sweep(world_a, world_b)
    for target in targets:
        sweep.target(target)
    assert not sweep.failures, "\n".join(sweep.failures)
    assert sweep.requests > 400


# --- the same from the OpenAPI schema ------------------------------------------------------------
@pytest.fixture(scope="module")
def openapi_schema() -> dict:
    return generate_schema()


def schema_targets(schema: dict) -> tuple[list[Target], list[str]]:
    """Every schema path with a path parameter, resolved to the view that answers it."""
    paths, problems = schema_paths_with_parameters(schema)
    return [Target("schema", p.path, p.callback, p.kwargs, p.methods) for p in paths], problems


def test_every_schema_operation_with_a_path_parameter_answers_404_to_another_organization(
    world_a, world_b, openapi_schema
):
    targets, problems = schema_targets(openapi_schema)
    assert len(targets) > 60 and not problems, problems
    sweep = Sweep(world_a, world_b)
    for target in targets:
        sweep.target(target)
    assert not sweep.failures, "\n".join(sweep.failures)
    operations = sum(len(t.methods) for t in targets)
    assert len(sweep.swept) == operations  # each operation swept once, with every credential


# --- references in query strings -------------------------------------------------------------------
# Query parameters that name an object of a model (list filters, Cytomine's ?project= ...).
QUERY_ID_PARAMETERS: dict[str, Callable] = {
    "project": lambda: _model("projects.Project"),
    "project_id": lambda: _model("projects.Project"),
    "task": lambda: _model("tasks.Task"),
    "task_id": lambda: _model("tasks.Task"),
    "batch": lambda: _model("tasks.Batch"),
    "image": lambda: _model("tasks.Task"),
    "ontology": lambda: _model("projects.Project"),
    "term": lambda: _model("projects.LabelClass"),
    "model": lambda: _model("ml.InferenceModel"),
    "model_id": lambda: _model("ml.InferenceModel"),
    "run": lambda: _model("ml.InferenceRun"),
    "job": lambda: _model("jobs.Job"),
}


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


def test_list_filters_naming_another_organizations_ids_show_nothing_of_it(world_a, world_b, openapi_schema):
    """Every GET whose query names an object (``?project=``, ``?task_id=``...) with A's id: B
    gets the very answer an id that exists nowhere gets (no existence oracle), and never a
    row or a byte that names A."""
    sweep = Sweep(world_a, world_b)
    checked = 0
    missing = 2**62
    for path, item in openapi_schema["paths"].items():
        operation = item.get("get")
        if operation is None or "{" in path:
            continue
        params = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
        named = [p for p in params if p in QUERY_ID_PARAMETERS]
        if not named:
            continue
        ids = {p: build(QUERY_ID_PARAMETERS[p](), world_a).pk for p in named}
        query = "&".join(f"{p}={value}" for p, value in ids.items())
        nowhere = "&".join(f"{p}={missing}" for p in ids)
        family = Target("schema", path, None, []).family
        for how in CREDENTIALS_BY_FAMILY[family]:
            response = sweep.request(how, "get", f"{path}?{query}")
            baseline = sweep.request(how, "get", f"{path}?{nowhere}")
            checked += 1
            label = f"GET {path}?{query} as B's {how}"
            body = response.content.decode("utf-8", "replace")
            leaked = [marker for marker in sweep.markers if marker in body]
            if response.status_code >= 500 or leaked:
                sweep.failures.append(f"{label}: {response.status_code}, names A's {leaked}")
            if response.status_code != baseline.status_code:
                sweep.failures.append(
                    f"{label}: {response.status_code}, but {baseline.status_code} for ids that exist nowhere"
                )
            elif response.get("Content-Type", "").startswith("application/json"):
                normalized = body
                for value in ids.values():
                    normalized = re.sub(rf"\b{value}\b", str(missing), normalized)
                if normalized != baseline.content.decode("utf-8", "replace"):
                    sweep.failures.append(f"{label}: answers differently than for ids that exist nowhere")
            if response.status_code == 200 and response.get("Content-Type", "").startswith("application/json"):
                data = response.json()
                rows = data.get("results", data.get("collection", data)) if isinstance(data, dict) else data
                if isinstance(rows, list) and rows:
                    sweep.failures.append(f"{label}: {len(rows)} row(s) of A")
    assert checked > 20
    assert not sweep.failures, "\n".join(sweep.failures)


def test_a_signed_download_link_of_a_never_serves_b(world_a, world_b):
    """Local-storage download links name their organization: B, signed in, gets 404."""
    from media.storage import download_url

    asset = build(_model("media.Asset"), world_a)
    url = download_url(asset.file, organization_id=world_a.org.pk, filename="a.png", content_type="image/png")
    sweep = Sweep(world_a, world_b)
    for how in CREDENTIALS_BY_FAMILY["api"]:
        sweep.check_foreign(sweep.request(how, "get", url), f"GET {url} as B's {how}")
    assert not sweep.failures, "\n".join(sweep.failures)
    assert world_a.client().get(url).status_code == 200
