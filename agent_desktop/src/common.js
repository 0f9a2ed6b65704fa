// Shared by the agent desktop and the wallboard: the login session, a tiny DOM helper and the
// formatting of times and rates. The contract with the server is docs/realtime.md.

const TOKEN_KEY = "cc.token";
const USER_KEY = "cc.user";

/** The session kept in sessionStorage (so a reload stays logged in), or null. */
export function loadSession() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  let user = null;
  try {
    user = JSON.parse(sessionStorage.getItem(USER_KEY) || "null");
  } catch {
    user = null;
  }
  return { token, user };
}

export function saveSession(token, user) {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(user ?? null));
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

export class LoginError extends Error {}

/** POST /api/auth/login. Resolves to {token, user}; rejects with a LoginError to show. */
export async function login(username, password) {
  let response;
  try {
    response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    throw new LoginError("The server cannot be reached. Try again in a moment.");
  }
  if (response.status === 401) throw new LoginError("Invalid username or password");
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok || !body || typeof body.token !== "string") {
    const detail = body && typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
    throw new LoginError(`Login failed: ${detail}`);
  }
  return { token: body.token, user: body.user ?? null };
}

/**
 * Wire a login form: `root` holds the inputs with data-testid login-username, login-password,
 * login-submit and login-error. `onLoggedIn({token, user})` runs after a successful login.
 */
export function bindLoginForm(form, onLoggedIn) {
  const username = byTestId("login-username", form);
  const password = byTestId("login-password", form);
  const submit = byTestId("login-submit", form);
  const error = byTestId("login-error", form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    try {
      const session = await login(username.value.trim(), password.value);
      saveSession(session.token, session.user);
      password.value = "";
      onLoggedIn(session);
    } catch (exc) {
      error.textContent = exc instanceof LoginError ? exc.message : String(exc);
      error.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  return {
    focus() {
      (username.value ? password : username).focus();
    },
    showError(message) {
      error.textContent = message;
      error.hidden = !message;
    },
  };
}

export function byTestId(id, root = document) {
  const found = root.querySelector(`[data-testid="${id}"]`);
  if (!found) throw new Error(`missing element data-testid=${id}`);
  return found;
}

/** el("td", {className: "x", dataset: {testid: "y"}}, "text", child) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function nowS() {
  return Date.now() / 1000;
}

/** Seconds as m:ss, or h:mm:ss from an hour on. Negative or missing counts as 0. */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** A 0..1 fraction as a whole percentage; "—" when undefined (null). */
export function formatPercent(fraction) {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "—";
  return `${Math.round(fraction * 100)}%`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

export function formatDateTime(epochS) {
  if (epochS === null || epochS === undefined) return "—";
  return dateTime.format(new Date(epochS * 1000));
}

export function titleCase(text) {
  const words = String(text ?? "").replaceAll("_", " ").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : "";
}

/** Human text for an agent state from docs/realtime.md. */
export const STATE_LABELS = {
  logged_out: "Logged out",
  ready: "Ready",
  not_ready: "Not ready",
  ringing: "Ringing",
  on_call: "On call",
  wrap_up: "Wrap-up",
};

export function stateLabel(state) {
  return STATE_LABELS[state] ?? titleCase(state);
}
