// The agent desktop (/desktop): log in, go Ready / Not ready, get a screen pop, answer, hang up
// and file a disposition; find, create, edit and link customers; schedule a callback; keyboard
// shortcuts (docs/desktop.md). Socket.IO namespace /agent; the contract is docs/realtime.md.
// Call controls (hold, transfer, ...) live in callcontrols.js inside #call-controls.

import { io } from "socket.io-client";
import { attachCallControls } from "./callcontrols.js";
import {
  bindLoginForm,
  clearSession,
  el,
  formatDateTime,
  formatDuration,
  loadSession,
  nowS,
  stateLabel,
  titleCase,
} from "./common.js";

const ACK_TIMEOUT_MS = 10_000;
const TICK_MS = 250;

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
};

const ui = {
  loginView: $("login-view"),
  loginForm: $("login-form"),
  desktopView: $("desktop-view"),
  session: $("session"),
  sessionUser: $("session-user"),
  logout: $("btn-logout"),
  reconnect: $("reconnect-banner"),
  errorBanner: $("error-banner"),
  errorText: $("error-text"),
  errorClose: $("error-close"),
  stateLabel: $("state-label"),
  stateReason: $("state-reason"),
  stateForced: $("state-forced"),
  help: $("btn-help"),
  helpDialog: $("help-dialog"),
  popIvr: $("pop-ivr"),
  popDigits: $("pop-digits"),
  editCustomer: $("btn-edit-customer"),
  findCustomer: $("btn-find-customer"),
  fullHistory: $("btn-full-history"),
  searchForm: $("search-form"),
  searchQ: $("search-q"),
  searchResults: $("search-results"),
  searchEmpty: $("search-empty"),
  createForm: $("create-form"),
  newName: $("new-name"),
  newPhone: $("new-phone"),
  newAccount: $("new-account"),
  newTier: $("new-tier"),
  newNotes: $("new-notes"),
  editForm: $("edit-form"),
  editName: $("edit-name"),
  editAccount: $("edit-account"),
  editTier: $("edit-tier"),
  editNotes: $("edit-notes"),
  auditList: $("audit-list"),
  readyNow: $("btn-ready-now"),
  dispositionRequired: $("disposition-required"),
  callbackForm: $("callback-form"),
  callbackNumber: $("callback-number"),
  callbackAt: $("callback-at"),
  callbackNote: $("callback-note"),
  callbackResult: $("callback-result"),
  stateTimer: $("state-timer"),
  callsToday: $("calls-today"),
  ready: $("btn-ready"),
  notReady: $("btn-not-ready"),
  reason: $("not-ready-reason"),
  notice: $("notice"),
  idle: $("idle"),
  idleTitle: $("idle-title"),
  idleHint: $("idle-hint"),
  pop: $("screen-pop"),
  popKicker: $("pop-kicker"),
  popName: $("pop-customer-name"),
  popTier: $("pop-tier"),
  popCaller: $("pop-caller"),
  popOffer: $("pop-offer"),
  answer: $("btn-answer"),
  popCountdown: $("pop-countdown"),
  popQueue: $("pop-queue"),
  popWait: $("pop-wait"),
  popAccount: $("pop-account"),
  popNotes: $("pop-notes"),
  popHistory: $("pop-history"),
  popHistoryEmpty: $("pop-history-empty"),
  callPanel: $("call-panel"),
  talkTimer: $("talk-timer"),
  callWith: $("call-with"),
  hangup: $("btn-hangup"),
  wrapupPanel: $("wrapup-panel"),
  wrapupTimer: $("wrapup-timer"),
  wrapupCall: $("wrapup-call"),
  wrapupForm: $("wrapup-form"),
  disposition: $("disposition-select"),
  note: $("disposition-note"),
  save: $("btn-save-disposition"),
  saved: $("saved-message"),
};

/** Everything the page shows is derived from this. */
const model = {
  socket: null,
  agent: null, // the last agent.state payload
  offer: null, // {call, customer, history, queue, offer_timeout_s, receivedAt, answered}
  activeCall: null, // the connected call: {id, answered_at, caller_number}
  wrapup: null, // {call, dispositions, wrapup_s, receivedAt, saved}
  pending: new Set(), // events awaiting their ack
  session: null, // {token, user}
  tool: null, // the open customer tool: "search" | "edit" | null
};

