"""Members (list, add, change role, remove) and the audit log with filters and paging."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from audit.services import record_event
from organizations.models import Membership
from organizations.roles import Role
from tests.portal.conftest import has_form, text

pytestmark = pytest.mark.django_db


def test_admin_sees_members_with_role_controls(world_a, signed_in):
    response = signed_in(world_a, Role.ADMIN).get(reverse("portal:members"))
    body = text(response)
    for user in world_a.users.values():
        assert user.username in body
    annotator = world_a.membership(Role.ANNOTATOR)
    assert has_form(response, reverse("portal:member-role", args=[annotator.pk]))
    assert has_form(response, reverse("portal:member-remove", args=[annotator.pk]))
    assert "Add a member" in body


def test_a_manager_sees_the_list_only_and_the_server_refuses_changes(world_a, signed_in):
    client = signed_in(world_a, Role.MANAGER)
    response = client.get(reverse("portal:members"))
    annotator = world_a.membership(Role.ANNOTATOR)
    assert response.status_code == 200 and annotator.user.username in text(response)
    assert "Add a member" not in text(response)
    assert not has_form(response, reverse("portal:member-role", args=[annotator.pk]))
    assert not has_form(response, reverse("portal:member-remove", args=[annotator.pk]))
    assert client.post(reverse("portal:members"), {"username": "x", "role": "annotator"}).status_code == 403
    assert client.post(reverse("portal:member-role", args=[annotator.pk]), {"role": "admin"}).status_code == 403
    assert client.post(reverse("portal:member-remove", args=[annotator.pk]), {"confirmed": "yes"}).status_code == 403
    annotator.refresh_from_db()
    assert annotator.role == Role.ANNOTATOR


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ANNOTATOR])
def test_workers_cannot_open_members_or_audit(world_a, signed_in, role):
    client = signed_in(world_a, role)
    assert client.get(reverse("portal:members")).status_code == 403
    assert client.get(reverse("portal:audit")).status_code == 403


def test_add_an_existing_user_and_a_new_user(world_a, world_b, owner_a):
    existing = world_b.user(Role.ANNOTATOR)
    response = owner_a.post(reverse("portal:members"), {"username": existing.username, "role": "reviewer"})
    assert response.status_code == 302
    assert Membership.objects.get(user=existing, organization=world_a.org).role == Role.REVIEWER
    response = owner_a.post(
        reverse("portal:members"),
        {"username": "newcomer", "email": "n@example.com", "role": "annotator", "password": "a-long-passphrase-42"},
        follow=True,
    )
    assert "Created and added newcomer as Annotator." in text(response)
    assert User.objects.get(username="newcomer").check_password("a-long-passphrase-42")


def test_add_shows_errors(world_a, owner_a):
    no_password = owner_a.post(reverse("portal:members"), {"username": "ghost", "role": "annotator"})
    assert no_password.status_code == 400 and "needs an initial password" in text(no_password)
    weak = owner_a.post(reverse("portal:members"), {"username": "ghost", "role": "annotator", "password": "12345"})
    assert weak.status_code == 400 and "too short" in text(weak)
    twice = owner_a.post(
        reverse("portal:members"), {"username": world_a.user(Role.ANNOTATOR).username, "role": "annotator"}
    )
    assert twice.status_code == 400 and "already a member" in text(twice)
    assert not User.objects.filter(username="ghost").exists()


def test_an_admin_cannot_make_an_owner(world_a, signed_in):
    client = signed_in(world_a, Role.ADMIN)
    annotator = world_a.membership(Role.ANNOTATOR)
    response = client.post(reverse("portal:member-role", args=[annotator.pk]), {"role": "owner"}, follow=True)
    assert "Only an owner may make someone an owner." in text(response)
    annotator.refresh_from_db()
    assert annotator.role == Role.ANNOTATOR


def test_change_role_and_remove_with_confirmation(world_a, owner_a):
    annotator = world_a.membership(Role.ANNOTATOR)
    response = owner_a.post(reverse("portal:member-role", args=[annotator.pk]), {"role": "reviewer"}, follow=True)
    assert "is now Reviewer" in text(response)
    annotator.refresh_from_db()
    assert annotator.role == Role.REVIEWER
    url = reverse("portal:member-remove", args=[annotator.pk])
    ask = owner_a.post(url)
    assert f"Remove {annotator.user.username} from" in text(ask)
    assert Membership.objects.filter(pk=annotator.pk).exists()
    owner_a.post(url, {"confirmed": "yes"})
    assert not Membership.objects.filter(pk=annotator.pk).exists()


def test_the_last_owner_stays(world_a, owner_a):
    me = world_a.membership(Role.OWNER)
    response = owner_a.post(reverse("portal:member-remove", args=[me.pk]), {"confirmed": "yes"}, follow=True)
    assert "must keep at least one owner" in text(response)
    assert Membership.objects.filter(pk=me.pk).exists()


def test_another_organizations_member_does_not_exist(world_b, owner_a):
    theirs = world_b.membership(Role.ANNOTATOR)
    assert owner_a.post(reverse("portal:member-role", args=[theirs.pk]), {"role": "admin"}).status_code == 404
    assert owner_a.post(reverse("portal:member-remove", args=[theirs.pk]), {"confirmed": "yes"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.role == Role.ANNOTATOR


def test_audit_log_filters_and_pages(world_a, world_b, owner_a, make_project):
    make_project(world_a, name="Audited")
    make_project(world_b, name="Elsewhere")
    for i in range(60):
        record_event(actor=world_a.user(Role.MANAGER), organization=world_a.org, action="test.bulk", after={"i": i})
    everything = text(owner_a.get(reverse("portal:audit")))
    assert "project.created" in everything and "Elsewhere" not in everything
    filtered = owner_a.get(reverse("portal:audit"), {"action": "project.created"})
    assert "Audited" in text(filtered) and "test.bulk</code>" not in text(filtered)
    manager_id = world_a.user(Role.MANAGER).pk
    page1 = owner_a.get(reverse("portal:audit"), {"action": "test.bulk", "actor": manager_id})
    assert page1.context["page"].paginator.count == 60
    assert "Page 1 of 2" in text(page1) and f"actor={manager_id}" in text(page1)
    page2 = owner_a.get(reverse("portal:audit"), {"action": "test.bulk", "actor": manager_id, "page": 2})
    assert len(page2.context["page"].object_list) == 10
    by_owner = owner_a.get(reverse("portal:audit"), {"action": "test.bulk", "actor": world_a.owner.pk})
    assert by_owner.context["page"].paginator.count == 0
    future = owner_a.get(reverse("portal:audit"), {"date_from": "2999-01-01"})
    assert future.context["page"].paginator.count == 0
    today = owner_a.get(reverse("portal:audit"), {"date_to": "2999-01-01", "date_from": "2000-01-01"})
    assert today.context["page"].paginator.count > 60


def test_audit_filter_errors_are_shown(owner_a):
    response = owner_a.get(reverse("portal:audit"), {"date_from": "2025-02-01", "date_to": "2025-01-01"})
    assert response.status_code == 400 and "start date is after the end date" in text(response)
    response = owner_a.get(reverse("portal:audit"), {"actor": "999999"})
    assert response.status_code == 400 and "Select a valid choice" in text(response)
