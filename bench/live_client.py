"""The load generator of bench/live_contest.py: N players and the host of one live contest, then the ceiling.

Run by bench/live_contest.py as `python bench/live_client.py SPEC.json` (a child process of its own, so that
the players' CPU is not the orchestrator's); it writes its figures to the `out` path the spec names. One
asyncio loop holds every socket, so the host's send time and the players' receive times come from the same
clock (time.perf_counter).

What it does, each phase under a time limit:

1. connect every player at once (round-robin over the daphne ports), `hello` with its token, wait for all
   `welcome`s: the reconnect-storm figure;
2. connect the host (session cookie) and play the questions: `start` / `next` opens a question (the send
   time is taken just before the frame is written), every player answers one option as soon as it has the
   question (or after a think time drawn from the spec), then the question closes (the server closes it when
   everyone has answered; otherwise the host's `next`), `next` shows the leaderboard, `next` opens the next
   question; after the last, `next` shows the podium;
3. between two questions, optionally stay idle for `idle_gap` seconds (nothing sent: the connections must
   survive it) and optionally drop every player's connection and reconnect them all at once;
4. close everything and measure the bare `websockets` broadcast server the same way (connect all players at
   once, broadcast the contest's own question text once unmeasured as a warm-up, then `ceiling_rounds`
   times, and time until the last client has it).

If not every player is welcomed in phase 1, no contest is played: the figures say so (`aborted`), with the
connect errors and close codes.

CPU seconds (utime + stime) of each watched process are read from /proc at the edges of every question.
"""

import asyncio
import json
import math
import os
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL_S = 0.005
now = time.perf_counter


# --- bookkeeping ------------------------------------------------------------------------------------------


class Counts:
    """How many players have seen each (kind, index): the phases wait on these."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def add(self, key) -> None:
        self.counts[key] += 1

    async def wait(self, key, target: int, limit: float) -> bool:
        deadline = now() + limit
        while self.counts[key] < target:
            if now() >= deadline:
                return False
            await asyncio.sleep(POLL_S)
        return True


@dataclass
class Player:
    idx: int
    token: str
    port: int
    ws: ClientConnection | None = None
    task: asyncio.Task | None = None
    closing: bool = False
    opened: float | None = None
    welcomed: float | None = None
    welcome_phase: str = ""
    rx: dict = field(default_factory=dict)  # (kind, index) -> receive time
    sent: dict = field(default_factory=dict)  # question -> answer send time
    acked: dict = field(default_factory=dict)  # question -> answer_received time
    errors: Counter = field(default_factory=Counter)  # (question or "-", code) -> count
    outstanding: int | None = None  # the question whose answer awaits answer_received or an error


@dataclass
class Run:
    spec: dict
    players: list[Player]
    counts: Counts = field(default_factory=Counts)
    connect_errors: Counter = field(default_factory=Counter)
    connect_error_samples: list = field(default_factory=list)
    disconnects: list = field(default_factory=list)
    host_errors: list = field(default_factory=list)
    host_phase: str = ""
    host_version: int | None = None
    host_question: int = -1
    question_text: str = ""
    background: set = field(default_factory=set)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary_ms(values: list[float]) -> dict:
    return {
        "p50": round(1000 * percentile(values, 0.50), 1) if values else None,
        "p95": round(1000 * percentile(values, 0.95), 1) if values else None,
        "max": round(1000 * max(values), 1) if values else None,
        "n": len(values),
    }


def proc_cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def cpu_snapshot(pids: dict[str, int]) -> dict:
    snapshot = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    snapshot["client"] = usage.ru_utime + usage.ru_stime
    snapshot["_machine"] = machine_jiffies()
    snapshot["_wall"] = now()
    return snapshot


def cpu_delta(before: dict, after: dict) -> dict:
    delta = {}
    for name, value in after.items():
        if name.startswith("_"):
            continue
        if value is not None and before.get(name) is not None:
            delta[name] = round(value - before[name], 2)
    busy = after["_machine"][0] - before["_machine"][0]
    total = after["_machine"][1] - before["_machine"][1]
    delta["machine_busy_pct"] = round(100 * busy / total, 1) if total else None
    delta["wall_s"] = round(after["_wall"] - before["_wall"], 2)
    return delta


def listen_overflows() -> dict:
    """TcpExt ListenOverflows and ListenDrops (the whole machine's, since boot)."""
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()]
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names[0] == "TcpExt:":
            table = dict(zip(names[1:], values[1:], strict=True))
            return {"overflows": int(table["ListenOverflows"]), "drops": int(table["ListenDrops"])}
    return {"overflows": 0, "drops": 0}