// --- login and connection -------------------------------------------------------------------

const loginForm = bindLoginForm(ui.loginForm, (session) => start(session));

function showLogin(message = "") {
  stop();
  ui.desktopView.hidden = true;
  ui.session.hidden = true;
  ui.loginView.hidden = false;
  loginForm.showError(message);
  loginForm.focus();
}

function start(session) {
  stop();
  ui.loginView.hidden = true;
  ui.desktopView.hidden = false;
  ui.session.hidden = false;
  ui.sessionUser.textContent = session.user?.display_name || session.user?.username || "";
  hideError();
  const socket = io("/agent", { auth: { token: session.token } });
  model.socket = socket;
  model.session = session;

  socket.on("connect", () => {
    ui.reconnect.hidden = true;
  });
  socket.on("disconnect", (reason) => {
    if (model.socket !== socket) return;
    ui.reconnect.hidden = false;
    // A disconnect by the server is not retried by socket.io itself; retry it here. A token
    // that is no longer valid then comes back as connect_error "unauthorized".
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", (err) => {
    if (model.socket !== socket) return;
    if (socket.active) {
      ui.reconnect.hidden = false; // socket.io keeps retrying
      return;
    }
    // Refused by the server: the token expired or was revoked.
    clearSession();
    showLogin(
      err.message === "unauthorized"
        ? "Your session has ended. Please sign in again."
        : `The server refused the connection: ${err.message}`,
    );
  });

  socket.on("agent.state", onAgentState);
  socket.on("call.offered", onOffered);
  socket.on("call.offer_withdrawn", onOfferWithdrawn);
  socket.on("call.answered", onAnswered);
  socket.on("call.ended", onEnded);
  socket.on("call.saved", onSaved);
  model.callControls = attachCallControls({ socket, request, getCall: () => model.activeCall, showError });
  socket.on("agent.config", onConfig);
  socket.on("agent.logged_out", ({ by }) => {
    clearSession();
    showLogin(`A supervisor${by ? ` (${by})` : ""} logged you out.`);
  });
  render();
}

function stop() {
  if (model.socket) {
    const socket = model.socket;
    model.socket = null;
    socket.removeAllListeners();
    socket.disconnect();
  }
  model.agent = null;
  model.offer = null;
  model.activeCall = null;
  model.wrapup = null;
  model.pending.clear();
  model.session = null;
  model.tool = null;
  ui.reconnect.hidden = true;
}

ui.logout.addEventListener("click", () => {
  clearSession();
  showLogin();
});

/**
 * Emit with an acknowledgement. Resolves to the ack on {ok: true}, or to null after showing
 * the error (an ack with ok:false, or no answer in time) in the error banner.
 */
async function request(event, payload) {
  const socket = model.socket;
  if (!socket) return null;
  if (!socket.connected) {
    showError("Not connected to the server; try again when the connection is back.");
    return null;
  }
  model.pending.add(event);
  render();
  try {
    const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    if (!ack || ack.ok !== true) {
      showError(ack && ack.error ? ack.error : `The server refused ${event}.`);
      return null;
    }
    hideError();
    return ack;
  } catch {
    showError(`The server did not answer (${event}). Please try again.`);
    return null;
  } finally {
    model.pending.delete(event);
    render();
  }
}

function showError(message) {
  ui.errorText.textContent = message;
  ui.errorBanner.hidden = false;
}

function hideError() {
  ui.errorBanner.hidden = true;
  ui.errorText.textContent = "";
}

ui.errorClose.addEventListener("click", hideError);

function showNotice(message) {
  ui.notice.textContent = message;
  ui.notice.hidden = !message;
}

// --- server -> client -----------------------------------------------------------------------

