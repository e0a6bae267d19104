"""WebSocket endpoint ``/ws/events/``: live job progress and project updates.

The browser (session-authenticated) sends ``{"action": "subscribe", "job": id}`` or
``{"action": "subscribe", "project": id}``; the consumer joins the group only after checking
that the object belongs to one of the user's organizations, otherwise it answers
``{"type": "error", "message": "... not found"}`` — never more.

Project groups carry job progress of the project and task events (``{"type": "task",
"event": "created" | "status", ...}``, ``{"type": "media", "event": "ready", ...}``).

Membership is checked again while events flow (at most every ``RECHECK_SECONDS``): a user
removed from an organization stops receiving its events and is told so.

Close codes: 4401 not signed in; 4503 the channel layer (Redis) is unreachable, try again
later (browsers back off, see static/portal/js/events.js) — logged as a one-line warning
rather than a 1011 with a traceback per connection attempt. (1013, the standard "try again
later", is one daphne's websocket library refuses to send.)
"""

from __future__ import annotations

import json
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from jobs.events import SUBSCRIPTIONS

logger = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS = 200
RECHECK_SECONDS = 30.0
UNAVAILABLE = 4503  # as 4401 mirrors HTTP 401
CHANNEL_LAYER_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


class EventsConsumer(AsyncJsonWebsocketConsumer):
    accepted = closed = False

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        except CHANNEL_LAYER_DOWN as exc:
            logger.warning(
                "/ws/events/: channel layer unreachable (%s: %s); closing with 4503", type(exc).__name__, exc
            )
            if self.closed:
                return
            if not self.accepted:
                await self.accept()  # a close before the accept would reach the browser as 1006
            await self.close(code=UNAVAILABLE)

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self.accepted = True

    async def close(self, code=None, reason=None):
        await super().close(code, reason)
        self.closed = True

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.groups_joined: dict[str, int] = {}  # group -> organization id
        self.checked_at = time.monotonic()
        await self.accept()

    async def disconnect(self, code):
        for group in list(getattr(self, "groups_joined", {})):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = json.loads(text_data) if text_data is not None else None
        except ValueError:
            content = None
        if content is None:
            await self.send_json({"type": "error", "message": "Send JSON text frames."})
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("action") not in ("subscribe", "unsubscribe"):
            await self.send_json({"type": "error", "message": 'Send {"action": "subscribe", "job"|"project": id}.'})
            return
        target = next((k for k in SUBSCRIPTIONS if k in content), None)
        raw_id = content.get(target) if target else None
        if target is None or not isinstance(raw_id, int) or isinstance(raw_id, bool) or not 0 < raw_id < 2**63:
            await self.send_json({"type": "error", "message": "Name a job or project id (integer)."})
            return
        found = await self._group_for(target, raw_id)
        if found is None:
            await self.send_json({"type": "error", "message": f"{target} {raw_id} not found."})
            return
        group, org_id = found
        if content["action"] == "subscribe":
            if group not in self.groups_joined and len(self.groups_joined) >= MAX_SUBSCRIPTIONS:
                await self.send_json({"type": "error", "message": f"At most {MAX_SUBSCRIPTIONS} subscriptions."})
                return
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined[group] = org_id
            await self.send_json({"type": "subscribed", target: raw_id})
            snapshot = await self._snapshot(target, raw_id)
            if snapshot:
                await self.send_json(snapshot)
        else:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.pop(group, None)
            await self.send_json({"type": "unsubscribed", target: raw_id})

    @database_sync_to_async
    def _group_for(self, target: str, object_id: int) -> tuple[str, int] | None:
        from django.apps import apps

        from organizations.models import Membership

        org_ids = list(Membership.objects.filter(user=self.scope["user"]).values_list("organization_id", flat=True))
        label, group_of = SUBSCRIPTIONS[target]
        model = apps.get_model(label)
        org_id = (
            model.objects.filter(pk=object_id, organization_id__in=org_ids)
            .values_list("organization_id", flat=True)
            .first()
        )
        if org_id is None:
            return None
        return group_of(org_id, object_id), org_id

    @database_sync_to_async
    def _snapshot(self, target: str, object_id: int) -> dict | None:
        if target != "job":
            return None
        from jobs.models import Job
        from jobs.services import job_event

        job = Job.objects.filter(pk=object_id).first()
        return job_event(job) if job else None

    @database_sync_to_async
    def _member_org_ids(self) -> set[int]:
        from organizations.models import Membership

        user = self.scope["user"]
        return set(Membership.objects.filter(user=user, user__is_active=True).values_list("organization_id", flat=True))

    async def _drop_lost_organizations(self) -> bool:
        """Leave the groups of organizations the user no longer belongs to (True if any)."""
        current = await self._member_org_ids()
        lost = {org for org in self.groups_joined.values() if org not in current}
        for group, org in list(self.groups_joined.items()):
            if org in lost:
                await self.channel_layer.group_discard(group, self.channel_name)
                self.groups_joined.pop(group, None)
        if lost:
            await self.send_json({"type": "error", "message": "Your access to an organization ended; unsubscribed."})
        return bool(lost)

    async def event_message(self, message):
        if time.monotonic() - self.checked_at > RECHECK_SECONDS:
            self.checked_at = time.monotonic()
            if await self._drop_lost_organizations():
                return  # this event may come from the organization just left: drop it
        await self.send_json(message["event"])
