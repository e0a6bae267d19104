"""WebSocket endpoint ``/ws/events/``: live job progress and project updates.

The browser (session-authenticated) sends ``{"action": "subscribe", "job": id}`` or
``{"action": "subscribe", "project": id}``; the consumer joins the group only after checking
that the object belongs to one of the user's organizations, otherwise it answers
``{"type": "error", "message": "not found"}`` — never more.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from jobs.events import job_group, project_group


class EventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined: set[str] = set()
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("action") not in ("subscribe", "unsubscribe"):
            await self.send_json({"type": "error", "message": 'Send {"action": "subscribe", "job"|"project": id}.'})
            return
        target = next((k for k in ("job", "project") if k in content), None)
        raw_id = content.get(target) if target else None
        if target is None or not isinstance(raw_id, int) or isinstance(raw_id, bool) or not 0 < raw_id < 2**63:
            await self.send_json({"type": "error", "message": "Name a job or project id (integer)."})
            return
        group = await self._group_for(target, raw_id)
        if group is None:
            await self.send_json({"type": "error", "message": f"{target} {raw_id} not found."})
            return
        if content["action"] == "subscribe":
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)
            await self.send_json({"type": "subscribed", target: raw_id})
            snapshot = await self._snapshot(target, raw_id)
            if snapshot:
                await self.send_json(snapshot)
        else:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)
            await self.send_json({"type": "unsubscribed", target: raw_id})

    @database_sync_to_async
    def _group_for(self, target: str, object_id: int) -> str | None:
        from jobs.models import Job
        from organizations.models import Membership
        from projects.models import Project

        org_ids = list(Membership.objects.filter(user=self.scope["user"]).values_list("organization_id", flat=True))
        model = Job if target == "job" else Project
        org_id = (
            model.objects.filter(pk=object_id, organization_id__in=org_ids)
            .values_list("organization_id", flat=True)
            .first()
        )
        if org_id is None:
            return None
        return job_group(org_id, object_id) if target == "job" else project_group(org_id, object_id)

    @database_sync_to_async
    def _snapshot(self, target: str, object_id: int) -> dict | None:
        if target != "job":
            return None
        from jobs.models import Job
        from jobs.services import job_event

        job = Job.objects.filter(pk=object_id).first()
        return job_event(job) if job else None

    async def event_message(self, message):
        await self.send_json(message["event"])
