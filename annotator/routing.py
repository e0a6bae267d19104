"""WebSocket routes (Channels)."""

from django.urls import path

from jobs.consumers import EventsConsumer

websocket_urlpatterns = [
    path("ws/events/", EventsConsumer.as_asgi()),
]
