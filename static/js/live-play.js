// A player's phone in a live contest (docs/live-protocol.md). The server keeps the clock and the score;
// this page shows what it is told, answers, and comes back to the same screen after a reload or a drop.
(function () {
  "use strict";
  const root = document.getElementById("live-play");
  if (!root || !window.QkLiveSocket) return;
  const Live = window.QkLiveSocket;
  const gettext = window.gettext || ((text) => text);
  const interpolate = window.interpolate || ((fmt, obj) => fmt.replace(/%\((\w+)\)s/g, (_, key) => obj[key]));
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const $ = (id) => document.getElementById(id);

  const contestId = root.dataset.contest;
  const tokenKey = `qk-live-${contestId}`;
  const choiceKey = `qk-live-${contestId}-choice`;
  const joinUrl = root.dataset.joinUrl;

  // The token comes with the page only right after joining; after that it lives in this browser.
  const store = {
    get(key) { try { return window.localStorage.getItem(key); } catch (error) { return null; } },
    set(key, value) { try { window.localStorage.setItem(key, value); } catch (error) { /* private mode */ } },
    remove(key) { try { window.localStorage.removeItem(key); } catch (error) { /* private mode */ } },
  };
  if (root.dataset.token) {
    store.set(tokenKey, root.dataset.token);
    store.remove(choiceKey);
    // The token is not needed in the page any more; and this page may be the answer to the join form's POST:
    // a reload goes to the player's own page instead of posting the form again.
    root.removeAttribute("data-token");
    if (window.history.replaceState) window.history.replaceState(null, "", root.dataset.playUrl || window.location.href);
  }
  const token = store.get(tokenKey);
  if (!token) {
    window.location.replace(joinUrl);
    return;
  }

  // --- state ---------------------------------------------------------------------------------------------
  const game = {
    me: null,            // {id, nickname, score, rank, team}
    players: 0,
    question: null,      // the open (or last) question message
    deadline: 0,         // performance.now() at which the open question closes
    paused: false,
    answered: -1,        // index of the question this player has answered (optimistic)
    confirmed: -1,       // index the server confirmed with answer_received
    pending: null,       // {question, choices} not yet confirmed
    choice: loadChoice(),// {question, choices}: this player's last answer, kept for the reveal
    selected: new Set(), // toggled options of a "multiple" question before submitting
    timeUp: false,
    reveal: null,
    screen: "connecting",
  };
  let timer = null;

  function loadChoice() {
    try {
      const saved = JSON.parse(store.get(choiceKey) || "null");
      if (saved && Number.isInteger(saved.question) && Array.isArray(saved.choices)) return saved;
    } catch (error) { /* ignore */ }
    return null;
  }

  // --- small helpers -------------------------------------------------------------------------------------
  const el = QkLiveSocket.el;
  const announce = (text) => QkLiveSocket.announce($("lv-announce"), text);
  const toast = (text) => QkLiveSocket.toast($("lv-toast"), text, 5000);
  function show(screen) {
    game.screen = screen;
    root.dataset.screen = screen;
    root.querySelectorAll("[data-screen]").forEach((section) => {
      section.hidden = section.dataset.screen !== screen;
    });
  }
  function sameSet(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    const set = new Set(a);
    return b.every((x) => set.has(x));
  }
  function formatPoints(n) {
    return Number(n || 0).toLocaleString(document.documentElement.lang || undefined);
  }
  function rankText(rank, players) {
    if (!rank) return "";
    return interpolate(gettext("You are #%(rank)s of %(players)s"), { rank, players: players || rank }, true);
  }
  function optionMark(index, extraClass) {
    const mark = el("span", `lv-mark lv-c${index % 8}${extraClass ? " " + extraClass : ""}`);
    mark.setAttribute("aria-hidden", "true");  // read out as "A, red triangle" by the label beside it
    mark.appendChild(Live.shapeIcon(index));
    mark.appendChild(el("span", "lv-letter", Live.letter(index)));
    return mark;
  }

  // --- the connection ------------------------------------------------------------------------------------
  const status = $("lv-conn");
  const socket = new Live(root.dataset.wsPath, {
    onOpen() {
      socket.send({ type: "hello", token });
    },
    onState(state) {
      root.dataset.connection = state;
      status.textContent = state === "open" ? "" : Live.stateLabel(state);
      status.hidden = state === "open";
    },
    onMessage: receive,
    onClosed(code) {
      if (code === 4001) leave();
      else if (code === 4003) kicked();
      else if (code === 4004) gone();
    },
  });

  function leave() {
    store.remove(tokenKey);
    store.remove(choiceKey);
    window.location.replace(joinUrl);
  }

  function receive(message) {
    switch (message.type) {
      case "welcome": return welcome(message);
      case "lobby": game.players = message.players; return renderLobbyCount();
      case "question": return openQuestion(message, false);
      case "paused": return pause(message);
      case "resumed": return resume(message);
      case "reveal": return reveal(message);
      case "leaderboard": return leaderboard(message);
      case "finished": return finished(message);
      case "skipped": return skipped(message);
      case "answer_received": return answerReceived(message);
      case "me": return renderMe(message);
      case "kicked":
        if (message.player && game.me && message.player !== game.me.id) return undefined;
        socket.stop();
        return kicked();
      case "error": return error(message);
      default: return undefined;
    }
  }

  // A snapshot (`welcome`, `resumed`): whichever screen the phase has.
  function snapshot(message, fresh) {
    const phase = message.phase;
    if (message.question) openQuestion(message.question, !fresh);
    else if (message.reveal) reveal(message.reveal);
    else if (message.leaderboard) leaderboard(message.leaderboard);
    else if (message.podium || phase === "finished") finished(message);
    else showLobby();
    setPaused(phase === "paused", message.remaining_ms);
  }

  function welcome(message) {
    game.me = message.player;
    if (typeof message.players === "number") game.players = message.players;
    $("lv-nickname").textContent = game.me.nickname;
    if (game.me.team) $("lv-team").textContent = game.me.team;
    renderScore(game.me.score);
    const open = message.question;
    if (open && message.answered) {
      game.answered = open.index;
      game.confirmed = open.index;
      game.pending = null;
    } else if (open && game.answered === open.index && game.confirmed !== open.index) {
      // Answered while the connection was down: not recorded, so allow (and retry) it.
      game.answered = -1;
    }
    snapshot(message, true);
    // An answer given while the connection was down goes out now, if its question is still open.
    if (open && !message.answered && game.pending && game.pending.question === open.index && message.phase === "question") {
      sendAnswer(game.pending.choices);
    } else if (!open) {
      game.pending = null;
    }
    // The reveal, leaderboard and podium screens ask for `me` themselves; a question shows welcome's score.
  }

  // --- lobby ---------------------------------------------------------------------------------------------
  function showLobby() {
    stopTimer();
    $("lv-lobby-name").textContent = game.me ? game.me.nickname : "";
    renderLobbyCount();
    show("lobby");
  }
  function renderLobbyCount() {
    const n = game.players || 0;
    $("lv-lobby-count").textContent = interpolate(
      ngettext("%(count)s player has joined", "%(count)s players have joined", n), { count: n }, true
    );
  }

  // --- question ------------------------------------------------------------------------------------------
  function openQuestion(question, resumed) {
    const same = game.question && game.question.index === question.index;
    game.question = question;
    game.reveal = null;
    game.timeUp = false;
    game.deadline = performance.now() + Math.max(0, question.remaining_ms || 0);
    if (!same) {
      game.selected = new Set();
      if (game.answered !== question.index) game.answered = -1;
      if (game.pending && game.pending.question !== question.index) game.pending = null;
    }
    const kind = Live.questionKind(question);
    root.dataset.question = String(question.index);
    $("lv-q-progress").textContent = interpolate(
      gettext("Question %(number)s of %(count)s"), { number: question.index + 1, count: question.count }, true
    );
    const stem = $("lv-q-stem");
    stem.textContent = question.stem;
    const image = $("lv-q-image");
    if (question.image) { image.src = question.image; image.hidden = false; } else { image.hidden = true; image.removeAttribute("src"); }
    $("lv-q-hint").textContent = kind === "multiple"
      ? gettext("Choose all that apply, then press “Submit”.")
      : kind === "true_false" ? gettext("True or false?") : gettext("Choose one answer.");

    const box = $("lv-q-options");
    // Rebuilding the options drops the keyboard focus if it was on one of them: put it on the new stem.
    const hadFocus = box.contains(document.activeElement) || $("lv-q-submit") === document.activeElement;
    box.textContent = "";
    box.className = `lv-answers lv-answers-${question.options.length}`;
    question.options.forEach((text, index) => {
      const button = el("button", `lv-option lv-c${index % 8}`);
      button.type = "button";
      button.dataset.index = String(index);
      button.appendChild(optionMark(index));
      const hidden = el("span", "visually-hidden", `${Live.markLabel(index)}: `);
      button.appendChild(hidden);
      button.appendChild(el("span", "lv-option-text", text));
      if (kind === "multiple") button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => choose(index));
      box.appendChild(button);
    });
    const submit = $("lv-q-submit");
    submit.hidden = kind !== "multiple";
    show("question");
    renderAnswerState();
    startTimer();
    if (hadFocus) stem.focus({ preventScroll: true });
    if (!same || !resumed) {
      announce(interpolate(gettext("Question %(number)s: %(stem)s"), { number: question.index + 1, stem: question.stem }, true));
    }
  }

  function choose(index) {
    const question = game.question;
    if (!question || game.answered === question.index || game.timeUp || game.paused) return;
    if (Live.questionKind(question) === "multiple") {
      if (game.selected.has(index)) game.selected.delete(index); else game.selected.add(index);
      renderAnswerState();
      return;
    }
    sendAnswer([index]);
  }

  function submitMultiple() {
    if (!game.question || game.selected.size === 0) return;
    sendAnswer(Array.from(game.selected).sort((a, b) => a - b));
  }

  function sendAnswer(choices) {
    const question = game.question;
    if (!question) return;
    game.answered = question.index;
    game.pending = { question: question.index, choices };
    game.choice = { question: question.index, choices };
    store.set(choiceKey, JSON.stringify(game.choice));
    const sent = socket.send({ type: "answer", question: question.index, choices });
    renderAnswerState(sent ? null : gettext("Your answer is kept on this phone and sent when the connection is back."));
    if (sent) announce(gettext("Answer received."));
  }

  function answerReceived(message) {
    game.confirmed = message.question;
    game.answered = message.question;
    if (game.pending && game.pending.question === message.question) game.pending = null;
    if (game.question && game.question.index === message.question) renderAnswerState();
  }

  function renderAnswerState(note) {
    const question = game.question;
    if (!question) return;
    const answered = game.answered === question.index;
    const confirmed = game.confirmed === question.index;
    const mine = game.choice && game.choice.question === question.index ? game.choice.choices : [];
    const locked = answered || game.timeUp || game.paused;
    root.dataset.answered = answered ? String(question.index) : "";
    root.dataset.confirmed = confirmed ? String(question.index) : "";
    const multiple = Live.questionKind(question) === "multiple";
    $("lv-q-options").querySelectorAll(".lv-option").forEach((button) => {
      const index = Number(button.dataset.index);
      const picked = answered ? mine.includes(index) : game.selected.has(index);
      button.classList.toggle("is-picked", picked);
      button.classList.toggle("is-dimmed", answered && mine.length > 0 && !picked);
      if (multiple) button.setAttribute("aria-pressed", picked ? "true" : "false");
      button.disabled = locked;
    });
    const submit = $("lv-q-submit");
    submit.disabled = locked || game.selected.size === 0;
    submit.hidden = !multiple || answered;
    const statusBox = $("lv-q-status");
    statusBox.classList.toggle("is-confirmed", confirmed);
    if (answered) {
      statusBox.hidden = false;
      $("lv-q-status-title").textContent = gettext("Answer received");
      $("lv-q-status-text").textContent = note || gettext("Waiting for the others…");
    } else if (game.timeUp) {
      statusBox.hidden = false;
      $("lv-q-status-title").textContent = gettext("Time is up");
      $("lv-q-status-text").textContent = note || gettext("Waiting for the answer…");
    } else if (note) {
      statusBox.hidden = false;
      $("lv-q-status-title").textContent = "";
      $("lv-q-status-text").textContent = note;
    } else {
      statusBox.hidden = true;
    }
  }

  function startTimer() {
    stopTimer();
    tick();
    timer = setInterval(tick, 200);
  }
  function stopTimer() {
    clearInterval(timer);
    timer = null;
  }
  function tick() {
    const question = game.question;
    if (!question) return;
    const left = game.paused ? game.pausedLeft : Math.max(0, game.deadline - performance.now());
    const seconds = Math.ceil(left / 1000);
    $("lv-q-timer").textContent = String(seconds);
    const clock = $("lv-q-clock");
    clock.classList.toggle("urgent", seconds <= 5);
    const bar = $("lv-q-timebar");
    bar.style.width = `${Math.max(0, Math.min(100, (left / (question.time_limit_ms || 1)) * 100))}%`;
    if (left <= 0 && !game.paused && !game.timeUp) {
      game.timeUp = true;
      stopTimer();
      renderAnswerState();
      if (game.answered !== question.index) announce(gettext("Time is up"));
    }
  }

  // --- pause ---------------------------------------------------------------------------------------------
  function pause(message) {
    setPaused(true, message.remaining_ms);
  }
  function setPaused(paused, remaining) {
    const was = game.paused;
    game.paused = paused;
    if (paused) {
      game.pausedLeft = typeof remaining === "number" ? remaining : Math.max(0, game.deadline - performance.now());
      if (game.screen === "question") tick();
    }
    $("lv-paused").hidden = !paused;
    root.dataset.paused = paused ? "1" : "";
    if (game.screen === "question") renderAnswerState();
    if (paused && !was) announce(gettext("The host paused the contest."));
  }
  function resume(message) {
    setPaused(false);
    snapshot(message, false);
    announce(gettext("The contest goes on."));
  }
  function skipped() {
    stopTimer();
    toast(gettext("The host skipped this question: it does not count."));
  }

  // --- reveal --------------------------------------------------------------------------------------------
  function reveal(message) {
    stopTimer();
    game.reveal = message;
    const index = message.index;
    const mine = game.choice && game.choice.question === index ? game.choice.choices : null;
    const answered = mine !== null || game.answered === index;
    const verdict = $("lv-r-verdict");
    let kind = "none";
    if (mine) kind = sameSet(mine, message.correct) ? "right" : "wrong";
    else if (answered) kind = "wait";
    renderVerdict(kind);
    $("lv-r-points").textContent = "";
    $("lv-r-streak").textContent = "";
    $("lv-r-rank").textContent = "";
    const list = $("lv-r-correct");
    list.textContent = "";
    const options = game.question && game.question.index === index ? game.question.options : [];
    message.correct.forEach((option) => {
      const item = el("li", "lv-correct-item");
      item.appendChild(optionMark(option, "lv-mark-small"));
      item.appendChild(el("span", "visually-hidden", `${Live.markLabel(option)}: `));
      item.appendChild(el("span", "", options[option] || ""));
      list.appendChild(item);
    });
    $("lv-r-correct-title").textContent = ngettext("The right answer", "The right answers", message.correct.length);
    const explanation = $("lv-r-explanation");
    explanation.hidden = !message.explanation;
    $("lv-r-explanation-text").textContent = message.explanation || "";
    verdict.dataset.question = String(index);
    show("reveal");
    if (kind === "right") announce(gettext("Right!"));
    else if (kind === "wrong") announce(gettext("Not right this time."));
    else if (kind === "none") announce(gettext("No answer this time."));
    socket.send({ type: "me" });
  }

  function renderVerdict(kind) {
    const verdict = $("lv-r-verdict");
    verdict.className = `lv-verdict lv-verdict-${kind}`;
    root.dataset.verdict = kind;
    const texts = {
      right: gettext("Right!"),
      wrong: gettext("Not right this time."),
      none: gettext("No answer this time."),
      wait: gettext("Answer received"),
    };
    $("lv-r-verdict-text").textContent = texts[kind];
    $("lv-r-verdict-icon").textContent = { right: "✓", wrong: "✗", none: "–", wait: "…" }[kind];
  }

  // --- me: points, streak, rank ---------------------------------------------------------------------------
  function renderScore(score) {
    $("lv-score").textContent = interpolate(gettext("%(score)s pts"), { score: formatPoints(score) }, true);
  }
  function renderMe(message) {
    game.lastMe = message;
    game.players = message.players || game.players;
    renderScore(message.score);
    const rank = rankText(message.rank, message.players);
    if (game.screen === "reveal" && game.reveal) {
      const index = game.reveal.index;
      const last = message.last && message.last.question === index ? message.last : null;
      if (root.dataset.verdict === "wait" && last) renderVerdict(last.correct ? "right" : "wrong");
      if (root.dataset.verdict === "right" && last && !last.correct) renderVerdict("wrong");
      if (root.dataset.verdict === "wrong" && last && last.correct) renderVerdict("right");
      const points = last ? last.points + last.streak_bonus : 0;
      $("lv-r-points").textContent = `+${formatPoints(points)}`;
      let streak = "";
      if (last && last.correct && last.streak >= 2) {
        streak = interpolate(gettext("Answer streak: %(streak)s in a row"), { streak: last.streak }, true);
        if (last.streak_bonus) {
          streak += " · " + interpolate(gettext("streak bonus +%(bonus)s"), { bonus: formatPoints(last.streak_bonus) }, true);
        }
      } else if (!last || !last.correct) {
        streak = gettext("Keep going: every question is a new chance!");
      }
      $("lv-r-streak").textContent = streak;
      $("lv-r-rank").textContent = rank;
    }
    $("lv-lb-you").textContent = rank;
    if (game.screen === "finished") {
      $("lv-f-you").textContent = message.rank
        ? interpolate(gettext("You finished #%(rank)s of %(players)s with %(score)s points."), {
          rank: message.rank, players: message.players, score: formatPoints(message.score),
        }, true)
        : "";
    }
    root.dataset.rank = message.rank ? String(message.rank) : "";
  }

  // --- leaderboard and podium ----------------------------------------------------------------------------
  function renderBoard(list, rows) {
    list.textContent = "";
    rows.forEach((row) => {
      const item = el("li", "");
      if (game.me && row.name === game.me.nickname) {
        item.classList.add("me");
        item.setAttribute("aria-current", "true");
      }
      item.appendChild(el("span", "rank", `#${row.rank}`));
      item.appendChild(el("span", "name", row.name));
      item.appendChild(el("span", "lv-board-score", formatPoints(row.score)));
      list.appendChild(item);
    });
  }
  function leaderboard(message) {
    stopTimer();
    renderBoard($("lv-lb-list"), message.top || []);
    const teams = message.teams || [];
    $("lv-lb-teams-box").hidden = teams.length === 0;
    renderBoard($("lv-lb-teams"), teams);
    show("leaderboard");
    socket.send({ type: "me" });
  }
  function finished(message) {
    stopTimer();
    setPaused(false);
    const podium = Live.podium(message);
    const box = $("lv-f-podium");
    box.textContent = "";
    podium.top.slice(0, 3).forEach((row) => {
      const step = el("li", `lv-step lv-step-${Math.min(row.rank, 3)}`);
      if (game.me && row.name === game.me.nickname) step.classList.add("me");
      step.appendChild(el("span", "lv-step-name", row.name));
      step.appendChild(el("span", "lv-step-score", formatPoints(row.score)));
      step.appendChild(el("span", "lv-step-block", String(row.rank)));
      box.appendChild(step);
    });
    $("lv-f-teams-box").hidden = podium.teams.length === 0;
    renderBoard($("lv-f-teams"), podium.teams);
    store.remove(choiceKey);
    show("finished");
    announce(gettext("The contest is over."));
    socket.send({ type: "me" });
  }

  // --- the end of the line -------------------------------------------------------------------------------
  function kicked() {
    stopTimer();
    store.remove(tokenKey);
    store.remove(choiceKey);
    $("lv-paused").hidden = true;
    $("lv-conn").hidden = true;
    show("kicked");
    announce(gettext("The host removed you from this contest."));
  }
  function gone() {
    stopTimer();
    $("lv-conn").hidden = true;
    show("gone");
  }

  function error(message) {
    const text = message.message || gettext("Something went wrong.");
    switch (message.code) {
      case "bad_token":
        return leave();
      case "kicked":
        socket.stop();
        return kicked();
      case "already_answered":
        if (game.pending) answerReceived({ question: game.pending.question });
        return undefined;
      case "too_late":
        game.pending = null;
        if (game.question && game.answered === game.question.index && game.confirmed !== game.question.index) {
          game.answered = -1;
          game.timeUp = true;
          renderAnswerState(text);
          return undefined;
        }
        return toast(text);
      case "not_in_question":
      case "invalid_choice":
        if (game.pending) {
          game.pending = null;
          if (game.question && game.confirmed !== game.question.index) game.answered = -1;
          if (game.screen === "question") renderAnswerState(text);
          return undefined;
        }
        return toast(text);
      default:
        return toast(text);
    }
  }

  $("lv-q-submit").addEventListener("click", submitMultiple);
  show("connecting");
})();
