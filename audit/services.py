"""Writing the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models

from audit.context import current_request_id
from audit.models import AuditEvent


def record_event(
    *,
    actor: Any,
    organization: Any,
    action: str,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one audit event (call inside the service's transaction)."""
    org_id = organization if isinstance(organization, int) else organization.pk
    actor_id = getattr(actor, "pk", None) if actor is not None and getattr(actor, "is_authenticated", True) else None
    return AuditEvent.objects.create(
        organization_id=org_id,
        actor_id=actor_id,
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None and target.pk is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        before=before,
        after=after,
        request_id=current_request_id.get(),
    )
