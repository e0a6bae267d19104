"""Live progress on ``/ws/events/`` over the real Redis channel layer: a session-signed-in
member sees an import's progress and its new tasks; a user of another organization gets
"not found" and receives nothing; a removed member stops receiving."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from annotator.asgi import application
from media import synthetic
from media.services.imports import IncomingFile, Source, start_import

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest_asyncio.fixture(autouse=True)
async def _close_thread_connections():
    """Database work from async code runs in asgiref's thread; close its connection after."""
    yield
    await sync_to_async(connections.close_all)()


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def connect(user=None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        cookie = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    connected, code = await communicator.connect(timeout=10)
    communicator.code = code
    communicator.connected = connected
    return communicator


async def receive_until(communicator, predicate, timeout: float = 60.0) -> list[dict]:
    events = []
    async with asyncio.timeout(timeout):
        while True:
            event = await communicator.receive_json_from(timeout=timeout)
            events.append(event)
            if predicate(event):
                return events


def _start(project, owner, count: int):
    files = [
        IncomingFile(name=f"{n}.png", content=(data := synthetic.image_bytes(24, 24, seed=n)), size=len(data))
        for n in range(count)
    ]
    return start_import(actor=owner, project=project, files=files, source=Source.UPLOAD)


async def test_import_progress_streams_to_members_and_never_to_other_organizations(
    world_a, world_b, make_project, stub_worker
):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    project = await sync_to_async(make_project)(world_a, "image")
    member = await connect(world_a.user("annotator"))
    outsider = await connect(world_b.owner)
    assert member.connected and outsider.connected

    await member.send_json_to({"action": "subscribe", "project": project.pk})
    assert await member.receive_json_from(timeout=10) == {"type": "subscribed", "project": project.pk}
    await outsider.send_json_to({"action": "subscribe", "project": project.pk})
    refusal = await outsider.receive_json_from(timeout=10)
    assert refusal == {"type": "error", "message": f"project {project.pk} not found."}

    job = await sync_to_async(_start)(project, world_a.owner, 3)
    await outsider.send_json_to({"action": "subscribe", "job": job.pk})
    assert (await outsider.receive_json_from(timeout=10))["type"] == "error"

    events = await receive_until(member, lambda e: e.get("type") == "job" and e["status"] == "succeeded")
    job_events = [e for e in events if e["type"] == "job" and e["job_id"] == job.pk]
    assert job_events[0]["status"] == "queued" and job_events[-1]["status"] == "succeeded"
    assert job_events[-1]["done"] == job_events[-1]["total"] == 3
    assert {e["done"] for e in job_events} >= {1, 2, 3}  # progress went through the files
    created = [e for e in events if e["type"] == "task" and e["event"] == "created"]
    assert len(created) == 3 and {e["project_id"] for e in created} == {project.pk}

    assert await outsider.receive_nothing(timeout=1)
    await member.disconnect()
    await outsider.disconnect()


async def test_job_subscription_sends_a_snapshot_and_anonymous_sockets_are_refused(world_a, make_project):
    project = await sync_to_async(make_project)(world_a, "image")
    job = await sync_to_async(_start)(project, world_a.owner, 1)
    anonymous = await connect(None)
    assert not anonymous.connected and anonymous.code == 4401

    member = await connect(world_a.owner)
    await member.send_json_to({"action": "subscribe", "job": job.pk})
    assert await member.receive_json_from(timeout=10) == {"type": "subscribed", "job": job.pk}
    snapshot = await member.receive_json_from(timeout=10)
    assert snapshot["type"] == "job" and snapshot["job_id"] == job.pk and snapshot["total"] == 1
    await member.send_to(text_data="not json")
    assert (await member.receive_json_from(timeout=10))["type"] == "error"
    await member.send_json_to({"action": "subscribe", "job": True})
    assert (await member.receive_json_from(timeout=10))["type"] == "error"
    await member.disconnect()


async def test_a_removed_member_stops_receiving(world_a, make_project, monkeypatch):
    from jobs import consumers
    from jobs.events import project_group, publish

    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.0)
    project = await sync_to_async(make_project)(world_a, "image")
    member = await connect(world_a.user("annotator"))
    await member.send_json_to({"action": "subscribe", "project": project.pk})
    await member.receive_json_from(timeout=10)
    group = project_group(world_a.org.pk, project.pk)
    await sync_to_async(publish)([group], {"type": "task", "event": "status", "task_id": 1})
    assert (await member.receive_json_from(timeout=10))["event"] == "status"

    await sync_to_async(lambda: world_a.membership("annotator").delete())()
    await sync_to_async(publish)([group], {"type": "task", "event": "status", "task_id": 2})
    assert (await member.receive_json_from(timeout=10))["type"] == "error"
    await sync_to_async(publish)([group], {"type": "task", "event": "status", "task_id": 3})
    assert await member.receive_nothing(timeout=1)
    await member.disconnect()
