// Call controls of the agent desktop: hold / resume, mute, a DTMF pad, and transfers (blind or
// attended, to an agent, a number or a queue; complete / cancel / conference while consulting).
// The contract is docs/realtime.md (call.hold, call.unhold, call.mute, call.dtmf, call.transfer,
// call.transfer_complete, call.transfer_cancel, call.conference; and the server's call.held,
// call.unheld, call.muted, call.transfer, call.error).
//
// desktop.js owns the socket and the active call; it calls attachCallControls() once per
// connection with them. Everything this module shows lives in #call-controls and
// #consult-banner (desktop.html).

/** An element with its properties set as properties (handlers, booleans), not attributes. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const DTMF_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const ACTION_LABELS = {
  hold: "Hold",
  unhold: "Resume",
  mute: "Mute",
  dtmf: "Send digits",
  transfer: "Transfer",
  transfer_complete: "Complete transfer",
  transfer_cancel: "Cancel transfer",
};

const byId = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
};

/**
 * @param {object} deps
 * @param {import("socket.io-client").Socket} deps.socket the /agent socket
 * @param {(event: string, payload: object) => Promise<object|null>} deps.request emit with ack;
 *   resolves to the ack, or null after showing the error
 * @param {() => ({id: string}|null)} deps.getCall the connected call, if any
 * @param {(message: string) => void} deps.showError
 */
