// One reconnecting WebSocket for the live contest screens (docs/live-protocol.md).
//
//   const socket = new QkLiveSocket("/ws/live/12/play/", {
//     onOpen() {...}, onMessage(message) {...}, onState(state) {...}, onClosed(code) {...},
//   });
//   socket.send({type: "answer", question: 0, choices: [1]});  // false when not connected
//   socket.stop();
//
// States: "connecting", "open", "reconnecting", "offline" (the browser says it has no network) and
// "stopped" (for good: stop() was called, or the server closed with 4001 bad token / 4003 kicked or not
// allowed / 4004 no such contest, which no retry can fix). Reconnects back off exponentially with jitter
// from 0.5 s to 10 s, start again from 0.5 s after a successful open, and are tried at once when the page
// becomes visible again or the network comes back. A ping every 25 s keeps proxies from closing an idle
// connection; a connection that has heard nothing for 60 s is taken as dead and replaced.
(function () {
  "use strict";

  const FIRST_DELAY_MS = 500;
  const MAX_DELAY_MS = 10000;
  const HEARTBEAT_MS = 25000;
  const SILENCE_MS = 60000;
  const FINAL_CLOSE_CODES = new Set([4001, 4003, 4004]);

  class QkLiveSocket {
    constructor(path, handlers) {
      this.path = path;
      this.handlers = handlers || {};
      this.ws = null;
      this.state = "connecting";
      this.failures = 0;
      this.retryTimer = null;
      this.heartbeat = null;
      this.lastHeard = Date.now();
      this.stopped = false;
      this.onVisible = () => {
        if (document.visibilityState !== "visible" || this.stopped || this.isConnecting()) return;
        if (this.isOpen()) {
          this.send({ type: "ping" });  // a phone that slept may hold a dead connection: find out now
        } else {
          this.connectNow();
        }
      };
      this.onOnline = () => { if (!this.stopped && !this.isOpen() && !this.isConnecting()) this.connectNow(); };
      this.onOffline = () => { if (!this.stopped && !this.isOpen()) this.setState("offline"); };
      document.addEventListener("visibilitychange", this.onVisible);
      window.addEventListener("online", this.onOnline);
      window.addEventListener("offline", this.onOffline);
      window.addEventListener("pagehide", () => this.closeSocket());
      // Back from the browser's back-forward cache: the page is as it was, but its socket was closed.
      window.addEventListener("pageshow", (event) => { if (event.persisted && !this.stopped) this.connectNow(); });
      this.connect();
    }

    url() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      return `${scheme}//${window.location.host}${this.path}`;
    }

    isConnecting() {
      return this.ws !== null && this.ws.readyState === WebSocket.CONNECTING;
    }

    isOpen() {
      return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    }

    setState(state) {
      if (this.state === state) return;
      this.state = state;
      if (this.handlers.onState) this.handlers.onState(state);
    }

    connect() {
      if (this.stopped) return;
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.closeSocket();
      let ws;
      try {
        ws = new WebSocket(this.url());
      } catch (error) {
        this.scheduleRetry();
        return;
      }
      this.ws = ws;
      ws.addEventListener("open", () => {
        if (ws !== this.ws) return;
        this.failures = 0;
        this.lastHeard = Date.now();
        this.setState("open");
        this.startHeartbeat();
        if (this.handlers.onOpen) this.handlers.onOpen();
      });
      ws.addEventListener("message", (event) => {
        if (ws !== this.ws) return;
        this.lastHeard = Date.now();
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (!message || typeof message !== "object" || message.type === "pong") return;
        if (this.handlers.onMessage) this.handlers.onMessage(message);
      });
      ws.addEventListener("close", (event) => {
        if (ws !== this.ws) return;
        this.ws = null;
        this.stopHeartbeat();
        if (FINAL_CLOSE_CODES.has(event.code)) {
          this.stop();
          if (this.handlers.onClosed) this.handlers.onClosed(event.code);
          return;
        }
        this.scheduleRetry();
      });
      // An "error" is always followed by "close", which schedules the retry.
    }

    connectNow() {
      this.failures = 0;
      this.connect();
    }

    scheduleRetry() {
      if (this.stopped) return;
      this.setState(navigator.onLine === false ? "offline" : "reconnecting");
      const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.failures);
      this.failures += 1;
      // "Equal jitter": half the delay fixed, half random, so a hall full of phones does not come back at once.
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    }

    startHeartbeat() {
      this.stopHeartbeat();
      this.heartbeat = setInterval(() => {
        if (Date.now() - this.lastHeard > SILENCE_MS) {
          this.closeSocket();
          this.scheduleRetry();
          return;
        }
        this.send({ type: "ping" });
      }, HEARTBEAT_MS);
    }

    stopHeartbeat() {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }

    closeSocket() {
      const ws = this.ws;
      this.ws = null;
      this.stopHeartbeat();
      if (ws && ws.readyState <= WebSocket.OPEN) {
        try {
          ws.close(1000);
        } catch (error) {
          // already closing
        }
      }
    }

    send(message) {
      if (!this.isOpen()) return false;
      this.ws.send(JSON.stringify(message));
      return true;
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.retryTimer);
      this.closeSocket();
      document.removeEventListener("visibilitychange", this.onVisible);
      window.removeEventListener("online", this.onOnline);
      window.removeEventListener("offline", this.onOffline);
      this.setState("stopped");
    }
  }

  // The connection state as a short text for the pages' status line.
  QkLiveSocket.stateLabel = function (state) {
    const gettext = window.gettext || ((text) => text);
    switch (state) {
      case "open": return gettext("Connected");
      case "reconnecting": return gettext("Connection lost. Reconnecting…");
      case "offline": return gettext("No network. Waiting for it to come back…");
      case "stopped": return gettext("Disconnected");
      default: return gettext("Connecting…");
    }
  };

  // Shared by both screens: option colours, shapes and letters, so that an option looks the same on the
  // projector and on the phones, and can be told apart without colour.
  QkLiveSocket.SHAPES = ["triangle", "diamond", "circle", "square", "star", "hexagon", "pentagon", "heart"];
  const PATHS = {
    triangle: "M12 3 L22 20 L2 20 Z",
    diamond: "M12 2 L22 12 L12 22 L2 12 Z",
    circle: "M12 2 A10 10 0 1 0 12.01 2 Z",
    square: "M3 3 H21 V21 H3 Z",
    star: "M12 2 L14.9 8.6 L22 9.3 L16.6 14 L18.2 21 L12 17.3 L5.8 21 L7.4 14 L2 9.3 L9.1 8.6 Z",
    hexagon: "M7 3 H17 L22 12 L17 21 H7 L2 12 Z",
    pentagon: "M12 2 L22 9.5 L18.2 21 H5.8 L2 9.5 Z",
    heart: "M12 21 L3.5 12.5 A5 5 0 0 1 12 6 A5 5 0 0 1 20.5 12.5 Z",
  };
  QkLiveSocket.letter = (index) => "ABCDEFGH".charAt(index) || String(index + 1);
  QkLiveSocket.shapeIcon = function (index) {
    const svgNS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "lv-shape");
    const path = document.createElementNS(svgNS, "path");
    path.setAttribute("d", PATHS[QkLiveSocket.SHAPES[index % QkLiveSocket.SHAPES.length]]);
    svg.appendChild(path);
    return svg;
  };
  // A spoken name for the option's mark, e.g. "A, red triangle".
  QkLiveSocket.markLabel = function (index) {
    const gettext = window.gettext || ((text) => text);
    const names = [
      gettext("red triangle"), gettext("blue diamond"), gettext("yellow circle"), gettext("green square"),
      gettext("purple star"), gettext("teal hexagon"), gettext("orange pentagon"), gettext("pink heart"),
    ];
    return `${QkLiveSocket.letter(index)}, ${names[index % names.length]}`;
  };
  // The question's kind: the server sends it as `question_type` (`type` is the message's own type).
  QkLiveSocket.questionKind = function (question) {
    const kinds = ["single", "multiple", "true_false"];
    if (kinds.includes(question.question_type)) return question.question_type;
    if (kinds.includes(question.type)) return question.type;
    return "single";
  };
  // The podium comes as a list in `finished` and as {top, teams} in a snapshot (`welcome`, `host_state`).
  QkLiveSocket.podium = function (message) {
    const podium = message.podium;
    if (Array.isArray(podium)) return { top: podium, teams: message.teams || [] };
    if (podium && typeof podium === "object") return { top: podium.top || [], teams: podium.teams || [] };
    return { top: [], teams: message.teams || [] };
  };

  // Small DOM helpers both screens use.
  QkLiveSocket.el = function (tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };
  QkLiveSocket.announce = function (region, text) {
    region.textContent = "";
    // A fresh text node in a later task makes screen readers read it even when it repeats.
    setTimeout(() => { region.textContent = text; }, 50);
  };
  const toastTimers = new WeakMap();
  QkLiveSocket.toast = function (box, text, ms) {
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimers.get(box));
    toastTimers.set(box, setTimeout(() => { box.hidden = true; }, ms));
  };

  window.QkLiveSocket = QkLiveSocket;
})();
