"""Every portal page renders for its members, under the strict CSP, and sends strangers to sign in."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from organizations.roles import Role
from tests.portal.conftest import text

pytestmark = pytest.mark.django_db


def page_urls(world, project, label, template, membership) -> list[str]:
    return [
        reverse("portal:home"),
        reverse("portal:project-create"),
        reverse("portal:project", args=[project.pk]),
        reverse("portal:project-settings", args=[project.pk]),
        reverse("portal:labels", args=[project.pk]),
        reverse("portal:label", args=[project.pk, label.pk]),
        reverse("portal:templates"),
        reverse("portal:template-create"),
        reverse("portal:template-import"),
        reverse("portal:template", args=[template.pk]),
        reverse("portal:members"),
        reverse("portal:audit"),
        reverse("portal:organization"),
        reverse("portal:profile"),
    ]


@pytest.fixture
def objects(world_a, make_project):
    from tests.conftest import DEFAULT_LABELS

    project = make_project(world_a, labels=DEFAULT_LABELS)
    return project, project.labels.first(), world_a.org, world_a.membership(Role.ANNOTATOR)


def test_every_page_renders_for_the_owner_without_inline_scripts(world_a, owner_a, objects):
    from projects.models import LabelTemplate

    project, label, _, membership = objects
    template = LabelTemplate.objects.for_organization(world_a.org).first()
    for url in page_urls(world_a, project, label, template, membership):
        response = owner_a.get(url)
        assert response.status_code == 200, url
        body = text(response)
        assert "script-src 'self'" in response["Content-Security-Policy"]
        # CSP forbids inline scripts: every <script> names a static file, no on* handlers.
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), url
        assert not re.search(r"\son(click|submit|change|load)=", body), url
        assert "window.confirm" not in body and "confirm(" not in body


def test_every_form_carries_a_csrf_token(world_a, owner_a, objects):
    from projects.models import LabelTemplate

    project, label, _, membership = objects
    template = LabelTemplate.objects.for_organization(world_a.org).first()
    for url in page_urls(world_a, project, label, template, membership):
        body = text(owner_a.get(url))
        for form in re.findall(r"<form[^>]*>.*?</form>", body, flags=re.S):
            if 'method="post"' in form:
                assert "csrfmiddlewaretoken" in form, (url, form[:200])


def test_a_stranger_is_sent_to_sign_in(client, objects):
    project = objects[0]
    response = client.get(reverse("portal:project", args=[project.pk]))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_csrf_is_enforced_on_portal_forms(world_a, objects):
    from django.test import Client

    project = objects[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.owner)
    response = client.post(reverse("portal:project-rename", args=[project.pk]), {"name": "no token"})
    assert response.status_code == 403
    project.refresh_from_db()
    assert project.name != "no token"


def test_sign_in_and_out(world_a):
    from django.test import Client

    from tests.conftest import PASSWORD

    client = Client()
    bad = client.post(reverse("portal:login"), {"username": world_a.owner.username, "password": "wrong"})
    assert bad.status_code == 200 and "didn't match" in text(bad)
    good = client.post(reverse("portal:login"), {"username": world_a.owner.username, "password": PASSWORD})
    assert good.status_code == 302
    assert client.get("/").status_code == 200
    client.post(reverse("portal:logout"))
    assert client.get("/").status_code == 302


def test_organization_switcher_lists_only_my_organizations_and_switches(world_a, world_b, signed_in):
    from organizations.services import add_member

    add_member(actor=world_b.owner, organization=world_b.org, username=world_a.owner.username, role=Role.REVIEWER)
    client = signed_in(world_a)
    body = text(client.get("/"))
    assert world_a.org.name in body and world_b.org.name in body
    response = client.post(reverse("portal:switch-organization"), {"organization": world_b.org.slug}, follow=True)
    assert f"Now working in {world_b.org.name}" in text(response)
    assert response.context["organization"] == world_b.org
    # An organization the user is not in does not exist for them.
    from organizations.services import create_organization
    from tests.conftest import make_user

    other = create_organization(name="Elsewhere", owner=make_user())
    assert client.post(reverse("portal:switch-organization"), {"organization": other.slug}).status_code == 404


def test_navigation_shows_only_pages_the_role_may_open(world_a, signed_in):
    annotator = text(signed_in(world_a, Role.ANNOTATOR).get("/"))
    assert 'href="/members/"' not in annotator and 'href="/audit/"' not in annotator
    manager = text(signed_in(world_a, Role.MANAGER).get("/"))
    assert 'href="/members/"' in manager and 'href="/audit/"' not in manager
    admin = text(signed_in(world_a, Role.ADMIN).get("/"))
    assert 'href="/members/"' in admin and 'href="/audit/"' in admin
