"""Which organization a request acts in.

In order: the organization a credential (token/key pair) is bound to; the ``X-Organization``
header (slug) for session users; the organization chosen in the portal's switcher (session);
the user's last used organization; their oldest membership. The user must be a member: an
organization the user does not belong to does not exist for them (404).
"""

from __future__ import annotations

from django.http import Http404

from organizations.models import Membership

SESSION_KEY = "organization_id"


def resolve_membership(request, user, credential=None) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("organization").filter(user=user)
    bound_org_id = getattr(credential, "organization_id", None)
    header = request.headers.get("X-Organization") if hasattr(request, "headers") else None
    if bound_org_id is not None:
        # Unique (user, organization): fetched unordered, as the ORDER BY of first() (the
        # model's ordering joins users) costs more than the rest of the lookup on every request.
        membership = next(iter(memberships.filter(organization_id=bound_org_id).order_by()[:1]), None)
        if header and membership is not None and header != membership.organization.slug:
            raise Http404(f"This credential acts only in organization '{membership.organization.slug}'.")
        return membership
    if header:
        membership = memberships.filter(organization__slug=header).first()
        if membership is None:
            raise Http404(f"No organization '{header}' among yours.")
        return membership
    session = getattr(request, "session", None)
    session_org = session.get(SESSION_KEY) if session is not None else None
    for org_id in (session_org, user.current_organization_id):
        if org_id is not None:
            membership = memberships.filter(organization_id=org_id).first()
            if membership is not None:
                return membership
    return memberships.order_by("created_at", "id").first()