function onAgentState(state) {
  model.agent = { ...state, receivedAt: nowS() };
  // On hold is still in the call (the ACD's on_hold state): keep the call and its controls.
  const inCall = state.state === "on_call" || state.state === "on_hold";
  if (inCall && state.call_id) {
    // After a reload there was no call.answered: the state tells which call is connected.
    // A call this desktop just accepted is not connected yet: its call.answered says when.
    const connecting = model.offer && model.offer.call.id === state.call_id && !model.offer.answered;
    if (!connecting && (!model.activeCall || model.activeCall.id !== state.call_id)) {
      model.activeCall = { id: state.call_id, answered_at: state.since, caller_number: null };
    }
  } else if (!inCall && model.activeCall && !model.wrapup) {
    model.activeCall = null;
  }
  const idle = ["ready", "not_ready", "logged_out"].includes(state.state);
  if (idle && !model.activeCall && (!model.wrapup || model.wrapup.saved)) {
    // Done with the last call: clear its pop and wrap-up.
    if (model.offer && model.offer.answered) model.offer = null;
    if (model.wrapup) model.wrapup = null;
  }
  render();
}

function onConfig(config) {
  const reasons = Array.isArray(config?.not_ready_reasons) ? config.not_ready_reasons : [];
  const chosen = ui.reason.value;
  ui.reason.replaceChildren(...reasons.map((r) => el("option", { value: r }, r)));
  if (reasons.includes(chosen)) ui.reason.value = chosen;
}

function onOffered(payload) {
  model.offer = { ...payload, receivedAt: nowS(), answered: false };
  model.tool = payload.customer ? null : "search";
  ui.searchResults.replaceChildren();
  ui.searchEmpty.hidden = true;
  ui.searchQ.value = payload.call?.caller_number ?? "";
  if (model.wrapup && model.wrapup.saved) model.wrapup = null;
  showNotice("");
  render();
}

const WITHDRAWN = {
  rona: "The call was not answered in time and went back to the queue. You are now Not ready.",
  caller_left: "The caller hung up before the call was answered.",
};

function onOfferWithdrawn({ call_id: callId, reason }) {
  if (!model.offer || model.offer.call.id !== callId) return;
  model.offer = null;
  showNotice(WITHDRAWN[reason] ?? `The call was withdrawn (${reason}).`);
  render();
}

function onAnswered({ call, customer, history }) {
  // A call transferred to this agent arrives with its screen pop (no call.offered before it).
  if (customer !== undefined && (!model.offer || model.offer.call.id !== call.id)) {
    model.offer = { call, customer, history: history ?? [], queue: null, receivedAt: nowS(), answered: true };
  }
  model.activeCall = call;
  if (model.offer && model.offer.call.id === call.id) {
    model.offer.answered = true;
    model.offer.call = call;
  }
  model.wrapup = null;
  showNotice("");
  render();
}

function onEnded({ call, wrapup_s: wrapupS, dispositions, disposition_required: required }) {
  if (model.activeCall && model.activeCall.id === call.id) model.activeCall = null;
  if (model.offer && model.offer.call.id === call.id) model.offer.call = call;
  model.wrapup = {
    call,
    dispositions: Array.isArray(dispositions) ? dispositions : [],
    required: Boolean(required),
    wrapup_s: wrapupS ?? 0,
    receivedAt: nowS(),
    saved: false,
  };
  fillDispositions(model.wrapup.dispositions);
  ui.note.value = "";
  ui.callbackNumber.value = call.caller_number ?? "";
  ui.callbackNote.value = "";
  ui.callbackAt.value = "";
  ui.callbackResult.hidden = true;
  render();
  ui.disposition.focus();
}

function onSaved({ call }) {
  if (model.wrapup && model.wrapup.call.id === call.id) {
    model.wrapup.saved = true;
    model.wrapup.call = call;
    render();
  }
}

// --- client -> server -----------------------------------------------------------------------

function goReady() {
  if (mustDisposition()) {
    showError("This queue requires a disposition: save one before going Ready.");
    ui.disposition.focus();
    return;
  }
  showNotice("");
  request("agent.ready", {});
}

/** A required disposition of the call in wrap-up is not saved yet. */
function mustDisposition() {
  return Boolean(model.wrapup && model.wrapup.required && !model.wrapup.saved) ||
    Boolean(model.agent?.disposition_pending && !(model.wrapup && model.wrapup.saved));
}

