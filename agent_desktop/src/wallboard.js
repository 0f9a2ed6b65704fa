// The wallboard (/wallboard) and the supervisor console (/supervisor, the same board plus
// actions): live queue figures and agent states, pushed as `wallboard.snapshot` on the
// Socket.IO namespace /wallboard; the console's actions go to /supervisor (docs/realtime.md).
// Each figure is coloured green / amber / red by the server's thresholds (`colours`).

import { io } from "socket.io-client";
import {
  bindLoginForm,
  clearSession,
  el,
  formatDuration,
  formatPercent,
  loadSession,
  nowS,
  stateLabel,
} from "./common.js";

const TICK_MS = 250;
const ACK_TIMEOUT_MS = 10_000;
const AGENT_STATES = ["ready", "not_ready", "ringing", "on_call", "on_hold", "wrap_up"];
const CONSOLE = document.body.dataset.console === "supervisor";

/** The colour band of `value` for a threshold {amber, red} (same rule as the server). */
function band(threshold, value) {
  if (!threshold || value === null || value === undefined) return "";
  const { amber, red } = threshold;
  if (red > amber) return value >= red ? "red" : value >= amber ? "amber" : "green";
  return value <= red ? "red" : value <= amber ? "amber" : "green";
}

function formatSeconds(value) {
  return value === null || value === undefined ? "—" : formatDuration(value);
}

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
};

const ui = {
  loginView: $("login-view"),
  loginForm: $("login-form"),
  forbidden: $("forbidden"),
  switchUser: $("btn-switch-user"),
  board: $("board"),
  loading: $("board-loading"),
  queues: $("queues"),
  agentsTable: $("agents-table"),
  agentsEmpty: $("agents-empty"),
  reconnect: $("reconnect-banner"),
  logout: $("btn-logout"),
  clock: $("clock"),
  updated: $("updated"),
  actionResult: CONSOLE ? $("action-result") : null,
};

const model = {
  socket: null,
  actions: null, // the /supervisor socket (console only)
  snapshot: null,
  offset: 0, // server clock minus ours, from the snapshot's `at`
  tiles: new Map(), // queue id -> {root, fields}
};

const loginForm = bindLoginForm(ui.loginForm, (session) => start(session));

function show(view) {
  ui.loginView.hidden = view !== "login";
  ui.forbidden.hidden = view !== "forbidden";
  ui.board.hidden = view !== "board";
  ui.logout.hidden = view !== "board";
}

function showLogin(message = "") {
  stop();
  show("login");
  loginForm.showError(message);
  loginForm.focus();
}

function start(session) {
  stop();
  show("board");
  const socket = io("/wallboard", { auth: { token: session.token } });
  model.socket = socket;
  socket.on("connect", () => {
    ui.reconnect.hidden = true;
  });
  socket.on("disconnect", (reason) => {
    if (model.socket !== socket) return;
    ui.reconnect.hidden = false;
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", (err) => {
    if (model.socket !== socket) return;
    if (socket.active) {
      ui.reconnect.hidden = false;
      return;
    }
    clearSession();
    if (err.message === "forbidden") {
      stop();
      show("forbidden");
    } else if (err.message === "unauthorized") {
      showLogin("Your session has ended. Please sign in again.");
    } else {
      showLogin(`The server refused the connection: ${err.message}`);
    }
  });
  socket.on("wallboard.snapshot", onSnapshot);
  if (CONSOLE) {
    const actions = io("/supervisor", { auth: { token: session.token } });
    model.actions = actions;
    actions.on("connect_error", (err) => showResult(`Actions unavailable: ${err.message}`, false));
  }
}

function stop() {
  if (model.actions) {
    model.actions.removeAllListeners();
    model.actions.disconnect();
    model.actions = null;
  }
  if (model.socket) {
    const socket = model.socket;
    model.socket = null;
    socket.removeAllListeners();
    socket.disconnect();
  }
  model.snapshot = null;
  model.tiles.clear();
  ui.queues.replaceChildren();
  ui.agentsTable.tBodies[0].replaceChildren();
  ui.loading.hidden = false;
  ui.reconnect.hidden = true;
}

ui.logout.addEventListener("click", () => {
  clearSession();
  showLogin();
});

ui.switchUser.addEventListener("click", () => showLogin());

// --- snapshot -------------------------------------------------------------------------------

function onSnapshot(snapshot) {
  if (!snapshot || !Array.isArray(snapshot.queues)) return;
  model.snapshot = snapshot;
  if (Number.isFinite(snapshot.at)) model.offset = snapshot.at - nowS();
  ui.loading.hidden = true;
  renderQueues(snapshot.queues);
  renderAgents(Array.isArray(snapshot.agents) ? snapshot.agents : []);
  tick();
}

function serverNow() {
  return nowS() + model.offset;
}

