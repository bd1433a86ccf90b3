// The club's own pages (nginx/html/), one module, no build step: the programme and the
// venues on the home page, and the account links of the club's e-mails. It reads the
// API on the same origin and its JSON envelope:
//   {"success": true, "data": ...}
//   {"success": false, "error": "Validation failed", "errors": {"password": ["..."]}}
//
// What the account pages expect of the API (the accounts routes). The e-mails link to
// /account/verify#token=... and /account/reset#token=...: the token stays in the fragment,
// which no server and no log sees, and leaves the address bar as soon as it is read.
//   POST /api/v1/auth/verify  {"token": "..."}                     200: address confirmed
//   POST /api/v1/auth/reset   {"token": "...", "password": "..."}  200: password set
// Errors, in the envelope: 400 or 422 a malformed token or a password the API refuses
// (`errors.password`), 404 an unknown token, 410 a token used already or expired,
// 429 too many tries. Anything else (502, no answer) means the API is unavailable.

const API = "/api/v1";

class ApiError extends Error {
  constructor(status, envelope) {
    super(envelope?.error || (status ? `HTTP ${status}` : "no answer"));
    this.status = status;
    this.errors = envelope?.errors || {};
  }
}

// The `data` of a successful answer; an ApiError for anything else.
async function api(path, body) {
  const init = { headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, null); // no answer at all: offline, or the connection failed
  }
  // A proxy's own error page is no envelope: the status alone then tells.
  const envelope = await response.json().catch(() => null);
  if (!response.ok || envelope?.success !== true) {
    throw new ApiError(response.status, envelope);
  }
  return envelope.data;
}

function show(status, state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function unavailable(error, what) {
  return `The club's API is unavailable right now (${error.message}), so ${what} cannot ` +
    "be shown. Try again in a moment.";
}

// --- the home page: upcoming events and the venues -------------------------------------

function clubTimeFormat() {
  const zone = document.querySelector('meta[name="tdc-time-zone"]').content;
  const options = { weekday: "short", day: "numeric", month: "short", year: "numeric",
                    hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
  try {
    return new Intl.DateTimeFormat("en-GB", { ...options, timeZone: zone });
  } catch {
    // A zone this browser does not know: UTC, and the page says so.
    document.querySelectorAll("[data-time-zone]").forEach((node) => { node.textContent = "UTC"; });
    return new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" });
  }
}

// A venue's own colour, from the API (CSSOM, which the CSP allows; no style attribute).
function accent(node, colour) {
  if (/^#[0-9A-Fa-f]{6}$/.test(colour || "")) node.style.setProperty("--accent", colour);
}

function eventCard(event, format) {
  const card = element("li", "card");
  accent(card, event.location.theme_accent);
  card.append(element("h3", null, event.title));
  const when = element("time", null, format.format(new Date(event.starts_at)));
  when.dateTime = event.starts_at;
  const meta = element("p", "meta");
  meta.append(when, ` at ${event.location.name}`);
  card.append(meta);
  if (event.description) card.append(element("p", null, event.description));
  return card;
}

function locationCard(location) {
  const card = element("li", "card");
  accent(card, location.theme_accent);
  card.append(element("h3", null, location.name));
  const facts = [location.mood_category, location.capacity && `${location.capacity} guests`];
  card.append(element("p", "meta", facts.filter(Boolean).join(" · ")));
  if (location.description) card.append(element("p", null, location.description));
  return card;
}

async function fill(name, path, card, empty, what) {
  const status = document.querySelector(`[data-status="${name}"]`);
  const list = document.querySelector(`[data-list="${name}"]`);
  show(status, "loading", `Loading ${what}…`);
  list.hidden = true;
  try {
    const items = await api(path);
    list.replaceChildren(...items.map(card));
    list.hidden = items.length === 0;
    if (items.length === 0) show(status, "empty", empty);
    else show(status, "done", "");
  } catch (error) {
    show(status, "error", unavailable(error, what));
  }
}

function home() {
  const format = clubTimeFormat();
  fill("events", "/events?per_page=50", (event) => eventCard(event, format),
       "No events yet: the programme is being planned. Look in again soon.", "the programme");
  fill("locations", "/locations?per_page=100", locationCard,
       "No venues are open yet.", "the venues");
}

// --- the account links: /account/verify and /account/reset ----------------------------

// The token of the link, taken out of the address bar and history: it is single use.
function takeToken() {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (window.location.hash) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  return token;
}

function tokenProblem(error) {
  switch (error.status) {
    case 404:
      return `This link is not known to the club (${error.message}). Ask for a new one.`;
    case 410:
      return "This link has expired or was used already. Ask for a new one.";
    case 400:
    case 422:
      return `This link is not valid (${error.message}). Ask for a new one.`;
    case 429:
      return "Too many tries. Wait a minute, then open the link again.";
    default:
      return unavailable(error, "the result");
  }
}

const NO_TOKEN = "This link has no token. Open the link from the club's e-mail again, " +
  "in full, or ask for a new one.";

// The page's status line and the link's token; without a token, the status says so.
function accountLink() {
  const status = document.querySelector('[data-status="account"]');
  const token = takeToken();
  if (!token) show(status, "error", NO_TOKEN);
  return { status, token };
}

async function verify() {
  const { status, token } = accountLink();
  if (!token) return;
  show(status, "loading", "Confirming your e-mail address…");
  try {
    await api("/auth/verify", { token });
    show(status, "done", "Your e-mail address is confirmed. You can log in now.");
  } catch (error) {
    show(status, "error", tokenProblem(error));
  }
}

function reset() {
  const { status, token } = accountLink();
  if (!token) return;
  const form = document.querySelector('[data-form="reset"]');
  show(status, "", "");
  form.hidden = false;
  const fieldError = (name, text) => {
    form.querySelector(`[data-error="${name}"]`).textContent = text;
    form.elements[name].setAttribute("aria-invalid", text ? "true" : "false");
  };
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const password = form.elements.password.value;
    const minimum = Number(form.elements.password.getAttribute("minlength"));
    fieldError("password", password.length < minimum ? `At least ${minimum} characters.` : "");
    fieldError("password_again", password !== form.elements.password_again.value
      ? "The two passwords differ." : "");
    if (form.querySelector('[aria-invalid="true"]')) return;
    const button = form.querySelector("button");
    button.disabled = true;
    show(status, "loading", "Setting the new password…");
    try {
      await api("/auth/reset", { token, password });
      form.hidden = true;
      show(status, "done", "Your new password is set. You can log in with it now.");
    } catch (error) {
      const refused = error.errors.password;
      if (refused) {
        fieldError("password", refused.join(" "));
        show(status, "error", "The API refused this password: choose another.");
      } else {
        // A token the API refused is no use for another try: only an outage keeps the form.
        form.hidden = [400, 404, 410, 422].includes(error.status);
        show(status, "error", tokenProblem(error));
      }
    } finally {
      button.disabled = false;
    }
  });
}

const PAGES = { home, verify, reset };
PAGES[document.body.dataset.page]?.();
