"""The core's WebSocket routes; edu/asgi.py puts every app's routes together."""

from django.urls import path

from edu import consumers

websocket_urlpatterns = [
    path("ws/healthz/", consumers.HealthConsumer.as_asgi()),
]
