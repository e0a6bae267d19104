from __future__ import annotations

from organizations.models import Membership


def current_organization(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    if membership is not None and not membership:  # SimpleLazyObject wrapping None
        membership = None
    return {
        "current_membership": membership,
        "current_organization": getattr(membership, "organization", None) if membership else None,
        "my_memberships": Membership.objects.select_related("organization").filter(user=user),
    }