# --- players ----------------------------------------------------------------------------------------------


async def answer(run: Run, player: Player, ws: ClientConnection, index: int, options: int) -> None:
    low, high = run.spec["think_ms"]
    if high > 0:
        await asyncio.sleep(random.uniform(low, high) / 1000)  # noqa: S311 - a think time, not a secret
    player.sent[index] = now()
    player.outstanding = index
    try:
        await ws.send(json.dumps({"type": "answer", "question": index, "choices": [player.idx % options]}))
    except ConnectionClosed:
        player.sent.pop(index, None)
    else:
        run.counts.add(("sent", index))


def start_answer(run: Run, player: Player, ws: ClientConnection, message: dict) -> None:
    index = message["index"]
    if index in player.sent:
        return
    player.sent[index] = now()  # reserved; answer() stamps it again just before writing
    task = asyncio.create_task(answer(run, player, ws, index, len(message["options"])))
    run.background.add(task)
    task.add_done_callback(run.background.discard)


async def player_session(run: Run, player: Player) -> None:
    """One connection's life: connect, hello, then answer every question until closed."""
    url = f"ws://{HOST}:{player.port}/ws/live/{run.spec['contest_id']}/play/"
    try:
        ws = await connect(
            url,
            origin=f"http://{HOST}:{player.port}",
            compression=None,
            ping_interval=None,
            open_timeout=run.spec["limits"]["connect"],
            close_timeout=5,
            max_queue=64,
        )
    except Exception as exc:  # counted; the phase reports how many players never connected
        run.connect_errors[type(exc).__name__] += 1
        if len(run.connect_error_samples) < 5:
            run.connect_error_samples.append(repr(exc)[:300])
        return
    player.ws, player.opened = ws, now()
    run.counts.add("opened")
    try:
        await ws.send(json.dumps({"type": "hello", "token": player.token}))
        async for raw in ws:
            received = now()
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "question":
                index = message["index"]
                player.rx.setdefault(("question", index), received)
                run.counts.add(("question", index))
                if not run.question_text:
                    run.question_text = raw if isinstance(raw, str) else raw.decode()
                start_answer(run, player, ws, message)
            elif kind == "answer_received":
                index = message.get("question")
                player.acked[index] = received
                player.outstanding = None
                run.counts.add(("done", index))
                run.counts.add(("acked", index))
            elif kind == "error":
                code = message.get("code", "?")
                pending = player.outstanding
                player.errors[(pending if pending is not None else "-", code)] += 1
                if pending is not None:
                    player.outstanding = None
                    run.counts.add(("done", pending))
            elif kind in ("reveal", "leaderboard", "finished", "welcome"):
                index = message.get("index", -1)
                player.rx.setdefault((kind, index), received)
                run.counts.add((kind, index))
                if kind == "welcome":
                    player.welcomed, player.welcome_phase = received, message.get("phase", "")
                    question = message.get("question")
                    if message.get("phase") == "question" and question and not message.get("answered"):
                        start_answer(run, player, ws, question)
    except ConnectionClosed:
        pass
    if not player.closing:
        run.disconnects.append(
            {"player": player.idx, "code": ws.close_code, "reason": ws.close_reason, "at": now()}
        )


