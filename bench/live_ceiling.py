"""The ceiling of bench/live_contest.py: a bare `websockets` server that broadcasts one message to everyone.

Run by bench/live_contest.py as `python bench/live_ceiling.py PORT BACKLOG`. Clients connect to `/`; a
control client connects to `/control` and sends a text; the server sends that text to every connected client
at once with `websockets.broadcast` and answers the control client `sent <clients>`. No application logic,
no channel layer, no database: what one Python process on this machine can do at best.
"""

import asyncio
import resource
import signal
import sys

import websockets
from websockets.asyncio.server import ServerConnection, serve

CLIENTS: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    if connection.request is not None and connection.request.path == "/control":
        async for text in connection:
            websockets.broadcast(CLIENTS, text)
            await connection.send(f"sent {len(CLIENTS)}")
        return
    CLIENTS.add(connection)
    try:
        await connection.wait_closed()
    finally:
        CLIENTS.discard(connection)


async def main(port: int, backlog: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(
        handler,
        "127.0.0.1",
        port,
        backlog=backlog,
        compression=None,
        ping_interval=None,
        max_queue=16,
    ):
        print(f"serving on 127.0.0.1:{port}", flush=True)
        await stop


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
