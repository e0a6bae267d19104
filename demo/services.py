"""The demo organization: users for every role and example projects, created once.

``load_demo`` is idempotent (the embedded default calls it at every start); ``reset_demo``
deletes the demo organization and everything in it, then loads it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from organizations.models import Membership, Organization
from organizations.roles import Role
from organizations.services import create_organization

DEMO_SLUG = "demo"
DEMO_PASSWORD = "try-annotator-2026"  # noqa: S105 (published demo login)
DEMO_USERS = [
    ("demo-owner", Role.OWNER),
    ("demo-admin", Role.ADMIN),
    ("demo-manager", Role.MANAGER),
    ("demo-reviewer", Role.REVIEWER),
    ("demo-annotator", Role.ANNOTATOR),
]
IMAGE_LABELS = [
    {
        "name": "car",
        "color": "#e6194b",
        "maskid": 1,
        "category": "vehicle",
        "attributes": [{"name": "occluded", "type": "checkbox", "default": False}],
    },
    {"name": "person", "color": "#3cb44b", "maskid": 2, "category": "people", "aliases": ["pedestrian"]},
    {
        "name": "dog",
        "color": "#ffe119",
        "maskid": 3,
        "category": "animal",
        "attributes": [{"name": "color", "type": "select", "options": ["brown", "black", "white"]}],
    },
    {"name": "road", "color": "#4363d8", "maskid": 4, "category": "stuff"},
]


@dataclass
class DemoResult:
    organization: Organization
    created: bool


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, email=f"{username}@demo.invalid")
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


@transaction.atomic
def load_demo() -> DemoResult:
    """Create the demo organization once (idempotent)."""
    from projects.labels import validate_label_rows
    from projects.models import LabelTemplate
    from projects.services.labels import apply_label_rows
    from projects.services.projects import create_project

    existing = Organization.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return DemoResult(existing, created=False)
    owner = _user(DEMO_USERS[0][0])
    org = create_organization(name="Demo organization", slug=DEMO_SLUG, owner=owner, is_demo=True)
    for username, role in DEMO_USERS[1:]:
        user = _user(username)
        Membership.objects.get_or_create(user=user, organization=org, defaults={"role": role})
        if user.current_organization_id is None:
            user.current_organization = org
            user.save(update_fields=["current_organization"])

    image = create_project(
        actor=owner,
        organization=org,
        name="Street scenes (demo)",
        kind="image",
        description="Boxes, polygons and masks on street photos.",
    )
    rows, errors = validate_label_rows(IMAGE_LABELS)
    assert not errors, errors
    apply_label_rows(actor=owner, project=image, rows=rows)
    video = create_project(
        actor=owner,
        organization=org,
        name="Traffic video (demo)",
        kind="video",
        description="Tracks of cars and people through a short clip.",
    )
    apply_label_rows(actor=owner, project=video, rows=rows[:2])
    ct_template = LabelTemplate.objects.for_organization(org).get(is_builtin=True)
    dicom = create_project(
        actor=owner,
        organization=org,
        name="Head and neck CT (demo)",
        kind="dicom",
        description="Organs at risk on a synthetic CT series.",
        template=ct_template,
    )
    for hook in DEMO_CONTENT_HOOKS:
        hook(org=org, owner=owner, image=image, video=video, dicom=dicom)
    return DemoResult(org, created=True)


# Apps that own media/tasks add demo content here: fn(org, owner, image, video, dicom).
DEMO_CONTENT_HOOKS: list = []


def reset_demo() -> DemoResult:
    """Delete the demo organization and load it again (files purged by background jobs)."""
    from projects.models import Project
    from projects.services.projects import delete_project

    org = Organization.objects.filter(slug=DEMO_SLUG).first()
    if org is not None:
        owner = User.objects.filter(username=DEMO_USERS[0][0]).first()
        for project in Project.objects.for_organization(org):
            delete_project(actor=owner, project=project)
        with transaction.atomic():
            User.objects.filter(current_organization=org).update(current_organization=None)
            org.delete()
    return load_demo()
