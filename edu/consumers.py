"""WebSocket consumers of the core."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext as _


class HealthConsumer(AsyncJsonWebsocketConsumer):
    """Answers "ping" with "pong": lets an operator check that WebSockets pass the reverse proxy.

    Open to everyone, like /healthz; it reads nothing and writes nothing.
    """

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json(
                {"type": "error", "code": "unknown_type", "message": _("Unknown message type; send “ping”.")}
            )

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None