ui.ready.addEventListener("click", goReady);
ui.readyNow.addEventListener("click", goReady);

ui.notReady.addEventListener("click", () => {
  showNotice("");
  request("agent.not_ready", { reason: ui.reason.value });
});

ui.answer.addEventListener("click", () => {
  if (model.offer) request("call.answer", { call_id: model.offer.call.id });
});

ui.hangup.addEventListener("click", () => {
  if (model.activeCall) request("call.hangup", { call_id: model.activeCall.id });
});

ui.wrapupForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const wrapup = model.wrapup;
  if (!wrapup) return;
  if (!ui.disposition.value) {
    showError("Choose a disposition before saving.");
    ui.disposition.focus();
    return;
  }
  const ack = await request("call.disposition", {
    call_id: wrapup.call.id,
    disposition: ui.disposition.value,
    note: ui.note.value,
  });
  if (ack && model.wrapup === wrapup) {
    wrapup.saved = true;
    if (ack.call) wrapup.call = ack.call;
    render();
  }
});

function fillDispositions(codes) {
  ui.disposition.replaceChildren(
    el("option", { value: "" }, "Choose…"),
    ...codes.map((code) => el("option", { value: code }, titleCase(code))),
  );
}

// --- rendering ------------------------------------------------------------------------------

function render() {
  renderStatus();
  renderPop();
  renderCall();
  renderWrapup();
  model.callControls?.render();
  const busy = Boolean(model.offer || model.activeCall || model.wrapup);
  ui.idle.hidden = busy;
  tick();
}

function renderStatus() {
  const agent = model.agent;
  const state = agent?.state ?? "";
  const connected = Boolean(model.socket?.connected);
  ui.stateLabel.textContent = agent ? stateLabel(state) : "Connecting…";
  ui.stateLabel.dataset.state = state;
  ui.stateReason.textContent = state === "not_ready" && agent.reason ? titleCase(agent.reason) : "";
  ui.stateForced.hidden = !agent?.forced_by;
  ui.stateForced.textContent = agent?.forced_by ? `set by ${agent.forced_by}` : "";
  ui.callsToday.textContent = String(agent?.calls_today ?? 0);
  const busy = state === "ringing" || state === "on_call" || state === "on_hold";
  ui.ready.disabled =
    !agent ||
    !connected ||
    busy ||
    state === "ready" ||
    model.pending.has("agent.ready") ||
    mustDisposition();
  ui.readyNow.disabled = ui.ready.disabled;
  ui.notReady.disabled = !agent || !connected || busy || model.pending.has("agent.not_ready");
  ui.reason.disabled = ui.notReady.disabled;
  if (state === "ready") {
    ui.idleTitle.textContent = "Waiting for calls";
    ui.idleHint.textContent = "A screen pop appears here when a call is offered to you.";
  } else if (state === "not_ready" && agent.reason === "call_interrupted") {
    ui.idleTitle.textContent = "Your call was interrupted";
    ui.idleHint.textContent =
      "The server restarted during your call. If you are still talking, finish on your phone; press Ready when you are free.";
  } else if (state === "not_ready") {
    ui.idleTitle.textContent = "You are not ready";
    ui.idleHint.textContent = "Press Ready to take calls.";
  } else {
    ui.idleTitle.textContent = agent ? stateLabel(state) : "Connecting…";
    ui.idleHint.textContent = "";
  }
}