function renderQueues(queues) {
  const seen = new Set();
  const ordered = [];
  for (const q of queues) {
    seen.add(q.id);
    let tile = model.tiles.get(q.id);
    if (!tile) {
      tile = buildTile(q.id);
      model.tiles.set(q.id, tile);
    }
    fillTile(tile, q);
    ordered.push(tile.root);
  }
  for (const id of [...model.tiles.keys()]) if (!seen.has(id)) model.tiles.delete(id);
  ui.queues.replaceChildren(...ordered);
  ui.queues.dataset.count = String(ordered.length);
}

function field(testid, className = "") {
  return el("span", { className, dataset: { testid } });
}

function buildTile(id) {
  const f = {
    name: field("queue-name", "tile-name"),
    waiting: field("queue-waiting", "big-value"),
    longestWait: field("queue-longest-wait", "big-value mono"),
    offered: field("queue-offered", "stat-value"),
    answered: field("queue-answered", "stat-value"),
    abandoned: field("queue-abandoned", "stat-value"),
    serviceLevel: field("queue-service-level", "stat-value"),
    abandonRate: field("queue-abandon-rate", "stat-value"),
    asa: field("queue-asa", "stat-value mono"),
    aht: field("queue-aht", "stat-value mono"),
    calls: el("ul", { className: "tile-calls", dataset: { testid: "queue-calls" } }),
    agents: Object.fromEntries(AGENT_STATES.map((s) => [s, field(`queue-agents-${s}`, "chip-value")])),
  };
  const big = (value, label) => el("div", { className: "big" }, value, el("span", { className: "big-label" }, label));
  const stat = (value, label) => el("div", { className: "stat" }, value, el("span", { className: "stat-label" }, label));
  const root = el(
    "article",
    { className: "tile", dataset: { testid: `queue-${id}`, queueId: id } },
    el("header", { className: "tile-head" }, f.name),
    el("div", { className: "tile-main" }, big(f.waiting, "waiting"), big(f.longestWait, "longest wait")),
    el(
      "div",
      { className: "tile-stats" },
      stat(f.offered, "offered"),
      stat(f.answered, "answered"),
      stat(f.abandoned, "abandoned"),
      stat(f.serviceLevel, "service level"),
      stat(f.abandonRate, "abandon rate"),
      stat(f.asa, "ASA"),
      stat(f.aht, "AHT"),
    ),
    el(
      "div",
      { className: "tile-agents" },
      ...AGENT_STATES.map((s) =>
        el("span", { className: "chip", dataset: { state: s } }, f.agents[s], el("span", { className: "chip-label" }, stateLabel(s))),
      ),
    ),
    CONSOLE ? f.calls : null,
  );
  return { root, fields: f, queue: null };
}

function fillTile(tile, q) {
  const f = tile.fields;
  tile.queue = q;
  f.name.textContent = q.name || q.id;
  f.waiting.textContent = String(q.waiting ?? 0);
  f.offered.textContent = String(q.offered ?? 0);
  f.answered.textContent = String(q.answered ?? 0);
  f.abandoned.textContent = String(q.abandoned ?? 0);
  f.serviceLevel.textContent = formatPercent(q.service_level);
  f.abandonRate.textContent = formatPercent(q.abandon_rate);
  f.asa.textContent = formatSeconds(q.asa_s);
  f.aht.textContent = formatSeconds(q.aht_s);
  const colours = q.colours ?? {};
  const painted = [
    [f.waiting, "waiting"],
    [f.serviceLevel, "service_level"],
    [f.abandonRate, "abandon_rate"],
    [f.asa, "asa_s"],
    [f.aht, "aht_s"],
  ];
  for (const [node, name] of painted) node.dataset.colour = colours[name] ?? "";
  for (const s of AGENT_STATES) f.agents[s].textContent = String(q.agents?.[s] ?? 0);
  if (CONSOLE) fillCalls(f.calls, q);
}

function fillCalls(list, q) {
  const queues = (model.snapshot?.queues ?? []).filter((other) => other.id !== q.id);
  const rows = (q.calls ?? []).map((c) => {
    const target = el(
      "select",
      { dataset: { testid: "move-target" }, "aria-label": "Move to" },
      ...queues.map((other) => el("option", { value: `queue:${other.id}` }, `Queue ${other.name || other.id}`)),
      ...(model.snapshot?.agents ?? [])
        .filter((a) => a.state === "ready")
        .map((a) => el("option", { value: `agent:${a.agent_id}` }, `Agent ${a.display_name || a.agent_id}`)),
    );
    const move = el("button", { type: "button", className: "btn-quiet", dataset: { testid: "btn-move" } }, "Move");
    move.addEventListener("click", () => {
      const [kind, id] = String(target.value || "").split(":");
      if (!id) return showResult("Choose where to move the call.", false);
      const payload = { call_id: c.call_id, [kind === "queue" ? "to_queue" : "to_agent"]: id };
      act("call.move", payload, `Moved the call to ${id}.`);
    });
    return el(
      "li",
      { dataset: { testid: "waiting-call", callId: c.call_id } },
      el("span", { className: "mono" }, c.caller_number || c.customer_name || c.call_id),
      target,
      move,
    );
  });
  list.replaceChildren(...rows);
}

