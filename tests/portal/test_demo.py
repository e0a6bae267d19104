"""Demo reset: only the demo organization's owner, confirmed in the page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from demo.services import DEMO_SLUG, load_demo
from organizations.models import Organization
from projects.models import Project
from tests.portal.conftest import has_form, text

pytestmark = pytest.mark.django_db


def demo_client(username: str) -> Client:
    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_the_demo_owner_resets_after_confirming(world_a):
    load_demo()
    org = Organization.objects.get(slug=DEMO_SLUG)
    client = demo_client("demo-owner")
    page = client.get(reverse("portal:organization"))
    assert has_form(page, reverse("portal:demo-reset")) and "Reset demo" in text(page)
    Project.objects.for_organization(org).update(name="Vandalised")
    ask = client.post(reverse("portal:demo-reset"))
    assert "Reset the demo organization?" in text(ask)
    assert Project.objects.filter(name="Vandalised").exists()
    done = client.post(reverse("portal:demo-reset"), {"confirmed": "yes"}, follow=True)
    assert "has been reset" in text(done)
    assert not Project.objects.filter(name="Vandalised").exists()
    new_org = Organization.objects.get(slug=DEMO_SLUG)
    assert Project.objects.for_organization(new_org).filter(name="Head and neck CT (demo)").exists()


def test_other_demo_roles_see_no_reset_and_are_refused():
    load_demo()
    client = demo_client("demo-admin")
    page = client.get(reverse("portal:organization"))
    assert not has_form(page, reverse("portal:demo-reset"))
    assert client.post(reverse("portal:demo-reset"), {"confirmed": "yes"}).status_code == 403


def test_an_ordinary_organizations_owner_cannot_reset_anything(world_a, owner_a, make_project):
    load_demo()
    make_project(world_a, name="Real work")
    assert not has_form(owner_a.get(reverse("portal:organization")), reverse("portal:demo-reset"))
    assert owner_a.post(reverse("portal:demo-reset"), {"confirmed": "yes"}).status_code == 403
    assert Project.objects.filter(name="Real work").exists()
