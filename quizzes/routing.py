"""WebSocket routes of live contests."""

from django.urls import path

from quizzes import consumers

websocket_urlpatterns = [
    path("ws/live/<int:contest_id>/play/", consumers.PlayerConsumer.as_asgi()),
    path("ws/live/<int:contest_id>/host/", consumers.HostConsumer.as_asgi()),
]