function renderAgents(agents) {
  const rows = agents.map((a) => {
    const call = a.customer_name || a.caller_number || (a.call_id ? "(call)" : "");
    return el(
      "tr",
      { dataset: { testid: "agent-row", agentId: a.agent_id, since: String(a.since ?? "") } },
      el("td", { dataset: { testid: "agent-name" } }, a.display_name || a.agent_id),
      el(
        "td",
        {},
        el("span", { className: "state", dataset: { testid: "agent-state", state: a.state } }, stateLabel(a.state)),
      ),
      el("td", { className: "reason", dataset: { testid: "agent-reason" } }, a.reason || ""),
      el("td", { className: "num mono", dataset: { testid: "agent-time" } }, ""),
      el("td", { dataset: { testid: "agent-call" } }, call),
      el("td", { className: "num", dataset: { testid: "agent-calls-today" } }, String(a.calls_today ?? 0)),
      CONSOLE ? el("td", { className: "actions" }, ...agentActions(a)) : null,
    );
  });
  ui.agentsTable.tBodies[0].replaceChildren(...rows);
  ui.agentsTable.hidden = rows.length === 0;
  ui.agentsEmpty.hidden = rows.length > 0;
}

function agentActions(a) {
  const reasons = model.snapshot?.not_ready_reasons ?? [];
  const reason = el(
    "select",
    { dataset: { testid: "force-reason" }, "aria-label": "Not ready reason" },
    ...reasons.map((r) => el("option", { value: r }, r)),
  );
  const button = (label, testid, onClick) => {
    const b = el("button", { type: "button", className: "btn-quiet", dataset: { testid } }, label);
    b.addEventListener("click", onClick);
    return b;
  };
  const name = a.display_name || a.agent_id;
  return [
    reason,
    button("Force not ready", "btn-force-not-ready", () =>
      act("agent.force_state", { agent_id: a.agent_id, state: "not_ready", reason: reason.value }, `${name} is now Not ready.`),
    ),
    button("Log out", "btn-force-logout", () =>
      act("agent.force_state", { agent_id: a.agent_id, state: "logged_out" }, `${name} was logged out.`),
    ),
    ...["listen", "whisper", "barge"].map((mode) =>
      button(mode[0].toUpperCase() + mode.slice(1), `btn-${mode}`, () =>
        act("call.spy", { agent_id: a.agent_id, mode }, `${mode} on ${name}: connecting your phone.`),
      ),
    ),
  ];
}

async function act(event, payload, success) {
  const socket = model.actions;
  if (!socket || !socket.connected) return showResult("Not connected to the server.", false);
  try {
    const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    if (ack && ack.ok) showResult(success, true);
    else showResult(ack?.error ?? `The server refused ${event}.`, false);
  } catch {
    showResult(`The server did not answer (${event}).`, false);
  }
}

function showResult(message, ok) {
  if (!ui.actionResult) return;
  ui.actionResult.textContent = message;
  ui.actionResult.dataset.ok = String(ok);
  ui.actionResult.hidden = false;
}

// --- ticking --------------------------------------------------------------------------------

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function tick() {
  ui.clock.textContent = clockFormat.format(new Date());
  const snapshot = model.snapshot;
  if (!snapshot) {
    ui.updated.textContent = "";
    return;
  }
  const now = serverNow();
  const age = now - snapshot.at;
  ui.updated.textContent = age > 5 ? `updated ${formatDuration(age)} ago` : "live";
  for (const tile of model.tiles.values()) {
    const q = tile.queue;
    const oldest = q?.oldest_queued_at;
    const wait = oldest !== null && oldest !== undefined ? Math.max(0, now - oldest) : 0;
    const longest = tile.fields.longestWait;
    longest.textContent = formatDuration(wait);
    longest.dataset.colour = band(snapshot.thresholds?.longest_wait_s, wait);
    const colours = Object.values(q?.colours ?? {}).concat(longest.dataset.colour);
    tile.root.dataset.level = colours.includes("red") ? "red" : colours.includes("amber") ? "amber" : "green";
  }
  for (const row of ui.agentsTable.tBodies[0].rows) {
    const since = Number.parseFloat(row.dataset.since);
    row.cells[3].textContent = Number.isFinite(since) ? formatDuration(now - since) : "";
  }
}

setInterval(tick, TICK_MS);

// --- boot -----------------------------------------------------------------------------------

const saved = loadSession();
if (saved) start(saved);
else showLogin();
tick();
