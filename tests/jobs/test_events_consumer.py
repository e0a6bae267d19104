"""``/ws/events/`` while the channel layer (Redis) is unreachable: the socket is closed with
4503 (try again later) and a one-line warning, not 1011 with a traceback."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from annotator.asgi import application
from tests.hardening.stack import free_port

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def test_a_socket_is_told_to_try_again_later_while_redis_is_unreachable(world_a, settings, caplog):
    nobody = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [nobody]}}
    }
    cookie = await sync_to_async(session_cookie)(world_a.user("annotator"))
    headers = [
        (b"origin", b"http://testserver"),
        (b"host", b"testserver"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
    ]
    communicator = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    try:
        with caplog.at_level(logging.WARNING):
            connected, _ = await communicator.connect(timeout=10)
            assert connected  # accepted, so that the browser sees the close code
            closing = await communicator.receive_output(timeout=10)
            await communicator.wait(timeout=10)  # the consumer returned: no exception left
    finally:
        await sync_to_async(connections.close_all)()
    assert closing == {"type": "websocket.close", "code": 4503}
    warnings = [r for r in caplog.records if r.name == "jobs.consumers"]
    assert len(warnings) == 1 and "channel layer unreachable" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