async def connect_all(run: Run, label: str) -> dict:
    """Start every player's connection at the same moment; wait for all welcomes."""
    for player in run.players:
        player.closing, player.opened, player.welcomed = False, None, None
    run.counts.counts["opened"] = 0
    run.counts.counts[("welcome", -1)] = 0
    errors_before = sum(run.connect_errors.values())
    backlog_before = listen_overflows()
    started = now()
    for player in run.players:
        player.task = asyncio.create_task(player_session(run, player))
    total = len(run.players)
    all_open = await run.counts.wait("opened", total, run.spec["limits"]["connect"])
    opened_at = now()
    all_welcome = await run.counts.wait(("welcome", -1), total, run.spec["limits"]["connect"])
    welcomed_at = now()
    backlog_after = listen_overflows()
    opens = [p.opened - started for p in run.players if p.opened is not None]
    welcomes = [p.welcomed - started for p in run.players if p.welcomed is not None]
    return {
        "label": label,
        "players": total,
        "opened": len(opens),
        "welcomed": len(welcomes),
        "connect_errors": sum(run.connect_errors.values()) - errors_before,
        "all_open_s": round(opened_at - started, 2) if all_open else None,
        "all_welcomed_s": round(welcomed_at - started, 2) if all_welcome else None,
        "open_ms": summary_ms(opens),
        "welcome_ms": summary_ms(welcomes),
        "welcome_phases": dict(Counter(p.welcome_phase for p in run.players)),
        # How many players were welcomed in each second after the start: a steady rate, or a stall.
        "welcomed_per_second": [
            sum(1 for w in welcomes if second <= w < second + 1)
            for second in range(math.ceil(max(welcomes, default=0)))
        ],
        "opened_per_second": [
            sum(1 for o in opens if second <= o < second + 1)
            for second in range(math.ceil(max(opens, default=0)))
        ],
        "listen_overflows": backlog_after["overflows"] - backlog_before["overflows"],
        "listen_drops": backlog_after["drops"] - backlog_before["drops"],
    }


async def drop_all(run: Run, *, abort: bool) -> None:
    """Close every player's connection (abort: drop the TCP connection, as a lost network does)."""
    for player in run.players:
        player.closing = True
        if player.ws is not None:
            if abort:
                player.ws.transport.abort()
            else:
                await_close = asyncio.create_task(player.ws.close())
                run.background.add(await_close)
                await_close.add_done_callback(run.background.discard)
    tasks = [p.task for p in run.players if p.task is not None]
    if tasks:
        await asyncio.wait(tasks, timeout=run.spec["limits"]["phase"])
    for player in run.players:
        player.ws = None


# --- the host ---------------------------------------------------------------------------------------------


async def host_reader(run: Run, ws: ClientConnection) -> None:
    try:
        async for raw in ws:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "host_state":
                run.host_phase = message.get("phase", "")
                run.host_version = message.get("version")
                question = message.get("question") or {}
                run.host_question = question.get("index", run.host_question)
            elif kind == "error":
                run.host_errors.append(message.get("code"))
    except ConnectionClosed:
        pass
    if not run.spec.get("_host_closing"):
        run.disconnects.append({"player": "host", "code": ws.close_code, "reason": ws.close_reason})


async def wait_host_phase(run: Run, phases: tuple[str, ...], limit: float) -> bool:
    deadline = now() + limit
    while run.host_phase not in phases:
        if now() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


async def command(ws: ClientConnection, run: Run, name: str) -> float:
    """Send a host command with the version the host's screen shows; returns the send time."""
    payload = json.dumps({"type": "command", "command": name, "version": run.host_version})
    sent = now()
    await ws.send(payload)
    return sent


def question_figures(run: Run, index: int, sent_at: float, cpu: dict) -> dict:
    players = run.players
    fanout = [p.rx[("question", index)] - sent_at for p in players if ("question", index) in p.rx]
    per_port: dict[int, list[float]] = {}
    for p in players:
        if ("question", index) in p.rx:
            per_port.setdefault(p.port, []).append(p.rx[("question", index)] - sent_at)
    acks = [p.acked[index] - p.sent[index] for p in players if index in p.acked and index in p.sent]
    last_ack = max((p.acked[index] for p in players if index in p.acked), default=None)
    errors = Counter()
    for p in players:
        for (question, code), count in p.errors.items():
            if question == index:
                errors[code] += count
    return {
        "index": index,
        "received": len(fanout),
        "fanout_ms": summary_ms(fanout),
        "fanout_max_ms_by_port": {
            str(port): round(1000 * max(per_port[port]), 1) for port in run.spec["ports"] if port in per_port
        },
        "answers_sent": sum(1 for p in players if index in p.sent),
        "answers_acked": sum(1 for p in players if index in p.acked),
        "answer_errors": dict(errors),
        "ack_ms": summary_ms(acks),
        "all_acked_after_next_s": round(last_ack - sent_at, 2) if last_ack is not None else None,
        "cpu_s": cpu,
        "_fanout": fanout,
    }