function renderPop() {
  const offer = model.offer;
  ui.pop.hidden = !offer;
  if (!offer) return;
  const { call, customer, history, queue } = offer;
  ui.pop.dataset.callId = call.id;
  // A callback's turn (docs/callbacks.md): agent first, answering rings the agent's phone and
  // then the customer's; caller first, the call is the agent's already while it is dialled.
  const callback = offer.callback ?? null;
  const kept = callback?.mode === "caller_first";
  ui.popKicker.textContent = offer.answered
    ? "Connected call"
    : callback
      ? kept
        ? `Calling back ${customer?.name || callback.number}…`
        : `Callback to ${callback.number}`
      : "Incoming call";
  ui.popOffer.hidden = offer.answered;
  ui.answer.hidden = kept;
  ui.answer.disabled = offer.answered || kept || model.pending.has("call.answer");
  ui.popName.textContent = customer ? customer.name : "Unknown caller";
  ui.pop.classList.toggle("unknown", !customer);
  ui.pop.classList.toggle("answered", offer.answered);
  ui.popCaller.textContent = callback ? callback.number : call.caller_number || "No caller ID";
  const tier = customer?.value_tier ?? "";
  ui.popTier.textContent = tier ? titleCase(tier) : "";
  ui.popTier.hidden = !tier;
  ui.popTier.dataset.tier = tier;
  ui.popAccount.textContent = customer?.account_number || "—";
  const path = Array.isArray(call.ivr_path) ? call.ivr_path : [];
  ui.popIvr.textContent = path.length ? path.join(" › ") : "—";
  ui.popDigits.textContent = call.ivr_digits || "—";
  ui.editCustomer.hidden = !customer;
  ui.fullHistory.hidden = !customer;
  ui.searchForm.hidden = model.tool !== "search";
  ui.createForm.hidden = model.tool !== "search";
  ui.editForm.hidden = model.tool !== "edit" || !customer;
  ui.popNotes.textContent = customer?.notes || "—";
  ui.popQueue.textContent = queue?.name || queue?.id || call.queue_id || "—";
  renderHistory(history);
}

function renderHistory(history) {
  const tbody = ui.popHistory.tBodies[0];
  const rows = (Array.isArray(history) ? history : []).map((c) =>
    el(
      "tr",
      { dataset: { testid: "history-row", callId: c.id } },
      el("td", { className: "nowrap" }, formatDateTime(c.arrived_at)),
      el("td", {}, c.queue_id ?? "—"),
      el("td", {}, c.agent_id ?? "—"),
      el("td", { className: "mono" }, c.talk_s ? formatDuration(c.talk_s) : "—"),
      el("td", {}, el("span", { className: `outcome outcome-${c.outcome}` }, titleCase(c.outcome ?? "—"))),
      el("td", {}, c.disposition ? titleCase(c.disposition) : "—"),
      el("td", { className: "note-cell", title: c.note ?? "" }, c.note || "—"),
      el("td", { className: "small" }, formatCallbacks(c.callbacks)),
    ),
  );
  tbody.replaceChildren(...rows);
  ui.popHistoryEmpty.hidden = rows.length > 0;
  ui.popHistory.hidden = rows.length === 0;
}

function renderCall() {
  const call = model.activeCall;
  ui.callPanel.hidden = !call;
  if (!call) return;
  const name = model.offer && model.offer.call.id === call.id ? model.offer.customer?.name : null;
  ui.callWith.textContent = name || call.caller_number || "";
  ui.hangup.disabled = model.pending.has("call.hangup");
}

function renderWrapup() {
  const wrapup = model.wrapup;
  ui.wrapupPanel.hidden = !wrapup;
  if (!wrapup) return;
  const { call } = wrapup;
  const parts = [call.caller_number, call.talk_s ? `talked ${formatDuration(call.talk_s)}` : null];
  ui.wrapupCall.textContent = parts.filter(Boolean).join(" · ");
  ui.saved.hidden = !wrapup.saved;
  ui.dispositionRequired.hidden = !(wrapup.required && !wrapup.saved);
  ui.disposition.disabled = wrapup.saved;
  ui.note.disabled = wrapup.saved;
  ui.save.hidden = wrapup.saved;
  ui.save.disabled = model.pending.has("call.disposition");
}

