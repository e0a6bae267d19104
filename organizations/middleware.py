from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from organizations.context import resolve_membership


class CurrentOrganizationMiddleware:
    """Portal requests: ``request.membership`` / ``request.organization`` from the session.

    API views resolve their own (credentials may be bound to an organization); see
    ``organizations.api.base``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        def membership():
            return resolve_membership(request, request.user)

        request.membership = SimpleLazyObject(membership)
        request.organization = SimpleLazyObject(lambda: getattr(request.membership, "organization", None))
        return self.get_response(request)