async def play(run: Run) -> dict:
    """Connect everyone, play the contest if everyone was welcomed, and count what happened."""
    spec = run.spec
    figures: dict = {"questions": [], "idle": None, "storm": None, "aborted": None, "podium_fanout_ms": None}
    figures["connect"] = await connect_all(run, "initial connect, all at once")
    welcomed = figures["connect"]["welcomed"]
    if welcomed == len(run.players):
        await game(run, figures)
    else:
        figures["aborted"] = f"only {welcomed} of {len(run.players)} players were welcomed: no contest played"
        print(figures["aborted"], file=sys.stderr, flush=True)
    figures["disconnects"] = list(run.disconnects)
    figures["disconnect_codes"] = dict(Counter(str(d["code"]) for d in run.disconnects))
    figures["host_errors"] = run.host_errors
    figures["connect_errors"] = dict(run.connect_errors)
    figures["connect_error_samples"] = run.connect_error_samples
    figures["acked"] = {
        str(index): [p.idx for p in run.players if index in p.acked] for index in range(spec["questions"])
    }
    figures["sent"] = {
        str(index): sum(1 for p in run.players if index in p.sent) for index in range(spec["questions"])
    }
    figures["too_late"] = sum(
        count for p in run.players for (_, code), count in p.errors.items() if code == "too_late"
    )
    await drop_all(run, abort=False)
    return figures


async def game(run: Run, figures: dict) -> None:
    spec, limits = run.spec, run.spec["limits"]
    total = len(run.players)
    host = await connect(
        f"ws://{HOST}:{spec['ports'][0]}/ws/live/{spec['contest_id']}/host/",
        origin=f"http://{HOST}:{spec['ports'][0]}",
        additional_headers={"Cookie": spec["host_cookie"]},
        compression=None,
        ping_interval=None,
        open_timeout=limits["phase"],
        max_queue=None,
    )
    reader = asyncio.create_task(host_reader(run, host))
    try:
        if not await wait_host_phase(run, ("lobby",), limits["phase"]):
            raise RuntimeError(f"the host screen did not show the lobby (phase {run.host_phase!r})")
        for index in range(spec["questions"]):
            before = cpu_snapshot(spec["pids"])
            sent_at = await command(host, run, "start" if index == 0 else "next")
            got_all = await run.counts.wait(("question", index), total, limits["fanout"])
            fanout_done = now()
            await run.counts.wait(("sent", index), total, limits["answers"])
            await run.counts.wait(("done", index), run.counts.counts[("sent", index)], limits["answers"])
            after = cpu_snapshot(spec["pids"])
            result = question_figures(run, index, sent_at, cpu_delta(before, after))
            result["all_received"] = got_all
            result["fanout_wall_s"] = round(fanout_done - sent_at, 3)
            # The server closes the question once everyone has answered (the host's clock ticks twice a
            # second); otherwise the host closes it. The version makes a late `next` harmless.
            if not await wait_host_phase(run, ("reveal",), 3.0):
                await command(host, run, "next")
            closed = await run.counts.wait(("reveal", index), total, limits["phase"])
            await wait_host_phase(run, ("reveal",), limits["phase"])
            board_sent = await command(host, run, "next")
            boards = await run.counts.wait(("leaderboard", index), total, limits["phase"])
            board_times = [
                p.rx[("leaderboard", index)] - board_sent
                for p in run.players
                if ("leaderboard", index) in p.rx
            ]
            result["reveal_received"] = run.counts.counts[("reveal", index)]
            result["leaderboard_fanout_ms"] = summary_ms(board_times)
            result["closed_ok"], result["leaderboard_ok"] = closed, boards
            await wait_host_phase(run, ("leaderboard",), limits["phase"])
            figures["questions"].append(result)
            print(
                f"  question {index}: {result['received']}/{total} received, fan-out "
                f"{result['fanout_ms']}, acked {result['answers_acked']}/{result['answers_sent']}",
                file=sys.stderr,
                flush=True,
            )
            last = index == spec["questions"] - 1
            if not last and index == spec["idle_after"] and spec["idle_gap"] > 0:
                disconnects_before = len(run.disconnects)
                await asyncio.sleep(spec["idle_gap"])
                figures["idle"] = {
                    "after_question": index,
                    "gap_s": spec["idle_gap"],
                    "disconnects": len(run.disconnects) - disconnects_before,
                    "connected_after": sum(1 for p in run.players if p.ws is not None and not p.task.done()),
                }
            if not last and index == spec["storm_after"]:
                await drop_all(run, abort=True)
                figures["storm"] = await connect_all(
                    run, "reconnect storm: every player dropped, all at once"
                )
        finished_sent = await command(host, run, "next")
        await run.counts.wait(("finished", -1), total, limits["phase"])
        finished = [p.rx[("finished", -1)] - finished_sent for p in run.players if ("finished", -1) in p.rx]
        figures["podium_fanout_ms"] = summary_ms(finished)
    finally:
        spec["_host_closing"] = True
        await host.close()
        await asyncio.wait([reader], timeout=5)


