"""The one tenancy mechanism.

Every domain model inherits :class:`TenantModel`: it carries its organization directly and
its default manager offers ``for_organization(org)``. API views reach data only through
``organizations.api.base.TenantViewSet`` (and portal views through
``portal.views.TenantView``), whose ``get_queryset`` starts from that method — so an
endpoint written tomorrow is scoped by default and a foreign object simply does not exist
(404).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from organizations.models import Organization


class TenantQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization | int | None) -> TenantQuerySet:
        if organization is None:
            return self.none()
        return self.filter(organization=organization)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    pass


class TenantModel(models.Model):
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        db_index=True,
    )

    objects = TenantManager()

    class Meta:
        abstract = True

    def inherit_organization(self, parent: Any) -> None:
        """Set this row's organization from its parent's (call before the first save)."""
        if self.organization_id is None:
            self.organization_id = parent.organization_id
        elif self.organization_id != parent.organization_id:
            raise ValueError("An object cannot belong to another organization than its parent")
