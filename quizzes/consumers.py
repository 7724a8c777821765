"""Live contest WebSockets: routers only. They parse, call a service under database_sync_to_async, and turn
domain errors into {"type": "error", "code", "message"}; broadcasts they receive are only passed on.
docs/live-protocol.md describes every message."""

import asyncio
import json
import logging
import time

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone
from django.utils.translation import gettext as _

from quizzes import selectors
from quizzes.live import services
from quizzes.models import LiveContest

logger = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 4096
MAX_MESSAGES_PER_SECOND = 20
TICK_SECONDS = 0.5


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """What both endpoints share: size, shape and rate checks, errors, and passing broadcasts on."""

    groups_joined: list[str]

    async def connect(self):
        self.contest_id = int(self.scope["url_route"]["kwargs"]["contest_id"])
        self.groups_joined = []
        self.window_start, self.window_count = time.monotonic(), 0
        await self.accept()

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def dispatch(self, message):
        # Channels' own dispatch first closes stale database connections on the database thread for every
        # message, broadcasts included: a question to 2,500 players of one process would queue 2,500 hops
        # behind the answers being written. These consumers touch the database only through
        # database_sync_to_async, which closes stale connections around each call itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def join_group(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            return await self.error("invalid_message", _("That message was not understood."))
        if len(text_data.encode()) > MAX_MESSAGE_BYTES:
            return await self.error("message_too_large", _("That message is too large."))
        now = time.monotonic()
        if now - self.window_start >= 1:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        if self.window_count > MAX_MESSAGES_PER_SECOND:
            return await self.error("rate_limited", _("Too many messages; slow down."))
        try:
            content = json.loads(text_data)
        except ValueError:
            content = None
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            return await self.error("invalid_message", _("That message was not understood."))
        handler = self.handlers().get(content["type"])
        if handler is None:
            return await self.error("unknown_type", _("That message was not understood."))
        try:
            await handler(content)
        except services.LiveError as error:
            await self.error(error.code, error.message)

    def handlers(self) -> dict:
        return {"ping": self.ping}

    async def ping(self, content):
        await self.send_json({"type": "pong"})

    async def live_message(self, event):
        await self.send_json(event["message"])


class PlayerConsumer(LiveConsumer):
    player = None

    def handlers(self) -> dict:
        return {**super().handlers(), "hello": self.hello, "answer": self.answer, "me": self.me}

    async def hello(self, content):
        if self.player is not None:
            return
        # Join the group before reading the screen, so that nothing broadcast after the read is missed (it
        # waits in this consumer's queue behind the welcome). One trip to the database thread for both.
        group = services.group_name(self.contest_id)
        await self.join_group(group)
        player, welcome = await database_sync_to_async(services.player_hello)(
            contest_id=self.contest_id, token=content.get("token"), now=timezone.now()
        )
        if welcome is None:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.remove(group)
            if player is None:
                await self.error("bad_token", _("This player is not known here; join the contest again."))
                return await self.close(code=4001)
            await self.error("kicked", _("The host removed you from this contest."))
            return await self.close(code=4003)
        self.player = player
        await self.send_json(welcome)

    async def answer(self, content):
        received_at = timezone.now()  # the server's clock, stamped before anything else
        if self.player is None:
            return await self.error("bad_token", _("Say hello with your player token first."))
        try:
            await database_sync_to_async(services.answer_submit)(
                player=self.player,
                question_index=content.get("question"),
                choices=content.get("choices"),
                now=received_at,
            )
        except services.LiveError as error:
            if error.code == "too_late":
                await database_sync_to_async(services.contest_tick)(
                    contest_id=self.contest_id, now=received_at
                )
            raise
        await self.send_json({"type": "answer_received", "question": content.get("question")})

    async def me(self, content):
        if self.player is None:
            return await self.error("bad_token", _("Say hello with your player token first."))
        await self.send_json(await database_sync_to_async(services.player_me)(player=self.player))

    async def live_message(self, event):
        if self.player is None:
            return  # broadcasts reach only players who have said hello
        message = event["message"]
        if message.get("type") == "kicked":
            if message.get("player") == self.player.pk:
                await self.send_json({"type": "kicked"})
                await self.close(code=4003)
            return
        await self.send_json(message)


class HostConsumer(LiveConsumer):
    ticker = None

    async def connect(self):
        self.contest_id = int(self.scope["url_route"]["kwargs"]["contest_id"])
        contest = await database_sync_to_async(selectors.contest_for_host)(
            user=self.scope["user"], pk=self.contest_id
        )
        if contest is None:
            # Accept first, so that the browser sees the close code and stops retrying.
            await self.accept()
            return await self.close(code=4003)
        self.join_url = await database_sync_to_async(self.build_join_url)(contest)
        await super().connect()
        await self.join_group(services.group_name(self.contest_id))
        await self.join_group(services.host_group_name(self.contest_id))
        await self.send_state()
        self.last_tally = None
        self.ticker = asyncio.create_task(self.tick_forever())

    def build_join_url(self, contest) -> str:
        headers = dict(self.scope.get("headers") or [])
        host = headers.get(b"host", b"").decode() or "127.0.0.1:8000"
        scheme = "https" if self.scope.get("scheme") in ("wss", "https") else "http"
        return f"{scheme}://{host}/live/join/?pin={contest.pin}"

    async def disconnect(self, code):
        if self.ticker is not None:
            self.ticker.cancel()
        await super().disconnect(code)

    def handlers(self) -> dict:
        return {**super().handlers(), "command": self.command, "kick": self.kick}

    async def send_state(self):
        state = await database_sync_to_async(self.load_state)()
        await self.send_json(state)

    def load_state(self) -> dict:
        contest = selectors.contest_for_host(user=self.scope["user"], pk=self.contest_id)
        return services.host_state(contest=contest, now=timezone.now(), join_url=self.join_url)

    async def command(self, content):
        version = content.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            version = None
        await database_sync_to_async(services.contest_command)(
            contest_id=self.contest_id, command=content.get("command"), version=version, now=timezone.now()
        )

    async def kick(self, content):
        player_id = content.get("player")
        if not isinstance(player_id, int) or isinstance(player_id, bool):
            return await self.error("invalid_message", _("That message was not understood."))
        contest = await database_sync_to_async(selectors.contest_for_host)(
            user=self.scope["user"], pk=self.contest_id
        )
        await database_sync_to_async(services.player_kick)(contest=contest, player_id=player_id)

    async def live_message(self, event):
        message = event["message"]
        if message.get("type") == "host_refresh":
            return await self.send_state()
        if message.get("type") != "kicked":
            await self.send_json(message)

    async def tick_forever(self):
        """The contest's clock and the answer tally. Every host screen runs one; the service makes the
        second close of a question a no-op, so two screens (or two processes) never close it twice."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                tally = await database_sync_to_async(self.tick_once)()
            except Exception:  # a failed tick is retried on the next one; the connection stays up
                logger.exception("live contest tick failed")
                continue
            if tally != self.last_tally:
                self.last_tally = tally
                await self.send_json(tally)

    def tick_once(self) -> dict:
        services.contest_tick(contest_id=self.contest_id, now=timezone.now())
        # The gate ran when the screen connected; the clock only needs the contest's current state.
        contest = LiveContest.objects.get(pk=self.contest_id)
        tally = services.tally(contest=contest)
        if tally["phase"] == "question" and tally["players"] and tally["answered"] >= tally["players"]:
            services.contest_tick(contest_id=self.contest_id, now=timezone.now(), all_answered=True)
        return tally
