"""Task status changes reach the project's pages live (real Redis channel layer)."""

from __future__ import annotations

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections

from tests.media.test_events import connect, receive_until

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest_asyncio.fixture(autouse=True)
async def _close_thread_connections():
    yield
    await sync_to_async(connections.close_all)()


def _task(world, project):
    from tasks.services.tasks import create_task

    return create_task(actor=world.owner, project=project, name="t1")


async def test_claim_and_submit_are_pushed_to_project_watchers(world_a, world_b, make_project):
    project = await sync_to_async(make_project)(world_a, "image")
    task = await sync_to_async(_task)(world_a, project)
    watcher = await connect(await sync_to_async(world_a.user)("manager"))
    outsider = await connect(world_b.owner)
    await watcher.send_json_to({"action": "subscribe", "project": project.pk})
    assert (await watcher.receive_json_from(timeout=10))["type"] == "subscribed"
    await outsider.send_json_to({"action": "subscribe", "project": project.pk})
    assert (await outsider.receive_json_from(timeout=10))["type"] == "error"

    client = await sync_to_async(world_a.client)("annotator")
    annotator_name = await sync_to_async(lambda: world_a.user("annotator").username)()
    response = await sync_to_async(client.post)("/api/v1/tasks/next", {"project_id": project.pk}, format="json")
    assert response.status_code == 200
    events = await receive_until(watcher, lambda e: e.get("type") == "task" and e["status"] == "in_progress")
    claimed = events[-1]
    assert claimed["task_id"] == task.pk
    assert claimed["locked_by"] == annotator_name

    saved = await sync_to_async(client.post)(f"/api/v1/tasks/{task.pk}/annotations", {"shapes": []}, format="json")
    assert saved.status_code in (200, 201), saved.content
    submitted = await receive_until(watcher, lambda e: e.get("type") == "task" and e["status"] == "submitted")
    assert submitted[-1]["previous_status"] == "in_progress"
    assert await outsider.receive_nothing(timeout=0.5)
    await watcher.disconnect()
    await outsider.disconnect()
