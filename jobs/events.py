"""Live events over Channels: group names and publishing.

Groups are always namespaced by organization, so a subscription can only be granted after
the consumer has checked that the object belongs to the subscriber's organization.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def job_group(organization_id: int, job_id: int) -> str:
    return f"org.{organization_id}.job.{job_id}"


def project_group(organization_id: int, project_id: int) -> str:
    return f"org.{organization_id}.project.{project_id}"


# What a websocket client may subscribe to: target name -> (model label, group of an object).
# The consumer joins a group only for an object of one of the user's organizations; the
# tenancy sweep (tests/organizations) walks this table, so a new kind of group is swept too.
SUBSCRIPTIONS = {
    "job": ("jobs.Job", job_group),
    "project": ("projects.Project", project_group),
}


def publish(groups: list[str], event: dict[str, Any]) -> None:
    """Send ``event`` to every group; never fails the caller (progress is best effort)."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, {"type": "event.message", "event": event})
        except Exception:  # the job must not fail because a channel layer hiccuped
            logger.warning("could not publish to %s", group, exc_info=True)