/** The ticking figures: time in state, wait, offer countdown, talk time, wrap-up left. */
function tick() {
  const now = nowS();
  const agent = model.agent;
  ui.stateTimer.textContent = agent ? formatDuration(now - agent.since) : "0:00";
  const offer = model.offer;
  if (offer) {
    const call = offer.call;
    const queued = call.queued_at ?? call.arrived_at;
    const until = offer.answered && call.answered_at ? call.answered_at : now;
    ui.popWait.textContent = queued ? formatDuration(until - queued) : "—";
    const left = offer.receivedAt + (offer.offer_timeout_s ?? 0) - now;
    ui.popCountdown.textContent =
      !offer.answered && offer.offer_timeout_s && offer.callback?.mode !== "caller_first"
        ? `Answer within ${Math.max(0, Math.ceil(left))} s` : "";
  }
  if (model.activeCall) {
    const since = model.activeCall.answered_at ?? agent?.since ?? now;
    ui.talkTimer.textContent = formatDuration(now - since);
  }
  const wrapup = model.wrapup;
  if (wrapup) {
    const left = wrapup.receivedAt + wrapup.wrapup_s - now;
    ui.wrapupTimer.textContent =
      agent?.state === "wrap_up" && wrapup.wrapup_s > 0 ? `${formatDuration(left)} left` : "";
  }
}

setInterval(tick, TICK_MS);

function formatCallbacks(callbacks) {
  if (!Array.isArray(callbacks) || callbacks.length === 0) return "—";
  return callbacks
    .map((cb) => `${formatDateTime(cb.preferred_at ?? cb.due_at)}${cb.status ? ` (${cb.status})` : ""}`)
    .join(", ");
}

// --- customers (HTTP API, docs/api.md) ------------------------------------------------------

/** fetch the JSON API with the session's token. Resolves to the body, or null after showing
 * the server's error. */
async function api(method, path, body) {
  const token = model.session?.token;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    showError("The server cannot be reached. Try again in a moment.");
    return null;
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && typeof data.error === "string" ? data.error : `HTTP ${response.status}`;
    showError(response.status === 404 && path.startsWith("/api/callbacks")
      ? "Callbacks are not available on this server yet."
      : detail);
    return null;
  }
  hideError();
  return data;
}

ui.findCustomer.addEventListener("click", () => {
  model.tool = model.tool === "search" ? null : "search";
  render();
  if (model.tool === "search") ui.searchQ.focus();
});

ui.editCustomer.addEventListener("click", async () => {
  const customer = model.offer?.customer;
  model.tool = model.tool === "edit" ? null : "edit";
  render();
  if (model.tool !== "edit" || !customer) return;
  ui.editName.value = customer.name ?? "";
  ui.editAccount.value = customer.account_number ?? "";
  ui.editTier.value = customer.value_tier ?? "standard";
  ui.editNotes.value = customer.notes ?? "";
  await loadAudit(customer.id);
});

ui.fullHistory.addEventListener("click", async () => {
  const offer = model.offer;
  if (!offer?.customer) return;
  const data = await api("GET", `/api/customers/${offer.customer.id}/history?limit=1000`);
  if (data && model.offer === offer) {
    offer.history = data.calls.filter((c) => c.id !== offer.call.id);
    render();
  }
});

ui.searchForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = ui.searchQ.value.trim();
  if (!q) return;
  const data = await api("GET", `/api/customers?q=${encodeURIComponent(q)}&limit=20`);
  if (!data) return;
  ui.searchResults.replaceChildren(
    ...data.customers.map((c) => {
      const link = el("button", { type: "button", className: "btn btn-quiet", dataset: { testid: "btn-link" } }, "Link to call");
      link.addEventListener("click", () => linkCustomer(c.id));
      return el(
        "li",
        { dataset: { testid: "search-result", customerId: String(c.id) } },
        el("span", {}, c.name),
        el("span", { className: "muted mono" }, [c.account_number, ...(c.phones ?? [])].filter(Boolean).join(" · ")),
        link,
      );
    }),
  );
  ui.searchEmpty.hidden = data.customers.length > 0;
  if (data.customers.length === 0) {
    ui.newPhone.value = model.offer?.call?.caller_number ?? "";
    ui.newName.focus();
  }
});

ui.createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = ui.newName.value.trim();
  if (!name) {
    showError("A new customer needs a name.");
    ui.newName.focus();
    return;
  }
  const created = await api("POST", "/api/customers", {
    name,
    phones: ui.newPhone.value.trim() ? [ui.newPhone.value.trim()] : [],
    account_number: ui.newAccount.value.trim() || null,
    value_tier: ui.newTier.value,
    notes: ui.newNotes.value,
  });
  if (created) await linkCustomer(created.id);
});