# --- the ceiling ------------------------------------------------------------------------------------------


async def ceiling(spec: dict, text: str) -> dict:
    """The same N clients against the bare websockets server: connect all at once, broadcast, time it."""
    port, total, limits = spec["ceiling_port"], len(spec["tokens"]), spec["limits"]
    counts = Counts()
    received: list[dict[int, float]] = [{} for _ in range(total)]
    sockets: list[ClientConnection | None] = [None] * total

    async def client(slot: int) -> None:
        try:
            ws = await connect(
                f"ws://{HOST}:{port}/",
                compression=None,
                ping_interval=None,
                open_timeout=limits["connect"],
                max_queue=64,
            )
        except Exception:  # counted below as not opened
            return
        sockets[slot] = ws
        counts.add("opened")
        try:
            async for raw in ws:
                at = now()
                round_ = json.loads(raw)["index"]
                received[slot][round_] = at
                counts.add(round_)
        except ConnectionClosed:
            pass

    started = now()
    tasks = [asyncio.create_task(client(slot)) for slot in range(total)]
    all_open = await counts.wait("opened", total, limits["connect"])
    connect_s = now() - started
    control = await connect(
        f"ws://{HOST}:{port}/control", compression=None, ping_interval=None, open_timeout=limits["phase"]
    )
    # The contest's own question; when none was played (an aborted run), one of about the same size.
    message = (
        json.loads(text) if text else {"type": "question", "stem": "题" * 60, "options": ["选项" * 8] * 4}
    )
    rounds = []
    cpu_before = cpu_snapshot(spec["ceiling_pids"])
    # One unmeasured broadcast first: the first write on each fresh connection allocates its buffers.
    await control.send(json.dumps({**message, "index": -1}))
    await counts.wait(-1, total, limits["fanout"])
    await asyncio.wait_for(control.recv(), limits["phase"])
    for round_ in range(spec["ceiling_rounds"]):
        payload = json.dumps({**message, "index": round_})  # ASCII-escaped, as Channels' send_json sends it
        await asyncio.sleep(0.5)
        sent_at = now()
        await control.send(payload)
        await counts.wait(round_, total, limits["fanout"])
        reply = await asyncio.wait_for(control.recv(), limits["phase"])
        times = [r[round_] - sent_at for r in received if round_ in r]
        rounds.append(
            {"round": round_, "server_reply": reply, "fanout_ms": summary_ms(times), "_fanout": times}
        )
    cpu = cpu_delta(cpu_before, cpu_snapshot(spec["ceiling_pids"]))
    await control.close()
    for ws in sockets:
        if ws is not None:
            ws.transport.abort()
    await asyncio.wait(tasks, timeout=limits["phase"])
    every = [t for r in rounds for t in r.pop("_fanout")]
    return {
        "clients": total,
        "opened": counts.counts["opened"],
        "all_open_s": round(connect_s, 2) if all_open else None,
        "payload_bytes": len(json.dumps({**message, "index": 0}).encode()),
        "rounds": rounds,
        "fanout_ms": summary_ms(every),
        "cpu_s": cpu,
    }


async def main(spec: dict) -> dict:
    players = [
        Player(idx=i, token=token, port=spec["ports"][i % len(spec["ports"])])
        for i, token in enumerate(spec["tokens"])
    ]
    run = Run(spec=spec, players=players)
    started = now()
    figures = await play(run)
    figures["contest_wall_s"] = round(now() - started, 1)
    figures["question_bytes"] = len(run.question_text.encode())
    figures["ceiling"] = await ceiling(spec, run.question_text)
    return figures


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    spec = json.loads(Path(sys.argv[1]).read_text())
    result = asyncio.run(main(spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["client_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    result["client_peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    Path(spec["out"]).write_text(json.dumps(result))
