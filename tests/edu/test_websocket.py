"""The ASGI application: WebSockets pass the origin check and the auth middleware."""

import pytest
from channels.testing import WebsocketCommunicator

from edu.asgi import application


@pytest.mark.asyncio
async def test_ping_pong_from_an_allowed_origin():
    communicator = WebsocketCommunicator(
        application, "/ws/healthz/", headers=[(b"origin", b"http://127.0.0.1:8000")]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong"}
    await communicator.send_to(text_data="not json")
    reply = await communicator.receive_json_from()
    assert reply["type"] == "error" and reply["code"] == "unknown_type"
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(
        application, "/ws/healthz/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected
