// The host's screen of a live contest (docs/live-protocol.md): the projector in the hall and the host's
// controls. Everything shown comes from the server; a command carries the `version` of the state this screen
// showed, so a click on an out-of-date screen is refused instead of skipping a step.
(function () {
  "use strict";
  const root = document.getElementById("live-host");
  if (!root || !window.QkLiveSocket) return;
  const Live = window.QkLiveSocket;
  const gettext = window.gettext || ((text) => text);
  const interpolate = window.interpolate || ((fmt, obj) => fmt.replace(/%\((\w+)\)s/g, (_, key) => obj[key]));
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const $ = (id) => document.getElementById(id);

  const model = {
    phase: "",          // lobby, question, reveal, leaderboard, paused, finished
    shown: "",          // the screen under a pause
    version: null,
    players: [],        // [{id, nickname, team, score}]
    playerCount: 0,
    count: Number(root.dataset.count) || 0,
    question: null,
    deadline: 0,
    pausedLeft: null,
    answered: 0,
    reveal: null,
    leaderboard: null,
    podium: null,
  };
  let rendered = "";    // key of the screen in the DOM, rebuilt only when it changes
  let busy = false;
  let busyTimer = null;
  let timer = null;

  const el = QkLiveSocket.el;
  const announce = (text) => QkLiveSocket.announce($("lh-announce"), text);
  const toast = (text) => QkLiveSocket.toast($("lh-toast"), text, 6000);
  function formatPoints(n) {
    return Number(n || 0).toLocaleString(document.documentElement.lang || undefined);
  }
  function optionMark(index) {
    const mark = el("span", `lv-mark lv-c${index % 8}`);
    mark.setAttribute("aria-hidden", "true");
    mark.appendChild(Live.shapeIcon(index));
    mark.appendChild(el("span", "lv-letter", Live.letter(index)));
    return mark;
  }

  // --- the connection ------------------------------------------------------------------------------------
  const socket = new Live(root.dataset.wsPath, {
    onState(state) {
      root.dataset.connection = state;
      $("lh-conn").textContent = state === "open" ? "" : Live.stateLabel(state);
      if (state !== "open") setBusy(false);
      renderControls();
    },
    onMessage: receive,
    onClosed() {
      show("gone");
      renderControls();
    },
  });

  function command(name) {
    if (busy || !socket.isOpen()) return;
    const message = { type: "command", command: name };
    if (model.version !== null) message.version = model.version;
    if (socket.send(message)) setBusy(true);
  }
  function setBusy(value) {
    busy = value;
    clearTimeout(busyTimer);
    // The answer is a new host_state (or an error); a lost one must not lock the controls for good.
    if (value) busyTimer = setTimeout(() => setBusy(false), 5000);
    root.dataset.busy = value ? "1" : "";
    renderControls();
  }

  // A broadcast that moves the contest on carries no `version` (or one the host_state right behind it may
  // still raise): the controls wait for that host_state, so a quick click is never a stale command.
  const MOVES = new Set(["question", "paused", "resumed", "reveal", "leaderboard", "finished", "skipped"]);

  function receive(message) {
    if (MOVES.has(message.type)) setBusy(true);
    switch (message.type) {
      case "host_state": return hostState(message);
      case "host_refresh": return undefined;  // a new host_state follows
      case "lobby":
        model.playerCount = message.players;
        return renderPlayers();
      case "player_joined": return playerJoined(message.player);
      case "player_left": return playerLeft(message.player);
      case "question":
        setQuestion(message);
        model.phase = "question";
        model.shown = "";
        return render();
      case "tally":
        if (model.question && message.question === model.question.index) model.answered = message.answered;
        if (typeof message.players === "number") model.playerCount = message.players;
        return renderTally();
      case "paused":
        if (model.phase !== "paused") model.shown = model.phase;
        model.phase = "paused";
        model.pausedLeft = typeof message.remaining_ms === "number" ? message.remaining_ms : null;
        return render();
      case "resumed":
        snapshot(message);
        return render();
      case "reveal":
        model.reveal = message;
        model.phase = "reveal";
        return render();
      case "leaderboard":
        model.leaderboard = message;
        model.phase = "leaderboard";
        return render();
      case "skipped":
        return toast(gettext("Question skipped: it does not count."));
      case "finished":
        model.podium = Live.podium(message);
        model.phase = "finished";
        return render();
      case "error":
        setBusy(false);
        return toast(message.message || gettext("Something went wrong."));
      default:
        return undefined;
    }
  }

  function setQuestion(question) {
    if (!model.question || model.question.index !== question.index) model.answered = 0;
    model.question = question;
    model.deadline = performance.now() + Math.max(0, question.remaining_ms || 0);
    if (typeof question.version === "number") model.version = question.version;
    if (question.count) model.count = question.count;
  }

  // The whole state: on connect and after every command.
  function snapshot(message) {
    if (typeof message.version === "number") model.version = message.version;
    model.phase = message.phase;
    if (message.question) setQuestion(message.question);
    if (message.reveal) model.reveal = message.reveal;
    if (message.leaderboard) model.leaderboard = message.leaderboard;
    if (message.podium) model.podium = Live.podium(message);
    if (message.phase === "paused") {
      model.shown = message.question ? "question" : message.reveal ? "reveal" : message.leaderboard ? "leaderboard" : "";
      model.pausedLeft = typeof message.remaining_ms === "number" ? message.remaining_ms : null;
    } else {
      model.shown = "";
    }
  }

  function hostState(message) {
    snapshot(message);
    if (message.pin) $("lh-pin").textContent = message.pin;
    if (Array.isArray(message.players)) model.players = message.players.slice();
    model.playerCount = typeof message.player_count === "number" ? message.player_count : model.players.length;
    if (typeof message.answered === "number") model.answered = message.answered;
    setBusy(false);
    render();
  }

  function playerJoined(player) {
    if (!player || model.players.some((p) => p.id === player.id)) return;
    model.players.push(player);
    // `lobby` (sent with every join) carries the true count; the list may be capped at 500.
    model.playerCount = Math.max(model.playerCount, model.players.length);
    renderPlayers();
    announce(interpolate(gettext("%(name)s joined"), { name: player.nickname }, true));
  }
  function playerLeft(id) {
    // The count comes from the `lobby` message the server sends with every join and removal.
    model.players = model.players.filter((p) => p.id !== id);
    renderPlayers();
  }
  function kick(player) {
    if (socket.send({ type: "kick", player: player.id })) {
      const chip = $("lh-chips").querySelector(`[data-player="${player.id}"]`);
      if (chip) chip.classList.add("is-leaving");
    }
  }

  // --- rendering -----------------------------------------------------------------------------------------
  function show(screen) {
    root.dataset.screen = screen;
    root.querySelectorAll("[data-screen]").forEach((section) => {
      if (section === root) return;
      section.hidden = section.dataset.screen !== screen;
    });
  }

  function render() {
    const phase = model.phase;
    root.dataset.phase = phase;
    root.dataset.version = model.version === null ? "" : String(model.version);
    const screen = phase === "paused" ? model.shown || "lobby" : phase;
    const index = model.question ? model.question.index : -1;
    const key = `${screen}:${screen === "reveal" && model.reveal ? model.reveal.index : index}`;
    if (key !== rendered) {
      rendered = key;
      if (screen === "lobby") renderLobby();
      else if (screen === "question") renderQuestion();
      else if (screen === "reveal") renderReveal();
      else if (screen === "leaderboard") renderLeaderboard();
      else if (screen === "finished") renderFinished();
      show(screen);
    }
    $("lh-paused").hidden = phase !== "paused";
    if (screen === "question") startTimer(); else stopTimer();
    renderProgress();
    renderPlayers();
    renderTally();
    renderControls();
  }

  // Under the title: "Question 2 of 10 · 35 players" while the contest runs.
  function renderProgress() {
    const q = model.question;
    const parts = [];
    if (q && ["question", "reveal", "leaderboard", "paused"].includes(model.phase)) {
      parts.push(interpolate(gettext("Question %(number)s of %(count)s"), { number: q.index + 1, count: model.count || q.count }, true));
    }
    if (model.phase && model.phase !== "lobby") {
      const n = model.playerCount;
      parts.push(interpolate(ngettext("%(count)s player", "%(count)s players", n), { count: n }, true));
    }
    $("lh-sub").textContent = parts.join(" · ");
  }

  function renderLobby() {
    renderPlayers();
    announce(gettext("Waiting for players to join."));
  }

  function renderPlayers() {
    renderProgress();
    const n = model.playerCount;
    $("lh-lobby-count").textContent = String(n);
    $("lh-lobby-count-label").textContent = ngettext("player", "players", n);
    $("lh-waiting").hidden = model.players.length > 0;
    const list = $("lh-chips");
    const wanted = new Map(model.players.map((p) => [String(p.id), p]));
    list.querySelectorAll("[data-player]").forEach((chip) => {
      if (!wanted.has(chip.dataset.player)) chip.remove();
    });
    model.players.forEach((player) => {
      if (list.querySelector(`[data-player="${player.id}"]`)) return;
      const chip = el("li", "lh-chip");
      chip.dataset.player = String(player.id);
      chip.appendChild(el("span", "lh-chip-name", player.nickname));
      if (player.team) chip.appendChild(el("span", "lh-chip-team", player.team));
      const remove = el("button", "lh-chip-kick", "×");
      remove.type = "button";
      remove.setAttribute("aria-label", interpolate(gettext("Remove %(name)s"), { name: player.nickname }, true));
      remove.title = remove.getAttribute("aria-label");
      remove.addEventListener("click", () => kick(player));
      chip.appendChild(remove);
      list.appendChild(chip);
    });
  }

  function fillTiles(list, question, correct) {
    list.textContent = "";
    list.className = `lh-tiles lh-tiles-${question.options.length}${correct ? " lh-tiles-reveal" : ""}`;
    question.options.forEach((text, index) => {
      const tile = el("li", `lh-tile lv-c${index % 8}`);
      if (correct) tile.classList.add(correct.includes(index) ? "is-correct" : "is-wrong");
      tile.appendChild(optionMark(index));
      tile.appendChild(el("span", "visually-hidden", `${Live.markLabel(index)}: `));
      tile.appendChild(el("span", "lh-tile-text", text));
      if (correct && correct.includes(index)) {
        const tick = el("span", "lh-tick", "✓");
        tick.setAttribute("aria-label", gettext("right answer"));
        tile.appendChild(tick);
      }
      list.appendChild(tile);
    });
  }

  function renderQuestion() {
    const q = model.question;
    $("lh-q-stem").textContent = q.stem;
    const image = $("lh-q-image");
    if (q.image) { image.src = q.image; image.hidden = false; } else { image.hidden = true; image.removeAttribute("src"); }
    fillTiles($("lh-q-options"), q, null);
    announce(interpolate(gettext("Question %(number)s: %(stem)s"), { number: q.index + 1, stem: q.stem }, true));
  }

  function renderTally() {
    const answered = model.answered || 0;
    $("lh-q-answered").textContent = String(answered);
    $("lh-q-answered-label").textContent = interpolate(
      ngettext("answer of %(players)s", "answers of %(players)s", answered), { players: model.playerCount }, true
    );
  }

  function startTimer() {
    if (timer === null) timer = setInterval(tick, 200);
    tick();
  }
  function stopTimer() {
    clearInterval(timer);
    timer = null;
  }
  function tick() {
    const q = model.question;
    if (!q) return;
    const left = model.phase === "paused"
      ? (model.pausedLeft === null ? 0 : model.pausedLeft)
      : Math.max(0, model.deadline - performance.now());
    const seconds = Math.ceil(left / 1000);
    $("lh-q-timer").textContent = String(seconds);
    $("lh-q-clock").classList.toggle("urgent", seconds <= 5);
    $("lh-q-timebar").style.width = `${Math.max(0, Math.min(100, (left / (q.time_limit_ms || 1)) * 100))}%`;
  }

  function renderReveal() {
    const r = model.reveal;
    const q = model.question && model.question.index === r.index ? model.question : null;
    $("lh-r-stem").textContent = q ? q.stem : "";
    const chart = $("lh-r-chart");
    chart.textContent = "";
    const max = Math.max(1, ...r.distribution);
    const described = [];
    r.distribution.forEach((count, index) => {
      const right = r.correct.includes(index);
      const column = el("div", `lh-col lv-c${index % 8}${right ? " is-correct" : " is-wrong"}`);
      column.appendChild(el("span", "lh-col-count", String(count)));
      const bar = el("span", "lh-col-bar");
      bar.style.height = `${Math.max(4, (count / max) * 100)}%`;
      column.appendChild(bar);
      const foot = el("span", "lh-col-foot");
      foot.appendChild(optionMark(index));
      if (right) foot.appendChild(el("span", "lh-tick", "✓"));
      column.appendChild(foot);
      chart.appendChild(column);
      described.push(`${Live.letter(index)}: ${count}${right ? " ✓" : ""}`);
    });
    chart.setAttribute("aria-label", `${gettext("Answers per option")} — ${described.join(", ")}`);
    $("lh-r-answered").textContent = interpolate(
      gettext("%(answered)s of %(players)s players answered"), { answered: r.answered, players: r.players }, true
    );
    $("lh-r-explanation").hidden = !r.explanation;
    $("lh-r-explanation-text").textContent = r.explanation || "";
    if (q) fillTiles($("lh-r-options"), q, r.correct);
    else $("lh-r-options").textContent = "";
    const letters = r.correct.map((i) => Live.letter(i)).join(", ");
    announce(interpolate(gettext("The right answer: %(letters)s"), { letters }, true));
  }

  function fillBoard(list, rows) {
    list.textContent = "";
    rows.forEach((row) => {
      const item = el("li", `lh-row${row.rank <= 3 ? " lh-row-top" : ""}`);
      item.appendChild(el("span", "lh-row-rank", String(row.rank)));
      item.appendChild(el("span", "lh-row-name", row.name));
      item.appendChild(el("span", "lh-row-score", formatPoints(row.score)));
      list.appendChild(item);
    });
  }

  function renderLeaderboard() {
    const board = model.leaderboard || { top: [], teams: [] };
    fillBoard($("lh-lb-list"), board.top || []);
    const teams = board.teams || [];
    $("lh-lb-teams-box").hidden = teams.length === 0;
    fillBoard($("lh-lb-teams"), teams);
    announce(gettext("Leaderboard"));
  }

  function renderFinished() {
    const podium = model.podium || { top: [], teams: [] };
    const box = $("lh-f-podium");
    box.textContent = "";
    podium.top.slice(0, 3).forEach((row) => {
      const step = el("li", `lv-step lv-step-${Math.min(row.rank, 3)}`);
      step.appendChild(el("span", "lv-step-name", row.name));
      step.appendChild(el("span", "lv-step-score", formatPoints(row.score)));
      step.appendChild(el("span", "lv-step-block", String(row.rank)));
      box.appendChild(step);
    });
    $("lh-f-teams-box").hidden = podium.teams.length === 0;
    fillBoard($("lh-f-teams"), podium.teams);
    const names = podium.top.slice(0, 3).map((row) => `${row.rank}. ${row.name}`).join(", ");
    announce(`${gettext("Podium")}: ${names}`);
  }

  function nextLabel() {
    const q = model.question;
    switch (model.phase) {
      case "question": return gettext("Show the answer");
      case "reveal": return gettext("Leaderboard");
      case "leaderboard":
        return q && model.count && q.index + 1 >= model.count ? gettext("Show the podium") : gettext("Next question");
      default: return gettext("Next step");
    }
  }

  function renderControls() {
    const phase = model.phase;
    const open = socket.isOpen();
    const screen = phase === "paused" ? model.shown : phase;
    const set = (id, visible, enabled) => {
      const button = $(id);
      button.hidden = !visible;
      if ("disabled" in button) button.disabled = !enabled;
    };
    const ready = open && !busy;
    $("lh-start-big").disabled = !ready;
    set("lh-next", ["question", "reveal", "leaderboard", "paused"].includes(phase), ready && phase !== "paused");
    $("lh-next").textContent = nextLabel();
    set("lh-pause", ["question", "reveal", "leaderboard", "paused"].includes(phase), ready);
    $("lh-pause").textContent = phase === "paused" ? gettext("Resume") : gettext("Pause");
    $("lh-pause").classList.toggle("btn-ghost", phase !== "paused");
    set("lh-skip", screen === "question", ready);
    set("lh-end", Boolean(phase) && phase !== "finished", ready);
    $("lh-results").hidden = phase !== "finished";
  }

  // --- controls ------------------------------------------------------------------------------------------
  function next() {
    if (model.phase === "lobby") return command("start");
    if (["question", "reveal", "leaderboard"].includes(model.phase)) return command("next");
    return undefined;
  }
  function pauseOrResume() {
    if (model.phase === "paused") return command("resume");
    if (["question", "reveal", "leaderboard"].includes(model.phase)) return command("pause");
    return undefined;
  }
  function end() {
    if (window.confirm(gettext("End the contest now? The podium is shown and nobody can answer any more."))) {
      command("end");
    }
  }
  $("lh-start-big").addEventListener("click", () => command("start"));
  $("lh-next").addEventListener("click", next);
  $("lh-pause").addEventListener("click", pauseOrResume);
  $("lh-skip").addEventListener("click", () => command("skip"));
  $("lh-end").addEventListener("click", end);
  $("lh-fullscreen").addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (root.requestFullscreen) root.requestFullscreen().catch(() => {});
  });

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const onControl = target.closest && target.closest("button, a, summary");
    if (event.key === " " || event.key === "ArrowRight") {
      if (event.key === " " && onControl) return;  // Space already presses the focused button
      event.preventDefault();
      next();
    } else if (event.key === "p" || event.key === "P") {
      event.preventDefault();
      pauseOrResume();
    }
  });

  show("connecting");
  renderControls();
})();