export function attachCallControls({ socket, request, getCall, showError }) {
  const root = byId("call-controls");
  const banner = byId("consult-banner");
  const state = {
    callId: null,
    held: false,
    muted: false,
    transfer: null, // {state, mode, target}
    dialogOpen: false,
    digits: "",
    busy: false,
    incoming: null, // a consultation offered to this agent: {call_id, from_agent, customer}
  };

  const reset = (callId) => {
    Object.assign(state, { callId, held: false, muted: false, transfer: null, digits: "" });
    state.dialogOpen = false;
  };

  async function act(event, payload) {
    state.busy = true;
    render();
    try {
      return await request(event, payload);
    } finally {
      state.busy = false;
      render();
    }
  }

  // --- server -> client -------------------------------------------------------------------

  socket.on("call.held", ({ call_id: callId }) => {
    if (callId === state.callId) state.held = true;
    render();
  });
  socket.on("call.unheld", ({ call_id: callId }) => {
    if (callId === state.callId) state.held = false;
    render();
  });
  socket.on("call.muted", ({ call_id: callId, muted }) => {
    if (callId === state.callId) state.muted = Boolean(muted);
    render();
  });
  socket.on("call.transfer", (payload) => {
    const open = payload.state === "consulting" || payload.state === "conference";
    if (payload.call_id === state.callId) {
      state.transfer = open ? payload : null;
      state.dialogOpen = false;
    } else if (payload.from_agent) {
      // this agent is the target of someone else's attended transfer
      state.incoming = open ? { ...state.incoming, ...payload } : null;
    }
    if (payload.state === "completed" && state.incoming && state.incoming.call_id === payload.call_id) {
      state.incoming = null;
    }
    render();
  });
  socket.on("call.error", ({ action, error }) => {
    showError(`${ACTION_LABELS[action] ?? action} failed: ${error}`);
  });
  socket.on("call.answered", ({ call }) => {
    if (state.incoming && call && state.incoming.call_id === call.id) state.incoming = null;
    sync();
  });
  socket.on("call.ended", () => sync());

  // --- rendering --------------------------------------------------------------------------

  const button = (testid, label, onClick, extra = {}) =>
    el("button", { type: "button", className: "btn btn-small", dataset: { testid }, onclick: onClick, ...extra }, label);

  function transferDialog(callId) {
    const mode = el(
      "select",
      { dataset: { testid: "transfer-mode" } },
      el("option", { value: "attended" }, "Attended (talk first)"),
      el("option", { value: "blind" }, "Blind"),
    );
    const kind = el(
      "select",
      { dataset: { testid: "transfer-kind" } },
      el("option", { value: "agent" }, "Agent"),
      el("option", { value: "number" }, "Number"),
      el("option", { value: "queue" }, "Queue"),
    );
    const target = el("input", {
      type: "text",
      placeholder: "agent username, number or queue",
      maxLength: 64,
      dataset: { testid: "transfer-target" },
    });
    const go = button("transfer-go", "Transfer", async () => {
      const id = target.value.trim();
      if (!id) {
        showError("Enter who to transfer the call to.");
        target.focus();
        return;
      }
      const ack = await act("call.transfer", {
        call_id: callId,
        mode: mode.value,
        target: { kind: kind.value, id },
      });
      if (ack) state.dialogOpen = false;
      render();
    });
    const close = button("transfer-close", "Close", () => {
      state.dialogOpen = false;
      render();
    });
    return el("div", { className: "transfer-dialog", dataset: { testid: "transfer-dialog" } }, mode, kind, target, go, close);
  }

  function dtmfPad(callId) {
    const display = el("span", { className: "mono dtmf-display", dataset: { testid: "dtmf-display" } }, state.digits || " ");
    const keys = DTMF_KEYS.map((key) =>
      button(`dtmf-${key === "*" ? "star" : key === "#" ? "hash" : key}`, key, async () => {
        state.digits = (state.digits + key).slice(-32);
        render();
        await act("call.dtmf", { call_id: callId, digits: key });
      }),
    );
    return el("div", { className: "dtmf-pad", dataset: { testid: "dtmf-pad" } }, display, ...keys);
  }

  function render() {
    const call = getCall();
    const callId = call ? call.id : null;
    if (callId !== state.callId) reset(callId);
    banner.hidden = !state.incoming;
    if (state.incoming) {
      const who = state.incoming.customer?.name || state.incoming.call?.caller_number || "a caller";
      banner.textContent =
        state.incoming.state === "conference"
          ? `Conference: ${state.incoming.from_agent}, you and ${who}.`
          : `${state.incoming.from_agent} is consulting you about ${who}.`;
    }
    root.hidden = !callId;
    if (!callId) {
      root.replaceChildren();
      return;
    }
    const disabled = { disabled: state.busy };
    const parts = [];
    if (state.transfer) {
      const target = state.transfer.target;
      const conference = state.transfer.state === "conference";
      parts.push(
        el("p", { className: "muted small", dataset: { testid: "transfer-status" } },
          conference
            ? `Conference with the caller and ${target.kind} ${target.id}.`
            : `Consulting ${target.kind} ${target.id}; the caller is on hold.`),
        button("btn-transfer-complete", conference ? "Leave the call" : "Complete transfer",
          () => act("call.transfer_complete", { call_id: callId }), disabled),
        button("btn-transfer-cancel", conference ? "Drop the target" : "Cancel",
          () => act("call.transfer_cancel", { call_id: callId }), disabled),
      );
      if (!conference) {
        parts.push(button("btn-conference", "Conference", () => act("call.conference", { call_id: callId }), disabled));
      }
    } else {
      parts.push(
        state.held
          ? button("btn-unhold", "Resume", () => act("call.unhold", { call_id: callId }), disabled)
          : button("btn-hold", "Hold", () => act("call.hold", { call_id: callId }), disabled),
        state.muted
          ? button("btn-unmute", "Unmute", () => act("call.mute", { call_id: callId, muted: false }), disabled)
          : button("btn-mute", "Mute", () => act("call.mute", { call_id: callId, muted: true }), disabled),
        button("btn-transfer", "Transfer…", () => {
          state.dialogOpen = !state.dialogOpen;
          render();
        }, disabled),
      );
      if (state.dialogOpen) parts.push(transferDialog(callId));
      parts.push(dtmfPad(callId));
    }
    root.replaceChildren(...parts);
    root.dataset.held = String(state.held);
    root.dataset.muted = String(state.muted);
  }

  function sync() {
    render();
  }

  render();
  return { render: sync };
}