async function linkCustomer(customerId) {
  const offer = model.offer;
  if (!offer) return;
  const data = await api("POST", `/api/calls/${encodeURIComponent(offer.call.id)}/customer`, {
    customer_id: customerId,
  });
  if (!data || model.offer !== offer) return;
  offer.customer = data.customer;
  offer.history = data.history;
  offer.call = { ...offer.call, customer_id: data.customer.id };
  if (model.wrapup && model.wrapup.call.id === offer.call.id) model.wrapup.call.customer_id = data.customer.id;
  model.tool = null;
  showNotice(`The call is linked to ${data.customer.name}.`);
  render();
}

ui.editForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const offer = model.offer;
  const customer = offer?.customer;
  if (!customer) return;
  const changed = await api("PATCH", `/api/customers/${customer.id}`, {
    name: ui.editName.value.trim(),
    account_number: ui.editAccount.value.trim() || null,
    value_tier: ui.editTier.value,
    notes: ui.editNotes.value,
  });
  if (!changed || model.offer !== offer) return;
  offer.customer = changed;
  showNotice("Customer saved.");
  render();
  await loadAudit(changed.id);
});

async function loadAudit(customerId) {
  const data = await api("GET", `/api/customers/${customerId}/audit`);
  if (!data) return;
  ui.auditList.replaceChildren(
    ...data.audit
      .slice()
      .reverse()
      .map((a) =>
        el(
          "li",
          { dataset: { testid: "audit-row" } },
          `${formatDateTime(a.at)} · ${a.user ?? "system"} · ${a.field}: ${a.old ?? "—"} → ${a.new ?? "—"}`,
        ),
      ),
  );
}

// --- callbacks (POST /api/callbacks) ----------------------------------------------------------

ui.callbackForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const wrapup = model.wrapup;
  if (!wrapup) return;
  const number = ui.callbackNumber.value.trim();
  const when = ui.callbackAt.value ? new Date(ui.callbackAt.value).getTime() / 1000 : NaN;
  if (!number) return showError("A callback needs a number to call.");
  if (!Number.isFinite(when)) return showError("Choose when to call back.");
  if (when < nowS()) return showError("The callback time is in the past.");
  const queueId = wrapup.call.queue_id;
  if (!queueId) return showError("This call has no queue to call back from.");
  const body = { number, queue_id: queueId, preferred_at: Math.round(when) };
  const customerId = wrapup.call.customer_id ?? model.offer?.customer?.id;
  if (customerId) body.customer_id = customerId;
  if (ui.callbackNote.value.trim()) body.note = ui.callbackNote.value.trim();
  const created = await api("POST", "/api/callbacks", body);
  if (!created) return;
  ui.callbackResult.textContent = `Callback scheduled for ${formatDateTime(body.preferred_at)}.`;
  ui.callbackResult.hidden = false;
});

// --- keyboard shortcuts (docs/desktop.md) -----------------------------------------------------

function clickIfEnabled(button) {
  if (button && !button.hidden && !button.disabled && button.offsetParent !== null) button.click();
}

document.addEventListener("keydown", (event) => {
  if (ui.desktopView.hidden) return;
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target?.tagName ?? "");
  if (event.key === "?" && !typing && !event.altKey && !event.ctrlKey) {
    event.preventDefault();
    openHelp();
    return;
  }
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  const key = event.code;
  if (key === "KeyA") clickIfEnabled(ui.answer);
  else if (key === "KeyX") clickIfEnabled(ui.hangup);
  else if (key === "KeyR") clickIfEnabled(model.wrapup ? ui.readyNow : ui.ready);
  else if (key === "KeyN") clickIfEnabled(ui.notReady);
  else if (key === "KeyH") clickIfEnabled(document.querySelector('#call-controls [data-testid="btn-hold"], #call-controls [data-testid="btn-unhold"]'));
  else return;
  event.preventDefault();
});

function openHelp() {
  if (!ui.helpDialog.open) ui.helpDialog.showModal();
}

ui.help.addEventListener("click", openHelp);

// --- boot -----------------------------------------------------------------------------------

const saved = loadSession();
if (saved) start(saved);
else showLogin();
