"""API conventions every endpoint shares: one error shape, strict input, paging bounds,
trailing slashes, a complete and valid OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta, timezone
from urllib.parse import quote

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_malformed_json_is_400_with_message(world_a):
    response = world_a.client().generic(
        "POST", "/api/v1/projects", '{"name": "x", "kind": ', content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parse_error"
    assert "JSON" in body["message"]


def test_wrong_types_unknown_fields_and_lengths_are_400(world_a):
    client = world_a.client()
    response = client.post("/api/v1/projects", {"name": ["x"], "kind": 5, "colour": "red"}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "colour" in errors and "Unknown field" in errors["colour"][0]
    body_list = client.post("/api/v1/projects", [1, 2], format="json")
    assert body_list.status_code == 400


@pytest.mark.django_db
def test_a_string_is_measured_as_sent_not_after_trimming(world_a, make_project):
    """DRF trims before checking max_length, and str.strip() also removes \x1c-\x1f: the
    schema fuzz sent a 5,001-character description ending in \x1d and it was accepted."""
    project = make_project(world_a)
    client = world_a.client()
    url = f"/api/v1/projects/{project.pk}"
    for tail in ("\x1d", " "):
        too_long = client.patch(url, {"description": "d" * 5000 + tail}, format="json")
        assert too_long.status_code == 400, too_long.content
        assert "no more than 5000 characters" in too_long.json()["errors"]["description"][0]
    fits = client.patch(url, {"description": "d" * 4999 + " "}, format="json")
    assert fits.status_code == 200 and fits.json()["description"] == "d" * 4999  # trimmed as before


def test_error_message_names_the_first_problem(world_a):
    response = world_a.client().post("/api/v1/projects", {"kind": "image"}, format="json")
    assert response.json()["message"] == "Invalid input. name: This field is required."


@pytest.mark.parametrize(
    "query",
    # int() alone reads the last three as 1000, 5 and 1.
    ["limit=1001", "limit=0", "limit=abc", "offset=-1", "limit=1_000", "offset=%205%20", "limit=%EF%BC%91"],
)
def test_paging_bounds(world_a, query):
    response = world_a.client().get(f"/api/v1/projects?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_limit_1000_is_allowed(world_a):
    assert world_a.client().get("/api/v1/projects?limit=1000").status_code == 200


def test_trailing_slash_is_accepted_without_redirect(world_a):
    client = world_a.client()
    assert client.get("/api/v1/projects/").status_code == 200
    assert client.post("/api/v1/projects/", {"name": "s", "kind": "image"}, format="json").status_code == 201


@pytest.mark.parametrize("path", ["/api/v1/projects/99999999999999999999999", "/api/v1/projects/abc", "/api/v1/nope"])
def test_unknown_paths_and_huge_ids_are_json_404(world_a, path):
    response = world_a.client().get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_method_not_allowed_uses_the_error_shape(world_a):
    response = world_a.client().put("/api/v1/projects", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_unauthenticated_is_401(db):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/projects")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_request_id_is_echoed(world_a):
    response = world_a.client().get("/api/v1/me", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_openapi_schema_is_complete_and_valid(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/projects/{id}/copy" in text
    assert "TokenAuth" in text and "KeyPairAuth" in text


def test_schema_and_docs_are_served_from_local_assets(world_a):
    client = world_a.client()
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_health_endpoints(db, client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["checks"]["database"] == "ok" and ready["checks"]["redis"] == "ok"


def test_portal_pages_carry_a_strict_csp(world_a, client):
    client.force_login(world_a.owner)
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_csp_admits_the_object_store_that_signs_media_links():
    from django.test import override_settings

    from annotator.middleware import ContentSecurityPolicyMiddleware

    storages = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"endpoint_url": "https://minio.example.com:9000/"},
        }
    }
    with override_settings(S3_BUCKET="b", STORAGES=storages):
        policy = ContentSecurityPolicyMiddleware(lambda r: None).policy
    assert "img-src 'self' data: blob: https://minio.example.com:9000;" in policy
    assert "media-src 'self' blob: https://minio.example.com:9000;" in policy


def test_readme_documents_every_environment_variable():
    """Every variable annotator/settings.py reads is in README.md's configuration table."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    settings_source = (root / "annotator" / "settings.py").read_text()
    names = set(re.findall(r'env(?:_int|_bool|_list)?\(\s*"([A-Z0-9_]+)"', settings_source))
    readme = (root / "README.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert names and not missing, f"document these in README.md's Configuration: {missing}"


def test_readme_documents_every_management_command():
    """Every manage.py command our apps define is in README.md's "manage.py commands" table."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    commands = {
        path.stem
        for path in root.glob("*/management/commands/*.py")
        if not path.stem.startswith("_") and ".venv" not in path.parts
    }
    readme = (root / "README.md").read_text()
    table = readme.split("## manage.py commands", 1)[1].split("\n## ", 1)[0]
    missing = sorted(name for name in commands if f"| `{name}" not in table)
    assert commands and not missing, f"document these in README.md's manage.py commands: {missing}"


@pytest.mark.django_db
def test_date_filters_take_any_offset_python_reads_and_compare_in_utc(world_a):
    """PostgreSQL refuses UTC offsets beyond ±15:59; ISO 8601 (and Python) allow ±23:59."""
    from audit.models import AuditEvent

    client = world_a.client()
    assert client.post("/api/v1/projects", {"name": "dated", "kind": "image"}, format="json").status_code == 201
    created = AuditEvent.objects.filter(organization=world_a.org).latest("created_at").created_at
    # The same instant as `created` + 1 s, written with a -18:04 offset.
    later = (created + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=-18, minutes=-4))).isoformat()
    earlier = (created - timedelta(seconds=1)).astimezone(timezone(timedelta(hours=18, minutes=4))).isoformat()
    for query in (f"until={quote(later)}", f"since={quote(earlier)}"):
        response = client.get(f"/api/v1/audit-events?{query}")
        assert response.status_code == 200, response.json()
        assert response.json()["count"] >= 1
    assert client.get(f"/api/v1/audit-events?since={quote(later)}").json()["count"] == 0
    tasks = client.get(f"/api/v1/tasks?updated_since={quote(later)}")
    assert tasks.status_code == 200
    bad = client.get("/api/v1/audit-events?until=yesterday")
    assert bad.status_code == 400 and "until" in bad.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("project=0.0", "project"),  # Django's IntegerField alone reads "0.0" as 0
        ("project=1e0", "project"),
        ("is_default_detection=%25s%25d", "is_default_detection"),  # a "%" in the value (was a 500)
        ("is_default_detection=maybe", "is_default_detection"),
    ],
)
def test_list_filters_refuse_values_they_cannot_read_and_say_which(world_a, query, field):
    endpoint = "/api/v1/jobs" if field == "project" else "/api/v1/ml/models"
    response = world_a.client().get(f"{endpoint}?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()


def test_every_integer_filter_is_an_integer_in_the_schema():
    """A filter that refuses "1.5" must not be published as a number: clients and fuzzers
    generate from the schema."""
    import re

    from django.urls import resolve

    from annotator.api.filters import IntegerFilter
    from tests.routes import NON_ID_KWARGS, openapi_schema

    schema = openapi_schema()
    checked = []
    for path, item in schema["paths"].items():
        if "get" not in item:
            continue
        view = resolve(re.sub(r"\{(\w+)\}", lambda m: str(NON_ID_KWARGS.get(m[1], 1)), path)).func
        view_class = getattr(view, "cls", None)
        backends = getattr(view_class, "filter_backends", [])
        filterset_class = getattr(view_class, "filterset_class", None)
        if filterset_class is None and getattr(view_class, "filterset_fields", None):
            backend = next(b for b in backends if hasattr(b, "get_filterset_class"))()
            instance = view_class(action="list", kwargs={}, request=None, format_kwarg=None)
            filterset_class = backend.get_filterset_class(instance, view_class.model._default_manager.none())
        if filterset_class is None:
            continue
        parameters = {p["name"]: p["schema"] for p in item["get"].get("parameters", []) if p["in"] == "query"}
        for name, declared in filterset_class.base_filters.items():
            if isinstance(declared, IntegerFilter) and name in parameters:
                checked.append(f"{path}?{name}")
                assert parameters[name].get("type") == "integer", (path, name, parameters[name])
    assert any(c.startswith("/api/v1/tasks?project") for c in checked), checked
    assert len(checked) >= 10, checked


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "query", "says"),
    [
        ("/api/v1/tasks", "ordering=colour", "priority, created_at"),  # DRF drops unknown fields
        ("/api/v1/tasks", "ordering=name,nonsense", "'nonsense'"),
        ("/api/v1/tasks", "ordering=name,", "''"),
        ("/api/v1/tasks", "ordering=name,%20-created_at", "' -created_at'"),
        ("/api/v1/tasks", "ordering=-", "'-'"),
        ("/api/v1/tasks", "ordering=name&ordering=-name", "once (2 given)"),  # DRF keeps the last
        ("/api/v1/jobs", "ordering=kind", "created_at, finished_at"),
        ("/api/v1/tags", "ordering=name", "fixed order"),  # no ordering_fields: no ordering at all
    ],
)
def test_ordering_refuses_what_it_cannot_apply_and_says_what_it_can(world_a, endpoint, query, says):
    response = world_a.client().get(f"{endpoint}?{query}")
    assert response.status_code == 400, response.content
    assert says in response.json()["errors"]["ordering"][0], response.json()


@pytest.mark.django_db
def test_ordering_breaks_ties_by_id_so_pages_never_repeat_a_row(world_a, make_project):
    from tasks.models import Task

    project = make_project(world_a)
    made = [Task.objects.create(organization=world_a.org, project=project, name="same", priority=1) for _ in range(7)]
    ids = sorted(task.pk for task in made)
    client = world_a.client()

    def pages(ordering):
        seen = []
        for offset in range(0, 7, 2):
            body = client.get(f"/api/v1/tasks?project={project.pk}&ordering={ordering}&limit=2&offset={offset}")
            assert body.status_code == 200, body.content
            seen += [row["id"] for row in body.json()["results"]]
        return seen

    assert pages("name") == ids
    assert pages("-priority,name") == ids[::-1]  # the first term's direction
    assert pages("-priority,-id") == ids[::-1]  # an explicit id is left alone
    assert pages("") == ids  # the default (-priority, created_at, id)


def test_the_schema_publishes_each_lists_ordering_fields_as_a_pattern():
    import re

    from tests.routes import openapi_schema

    schema = openapi_schema()
    ordering = {
        path: next(p for p in item["get"]["parameters"] if p["name"] == "ordering")
        for path, item in schema["paths"].items()
        if "get" in item and any(p["name"] == "ordering" for p in item["get"].get("parameters", []))
    }
    assert "/api/v1/tags" not in ordering and "/api/v1/tasks/{id}/comments" not in ordering  # fixed orders
    assert "/api/v1/projects/{project_pk}/imports/{id}/files" not in ordering  # file order, no filters
    pattern = ordering["/api/v1/tasks"]["schema"]["pattern"]
    for good in ("", "name", "-priority,name", "status,-completed_at,id"):
        assert re.search(pattern, good), good
    for bad in ("colour", "name,", "name, id", "--name", "name;id"):
        assert not re.search(pattern, bad), bad
    assert len(ordering) >= 14, sorted(ordering)
