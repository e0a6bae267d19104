"""Role sweep: every write endpoint (every route × every non-GET method it answers, from the
URL conf) × every role, checked against the permission the view declares
(``required_permissions``) and the matrix in ``organizations/roles.py``.

A role without the permission gets 403 (API: the message names its role and the roles that
may); a role with it gets anything but 403, and never a 5xx. Each request works on fresh
objects of the organization (a DELETE must not spoil the next role's request).

Generated: a new write route is swept as soon as it exists; one whose view declares no
permission fails until it does, or until it is listed in ``NO_PERMISSION_NEEDED`` with the
reason any signed-in member may use it.
"""

from __future__ import annotations

import pytest
from django.test import Client

from organizations.roles import PERMISSIONS, ROLE_ORDER, role_has
from tests.factories import FACTORIES, build
from tests.routes import all_routes, object_values

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
IGNORED_PREFIXES = ("admin/", "static/", "media/", "api/schema", "api/docs", "api/redoc")

# Write routes any signed-in member may use, and why (views with no role check at all).
NO_PERMISSION_NEEDED = {
    "healthz": "liveness probe: no data",
    "readyz": "readiness probe: no data",
    "login/": "signing in",
    "logout/": "signing out",
    "switch-organization/": "choosing among one's own organizations",
    "api/v1/me/password": "one's own password",
    "api/v1/^organizations$": "creating a new organization, of which the creator is the owner",
    "api/v1/^organizations/switch$": "choosing among one's own organizations",
    "server/^ping(?:\\.json)?/?$": "Cytomine's keep-alive: no data",
}


def _fresh_factories():
    """Objects a write may destroy or that several roles share get a fresh one per request."""
    from organizations.models import Membership
    from projects.models import LabelTemplate

    def member(world):
        from organizations.services import add_member
        from tests.conftest import PASSWORD, make_user

        user = make_user()
        membership, _ = add_member(
            actor=world.owner, organization=world.org, username=user.username, role="annotator", password=PASSWORD
        )
        return membership

    def template(world):
        from projects.services.templates import create_template

        name = f"sweep {LabelTemplate.objects.count()}"
        data = {"name": name, "labels": [{"name": "a", "color": "#123456"}]}
        return create_template(actor=world.owner, organization=world.org, data=data)

    return {**FACTORIES, Membership: member, LabelTemplate: template}


def fresh_build(model, world):
    factory = _fresh_factories().get(model)
    if factory is None:
        return build(model, world)  # raises LookupError naming the missing factory
    return factory(world)


def required_permission(route, method: str) -> tuple[bool, str | None]:
    """(declared, permission) for one route and method; permission None = any member."""
    view = route.view_class
    declared = getattr(view, "required_permissions", None)
    if not declared:
        return False, None
    key = route.action_for(method) or method
    if key not in declared:
        return False, None
    return True, declared[key]


def write_operations():
    for route in all_routes():
        if route.pattern.startswith(IGNORED_PREFIXES):
            continue
        for method in route.methods:
            if method in WRITE_METHODS:
                yield route, method


# Writes that also depend on who owns the object, beyond the role: pattern -> (what the
# rule is, how to make the requesting role's user the object's owner).
def _own_job(world, role, values) -> None:
    from jobs.models import Job

    Job.objects.filter(pk=values["pk"]).update(created_by=world.user(role))


OBJECT_RULES = {
    "api/v1/^jobs/(?P<pk>[0-9]+)/cancel$": ("the job's creator, or project.change", _own_job),
}


def _prepare(route, world, role, values) -> None:
    """The few writes that only make sense in a particular organization or for an owner."""
    if route.pattern == "organization/demo-reset/":
        world.org.is_demo = True
        world.org.save(update_fields=["is_demo"])
    if route.pattern in OBJECT_RULES:
        OBJECT_RULES[route.pattern][1](world, role, values)


def test_every_write_endpoint_answers_each_role_as_the_matrix_says(world_a):
    failures: list[str] = []
    swept = 0
    operations = list(write_operations())
    assert len(operations) > 100, "the URL conf has few write routes?"
    for route, method in operations:
        declared, permission = required_permission(route, method)
        if not declared and route.pattern not in NO_PERMISSION_NEEDED:
            failures.append(f"{method.upper()} {route.pattern}: the view declares no permission for it")
            continue
        if permission is not None and permission not in PERMISSIONS:
            failures.append(f"{method.upper()} {route.pattern}: unknown permission {permission!r}")
            continue
        portal = not route.pattern.startswith("api/")
        for role in ROLE_ORDER:
            values, problems = object_values(route.kwargs, route.view_class, world_a, build=fresh_build)
            if problems:
                failures += [f"{route.pattern}: {problem}" for problem in problems]
                break
            _prepare(route, world_a, role, values)
            url = route.url(values)
            if portal:
                client = Client()
                client.force_login(world_a.user(role))
                response = getattr(client, method)(url, {})
            else:
                response = getattr(world_a.client(role), method)(url, {}, format="json")
            swept += 1
            status = response.status_code
            label = f"{method.upper()} {url} as {role} ({permission or 'any member'})"
            if status >= 500:
                failures.append(f"{label}: {status} {response.content[:200]!r}")
            elif permission is not None and not role_has(role, permission):
                if status != 403:
                    failures.append(f"{label}: {status}, expected 403")
                elif not portal and f"Your role ({role}) may not" not in response.json().get("message", ""):
                    failures.append(f"{label}: 403 without naming the role: {response.content[:200]!r}")
            elif status == 403:
                failures.append(f"{label}: 403 for a role that holds the permission: {response.content[:200]!r}")
    assert not failures, "\n".join(failures)
    assert swept >= 5 * 100


def test_object_rules_refuse_everyone_else(world_a):
    """The object-level rules above, from the other side: a member who neither owns the
    object nor holds the permission gets 403."""
    from jobs.services import create_job

    job = create_job(organization=world_a.org, kind="sweep", created_by=world_a.owner)
    for role in ("reviewer", "annotator"):
        response = world_a.client(role).post(f"/api/v1/jobs/{job.pk}/cancel")
        assert response.status_code == 403 and "creator" in response.json()["message"], role
    assert world_a.client("manager").post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 200
