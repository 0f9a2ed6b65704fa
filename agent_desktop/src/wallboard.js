// The wallboard (/wallboard): live queue figures and agent states for supervisors, pushed as
// `wallboard.snapshot` on the Socket.IO namespace /wallboard (docs/realtime.md).

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
const AGENT_STATES = ["ready", "not_ready", "ringing", "on_call", "wrap_up"];
// Colour thresholds of the board (display only).
const WAIT_WARN_S = 20;
const WAIT_ALERT_S = 60;
const SL_TARGET = 0.8;

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
};

const model = {
  socket: null,
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
}

function stop() {
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
    ),
    el(
      "div",
      { className: "tile-agents" },
      ...AGENT_STATES.map((s) =>
        el("span", { className: "chip", dataset: { state: s } }, f.agents[s], el("span", { className: "chip-label" }, stateLabel(s))),
      ),
    ),
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
  const slLow = q.service_level !== null && q.service_level !== undefined && q.service_level < SL_TARGET;
  f.serviceLevel.classList.toggle("bad", slLow);
  f.waiting.parentElement?.classList.toggle("active", (q.waiting ?? 0) > 0);
  for (const s of AGENT_STATES) f.agents[s].textContent = String(q.agents?.[s] ?? 0);
}

function renderAgents(agents) {
  const rows = agents.map((a) =>
    el(
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
    ),
  );
  ui.agentsTable.tBodies[0].replaceChildren(...rows);
  ui.agentsTable.hidden = rows.length === 0;
  ui.agentsEmpty.hidden = rows.length > 0;
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
    const level = wait >= WAIT_ALERT_S ? "alert" : wait >= WAIT_WARN_S ? "warn" : "";
    longest.parentElement.dataset.level = level;
    tile.root.dataset.level = level;
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
