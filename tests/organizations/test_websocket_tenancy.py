"""Tenancy sweep of the websocket groups (``/ws/events/``), generated from the consumer's
subscription table (``jobs.events.SUBSCRIPTIONS``): for every kind of group, organization
B's session subscribing to A's object is told "not found" — exactly as for an id that does
not exist — and receives nothing of what A's group carries, while A's member does.

A new kind of group (a ``*_group`` function in ``jobs.events``) fails here until it is a
subscription target, and so swept."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.test import Client

import jobs.events
from annotator.asgi import application
from jobs.events import SUBSCRIPTIONS, publish
from tests.factories import build

pytestmark = pytest.mark.django_db(transaction=True)


@pytest_asyncio.fixture(autouse=True)
async def _close_thread_connections():
    yield
    await sync_to_async(connections.close_all)()


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def _connect(user) -> WebsocketCommunicator:
    cookie = await sync_to_async(_cookie)(user)
    headers = [
        (b"origin", b"http://testserver"),
        (b"host", b"testserver"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
    ]
    communicator = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    return communicator


async def _first_event_with(communicator, marker: str, timeout: float = 10.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            event = await communicator.receive_json_from(timeout=timeout)
            if event.get("marker") == marker:
                return event


def test_every_kind_of_group_is_a_subscription_target():
    group_functions = {name for name, value in vars(jobs.events).items() if name.endswith("_group") and callable(value)}
    assert group_functions == {group_of.__name__ for _, group_of in SUBSCRIPTIONS.values()}


@pytest.mark.asyncio
async def test_another_organizations_groups_answer_not_found_and_carry_nothing_across(world_a, world_b):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    for target, (label, group_of) in SUBSCRIPTIONS.items():
        obj = await sync_to_async(build)(apps.get_model(label), world_a)
        outsider = await _connect(world_b.owner)
        member = await _connect(world_a.owner)

        await outsider.send_json_to({"action": "subscribe", target: obj.pk})
        refusal = await outsider.receive_json_from(timeout=10)
        await outsider.send_json_to({"action": "subscribe", target: 2**62})
        missing = await outsider.receive_json_from(timeout=10)
        assert refusal == {"type": "error", "message": f"{target} {obj.pk} not found."}
        assert missing == {"type": "error", "message": f"{target} {2**62} not found."}  # indistinguishable

        await member.send_json_to({"action": "subscribe", target: obj.pk})
        assert await member.receive_json_from(timeout=10) == {"type": "subscribed", target: obj.pk}

        marker = f"sweep-{target}-{obj.pk}"
        await sync_to_async(publish)([group_of(world_a.org.pk, obj.pk)], {"type": "sweep", "marker": marker})
        assert (await _first_event_with(member, marker))["type"] == "sweep"  # the event really flowed
        assert await outsider.receive_nothing(timeout=1), f"B received A's {target} event"
        await outsider.disconnect()
        await member.disconnect()
