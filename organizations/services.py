"""Use cases for organizations and their members."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from audit.services import record_event
from organizations.models import Membership, Organization
from organizations.roles import Role


def _unique_slug(name: str) -> str:
    base = slugify(name)[:40].strip("-") or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def create_organization(*, name: str, owner: User, slug: str | None = None, is_demo: bool = False) -> Organization:
    """Create an organization with ``owner`` as its owner and the built-in label templates."""
    from projects.services.templates import install_builtin_templates

    org = Organization(name=name, slug=slug or _unique_slug(name), is_demo=is_demo)
    org.full_clean()
    org.save()
    Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    if owner.current_organization_id is None:
        owner.current_organization = org
        owner.save(update_fields=["current_organization"])
    install_builtin_templates(org)
    record_event(actor=owner, organization=org, action="organization.created", target=org)
    return org


@transaction.atomic
def add_member(
    *,
    actor: User,
    organization: Organization,
    username: str,
    role: str,
    email: str = "",
    password: str | None = None,
) -> tuple[Membership, bool]:
    """Add an existing user, or create one (with ``password``) and add them. Returns (membership, created_user)."""
    _check_may_grant(actor, organization, role)
    user = User.objects.filter(username=username).first()
    created = False
    if user is None:
        if not password:
            raise ValidationError({"password": ["A new user needs an initial password."]})
        from django.contrib.auth.password_validation import validate_password

        user = User(username=username, email=email)
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        created = True
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise ValidationError({"username": [f"{username} is already a member of this organization."]})
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    if user.current_organization_id is None:
        user.current_organization = organization
        user.save(update_fields=["current_organization"])
    record_event(actor=actor, organization=organization, action="member.added", target=membership, after={"role": role})
    return membership, created


def _actor_role(actor: User, organization: Organization) -> str | None:
    return Membership.objects.filter(user=actor, organization=organization).values_list("role", flat=True).first()


def _check_may_grant(actor: User, organization: Organization, role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": [f"Unknown role {role!r}; one of {', '.join(Role.values)}."]})
    if role == Role.OWNER and _actor_role(actor, organization) != Role.OWNER:
        raise ValidationError({"role": ["Only an owner may make someone an owner."]})


def _check_owner_remains(membership: Membership) -> None:
    if membership.role == Role.OWNER:
        owners = Membership.objects.select_for_update().filter(
            organization_id=membership.organization_id, role=Role.OWNER
        )
        if owners.count() <= 1:
            raise ValidationError({"role": ["An organization must keep at least one owner."]})


@transaction.atomic
def change_role(*, actor: User, membership: Membership, role: str) -> Membership:
    _check_may_grant(actor, membership.organization, role)
    if membership.role == Role.OWNER and _actor_role(actor, membership.organization) != Role.OWNER:
        raise ValidationError({"role": ["Only an owner may change an owner's role."]})
    if membership.role == Role.OWNER and role != Role.OWNER:
        _check_owner_remains(membership)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    record_event(
        actor=actor,
        organization=membership.organization,
        action="member.role_changed",
        target=membership,
        before={"role": before},
        after={"role": role},
    )
    return membership


@transaction.atomic
def remove_member(*, actor: User, membership: Membership) -> None:
    if membership.role == Role.OWNER and _actor_role(actor, membership.organization) != Role.OWNER:
        raise ValidationError({"role": ["Only an owner may remove an owner."]})
    _check_owner_remains(membership)
    record_event(
        actor=actor,
        organization=membership.organization,
        action="member.removed",
        target=membership,
        before={"user": membership.user.username, "role": membership.role},
    )
    user = membership.user
    membership.delete()
    if user.current_organization_id == membership.organization_id:
        user.current_organization = None
        user.save(update_fields=["current_organization"])


def switch_organization(*, user: User, organization: Organization) -> None:
    """Remember the organization the user works in (portal switcher, unbound credentials)."""
    if not Membership.objects.filter(user=user, organization=organization).exists():
        raise ValidationError("You are not a member of that organization.")
    user.current_organization = organization
    user.save(update_fields=["current_organization"])
