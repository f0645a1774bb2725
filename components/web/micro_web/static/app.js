// The micro dashboard: plain JavaScript, no build step. One page, routed by the URL hash.
// Live data comes from server-sent events: /_/api/events (services and the registry log)
// and /_/api/topics/<topic> (a topic's messages).
"use strict";

const state = {
  services: new Map(), // name -> row {name, versions, nodes, endpoints, web, path}
  listed: false, // whether the services are known yet (the first list or the stream's snapshot)
  snapshot: false, // whether the event stream's snapshot has come
  early: null, // the first list's JSON text, while nothing newer has come
  revision: 0, // counts the changes to the services, so a view redraws only what changed
  log: [],
  csrf: "",
  selected: 0,
  route: null,
  cleanup: [], // what the current view must stop when the page changes view
};
const LOG_LIMIT = 500;
const LIST_LIMIT = 1000; // rows drawn at once; the search narrows the rest
const main = document.getElementById("main");
const search = document.getElementById("search");

// --- small helpers -----------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove("show"), 1800);
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(value) {
  // Every service-provided string goes through this before it joins markup.
  return String(value).replace(/[&<>"']/g, (char) => ESCAPES[char]);
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

function ago(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString();
}

class HttpError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (options.method && options.method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = state.csrf;
  }
  const response = await fetch(path, { credentials: "same-origin", ...options, headers });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (_) {
    body = { detail: text };
  }
  if (response.status === 401) showLogin();
  if (!response.ok) throw new HttpError(response.status, body);
  return body;
}

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} copied`);
  } catch (_) {
    prompt(`Copy ${what}:`, text);
  }
}

// --- live services and log -----------------------------------------------------------------

let redraw = 0;
function scheduleRedraw() {
  if (redraw) return;
  redraw = requestAnimationFrame(() => {
    redraw = 0;
    if (state.route && state.route.live) state.route.live();
  });
}

function connect() {
  const live = document.getElementById("live");
  const source = new EventSource("/_/api/events");
  state.source = source;
  source.addEventListener("open", () => {
    live.className = "live on";
    live.title = "live: changes appear as they happen";
  });
  source.addEventListener("error", () => {
    live.className = "live off";
    live.title = "disconnected: reconnecting";
  });
  source.addEventListener("snapshot", (event) => {
    const data = JSON.parse(event.data);
    state.snapshot = true;
    state.log = data.log.slice(-LOG_LIMIT).reverse();
    // The same services as the first list already drawn are kept, so the list is not redrawn.
    if (state.early === null || JSON.stringify(data.services) !== state.early) setServices(data.services);
    state.early = null;
    scheduleRedraw();
  });
  source.addEventListener("service", (event) => {
    const row = JSON.parse(event.data);
    if (row.gone) state.services.delete(row.name);
    else state.services.set(row.name, row);
    state.revision += 1;
    scheduleRedraw();
  });
  source.addEventListener("log", (event) => {
    state.log.unshift(JSON.parse(event.data));
    state.log.length = Math.min(state.log.length, LOG_LIMIT);
    scheduleRedraw();
  });
}

function setServices(rows) {
  state.services = new Map(rows.map((row) => [row.name, row]));
  state.listed = true;
  state.revision += 1;
}

// --- routing ---------------------------------------------------------------------------------

const routes = [
  [/^#?\/?$/, servicesView],
  [/^#\/service\/(.+)$/, serviceView],
  [/^#\/topics(?:\/(.*))?$/, topicsView],
  [/^#\/events$/, eventsView],
];

function route() {
  for (const stop of state.cleanup.splice(0)) stop();
  const hash = location.hash || "#/";
  for (const [pattern, view] of routes) {
    const match = hash.match(pattern);
    if (match) {
      const name = view.name.replace("View", "");
      for (const link of document.querySelectorAll("[data-nav]")) {
        link.classList.toggle("current", link.dataset.nav === name || (name === "service" && link.dataset.nav === "services"));
      }
      state.route = view(...match.slice(1).map((part) => (part === undefined ? part : decodeURIComponent(part)))) || null;
      return;
    }
  }
  main.replaceChildren(el("p", { class: "empty" }, "Nothing here. ", el("a", { href: "#/" }, "Services")));
}

function showLogin() {
  for (const stop of state.cleanup.splice(0)) stop();
  state.route = null;
  main.replaceChildren(
    el("div", { class: "panel empty" },
      el("h1", {}, "Log in"),
      el("p", {}, "Open the one-time login link that ", el("code", {}, "micro web"), " printed when it started."),
      el("p", { class: "muted" }, "Each link works once; restart micro web for a new one."),
    ),
  );
}

// --- services ------------------------------------------------------------------------------------

function matches(row, words) {
  const text = `${row.name} ${row.versions.join(" ")}`.toLowerCase();
  return words.every((word) => text.includes(word));
}

const byName = new Intl.Collator().compare;
const FIRST_ROWS = 40; // rows written at once, more than a tall screen shows; the rest a frame later

const framed = []; // tasks for after the frame being drawn, in order
const frameDone = new MessageChannel();
frameDone.port1.onmessage = () => framed.shift()();

function afterFrame(task) {
  // Runs the task once the next frame has been drawn: a message posted from the frame's
  // callback is handled as soon as the frame is out (a timeout may wait for later tasks).
  requestAnimationFrame(() => {
    framed.push(task);
    frameDone.port2.postMessage(null);
  });
}

function serviceRow(row, selected) {
  // One row as markup, every service-provided string escaped: the list is written at once.
  const name = escapeHtml(row.name);
  const versions = row.versions.map((version) => `<span class="chip">${escapeHtml(version || "—")}</span>`).join("");
  const open = row.path ? `<a href="${escapeHtml(row.path)}" target="_blank" rel="noopener">open ↗</a>` : "";
  return `<tr role="row" data-service="${name}"${selected ? ' class="selected"' : ""}>` +
    `<td role="cell"><a href="#/service/${escapeHtml(encodeURIComponent(row.name))}">${name}</a>${row.web ? ' <span class="badge web">web</span>' : ""}</td>` +
    `<td role="cell"><div class="chips">${versions}</div></td>` +
    `<td role="cell" class="num">${escapeHtml(row.nodes)}</td><td role="cell" class="num">${escapeHtml(row.endpoints)}</td><td role="cell">${open}</td></tr>`;
}

function servicesView() {
  const summary = el("p", { class: "summary" });
  const body = el("tbody", { role: "rowgroup" });
  // Explicit roles: the list's rows are laid out as grids (see app.css), which would hide
  // that it is a table from screen readers.
  const heading = (text) => el("th", { role: "columnheader" }, text);
  const table = el("table", { class: "services", role: "table", "aria-label": "Services" },
    el("thead", { role: "rowgroup" }, el("tr", { role: "row" }, heading("Service"), heading("Versions"), heading("Nodes"), heading("Endpoints"), heading(""))),
    body,
  );
  main.replaceChildren(el("h1", {}, "Services"), summary, table);
  let drawn = ""; // the revision and search last drawn
  let later = 0; // the draw whose remaining rows are still to be written
  const draw = () => {
    if (!state.listed) {
      summary.textContent = "loading…";
      return;
    }
    if (drawn === `${state.revision} ${search.value}`) return;
    drawn = `${state.revision} ${search.value}`;
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const rows = [...state.services.values()].filter((row) => matches(row, words));
    rows.sort((a, b) => byName(a.name, b.name));
    state.selected = Math.min(state.selected, Math.max(rows.length - 1, 0));
    const shown = rows.slice(0, LIST_LIMIT);
    const total = state.services.size;
    summary.textContent = `${total} service${total === 1 ? "" : "s"}` +
      (words.length ? `, ${rows.length} matching` : "") +
      (rows.length > shown.length ? `; showing the first ${shown.length}, search to narrow` : "");
    const markup = (from, to) => shown.slice(from, to).map((row, index) => serviceRow(row, from + index === state.selected)).join("");
    const first = state.selected < FIRST_ROWS ? FIRST_ROWS : shown.length;
    body.innerHTML = shown.length
      ? markup(0, first)
      : `<tr role="row"><td role="cell" colspan="5" class="empty">${total ? "No service matches the search." : "No service is registered yet."}</td></tr>`;
    // The first screen goes out in this frame; the rows below it are written once it is drawn,
    // and cost no layout or paint until they are scrolled to (see app.css).
    const turn = (later = (later + 1) % 1e9);
    afterFrame(() => {
      if (turn !== later || !body.isConnected || !shown.length) return;
      performance.mark("micro:first-rows"); // for the benchmark, as below
      if (first < shown.length) body.insertAdjacentHTML("beforeend", markup(first, shown.length));
      // For the benchmark: when every row is in the document, and when the frame showing them is out.
      performance.mark(`micro:rows-${shown.length}`);
      afterFrame(() => performance.mark(`micro:painted-${shown.length}`));
    });
  };
  const onSearch = () => { state.selected = 0; draw(); };
  search.addEventListener("input", onSearch);
  state.cleanup.push(() => search.removeEventListener("input", onSearch));
  draw();
  return {
    live: draw,
    move(step) {
      // Only the two rows whose mark moves change; the list is not redrawn.
      const rows = body.querySelectorAll("tr[data-service]");
      if (!rows.length) return;
      if (rows[state.selected]) rows[state.selected].classList.remove("selected");
      state.selected = (state.selected + step + rows.length) % rows.length;
      const row = rows[state.selected];
      row.classList.add("selected");
      row.scrollIntoView({ block: "nearest" });
    },
    open() {
      const row = body.querySelector("tr.selected");
      if (row) location.hash = `#/service/${encodeURIComponent(row.dataset.service)}`;
    },
  };
}

// --- types and the call form ---------------------------------------------------------------

const SCALARS = {
  string: "text", bool: "checkbox",
  int: "int", int8: "int", int16: "int", int32: "int", int64: "int",
  uint: "int", uint8: "int", uint16: "int", uint32: "int", uint64: "int",
  float: "float", float32: "float", float64: "float", double: "float",
};

function baseType(type) {
  return (type || "").replace(/\|null$/, "");
}

function typeText(value, depth = 0) {
  // A readable type: `HelloRequest {\n  name: string\n}`, nested fields indented.
  if (!value) return el("span", { class: "muted" }, "nothing");
  const pad = "  ".repeat(depth);
  const parts = [el("span", { class: "tn" }, value.type || "any")];
  if (value.values && value.values.length) {
    parts.push(" {\n");
    for (const field of value.values) {
      parts.push(`${pad}  ${field.name}: `, typeText(field, depth + 1), "\n");
    }
    parts.push(`${pad}}`);
  }
  return el("span", {}, parts);
}

function fieldEditor(field, path) {
  // One input per field of the request shape; lists repeat, nested shapes nest,
  // and what has no known shape is edited as JSON.
  const type = baseType(field.type);
  const label = field.name;
  if (field.values && field.values.length) {
    const set = el("fieldset", { dataset: { kind: "object", name: label } }, el("legend", {}, `${label}: ${type}`));
    for (const inner of field.values) set.append(fieldEditor(inner, `${path}.${inner.name}`));
    return set;
  }
  if (type.startsWith("[]") && SCALARS[type.slice(2)]) {
    const kind = SCALARS[type.slice(2)];
    const items = el("div", {});
    const add = (value = "") => {
      const input = scalarInput(kind, `${path}[]`, value);
      const row = el("div", { class: "list-item" }, input, el("button", { type: "button", class: "small", "aria-label": `remove from ${label}`, onclick: () => row.remove() }, "×"));
      items.append(row);
    };
    return el("fieldset", { dataset: { kind: "list", item: kind, name: label } },
      el("legend", {}, `${label}: ${type}`), items,
      el("button", { type: "button", class: "small", onclick: () => add() }, `+ add to ${label}`));
  }
  const kind = SCALARS[type];
  if (kind) {
    return el("label", { dataset: { name: label } }, el("span", {}, label, " ", el("span", { class: "hint" }, type)), scalarInput(kind, path));
  }
  return el("label", { dataset: { name: label, kind: "json" } },
    el("span", {}, label, " ", el("span", { class: "hint" }, `${type} (JSON)`)),
    el("input", { name: path, class: "mono", placeholder: "JSON", dataset: { kind: "json" } }));
}

function scalarInput(kind, name, value = "") {
  if (kind === "checkbox") return el("input", { type: "checkbox", name, dataset: { kind }, checked: Boolean(value) });
  const attrs = { name, value, dataset: { kind } };
  if (kind === "int") Object.assign(attrs, { type: "number", step: "1" });
  if (kind === "float") Object.assign(attrs, { type: "number", step: "any" });
  return el("input", attrs);
}

function readScalar(input) {
  const kind = input.dataset.kind;
  if (kind === "checkbox") return input.checked;
  if (input.value === "") return undefined;
  if (kind === "int") return Number.parseInt(input.value, 10);
  if (kind === "float") return Number.parseFloat(input.value);
  if (kind === "json") return JSON.parse(input.value);
  return input.value;
}

function readFields(container) {
  const value = {};
  for (const child of container.children) {
    const name = child.dataset.name;
    if (!name) continue;
    if (child.dataset.kind === "object") {
      value[name] = readFields(child);
    } else if (child.dataset.kind === "list") {
      value[name] = [...child.querySelectorAll("input")].map(readScalar).filter((item) => item !== undefined);
    } else {
      const input = child.querySelector("input");
      const read = readScalar(input);
      if (read !== undefined) value[name] = read;
    }
  }
  return value;
}

function fillFields(container, value) {
  for (const child of container.children) {
    const name = child.dataset.name;
    if (!name || !value || !(name in value)) continue;
    if (child.dataset.kind === "object") fillFields(child, value[name]);
    else if (child.dataset.kind !== "list") {
      const input = child.querySelector("input");
      if (input.type === "checkbox") input.checked = Boolean(value[name]);
      else input.value = typeof value[name] === "object" ? JSON.stringify(value[name]) : value[name];
    }
  }
}

function historyKey(service, endpoint) {
  return `micro.history.${service}.${endpoint}`;
}

function copyAs(kind, service, endpoint, request) {
  const json = JSON.stringify(request ?? {});
  const quoted = `'${json.replace(/'/g, "'\\''")}'`;
  if (kind === "curl") {
    const path = endpoint.split(".").map((part) => part.toLowerCase()).join("/");
    return `curl -X POST http://127.0.0.1:8080/${service}/${path} -H 'Content-Type: application/json' -d ${quoted}`;
  }
  if (kind === "micro") return `micro call ${service} ${endpoint} ${quoted}`;
  return [
    "from micro_core import Service, run",
    "",
    "",
    "async def main() -> None:",
    '    caller = Service("caller")',
    "    await caller.connect()",
    "    try:",
    `        print(await caller.client.call(${JSON.stringify(service)}, ${JSON.stringify(endpoint)}, ${json}))`,
    "    finally:",
    "        await caller.close()",
    "",
    "",
    "run(main())",
  ].join("\n");
}

function callForm(service, endpoint) {
  const streams = (endpoint.metadata || {}).stream === "true";
  const shape = endpoint.request;
  const fields = el("div", { class: "form-fields" });
  if (shape && shape.values) for (const field of shape.values) fields.append(fieldEditor(field, field.name));
  const raw = el("textarea", { "aria-label": `${endpoint.name} request as JSON`, hidden: true, spellcheck: "false" });
  const useRaw = el("input", { type: "checkbox", "aria-label": "edit as raw JSON" });
  if (!shape || !shape.values || !shape.values.length) {
    useRaw.checked = true;
    raw.hidden = false;
    fields.hidden = true;
    raw.value = shape ? "{}" : "null";
  }
  useRaw.addEventListener("change", () => {
    if (useRaw.checked) {
      try { raw.value = pretty(readFields(fields)); } catch (_) { raw.value = "{}"; }
    } else {
      try { fillFields(fields, JSON.parse(raw.value || "{}")); } catch (_) { /* keep the fields as they were */ }
    }
    raw.hidden = !useRaw.checked;
    fields.hidden = useRaw.checked;
  });
  const result = el("div", { class: "result", "aria-live": "polite" });
  const history = el("div", { class: "history" });
  const key = historyKey(service, endpoint.name);
  const request = () => (useRaw.checked ? JSON.parse(raw.value || "null") : readFields(fields));

  const drawHistory = () => {
    const past = JSON.parse(localStorage.getItem(key) || "[]");
    history.replaceChildren(...(past.length ? [el("div", { class: "muted" }, "History")] : []),
      ...past.map((item) => el("button", {
        type: "button",
        title: "fill the form with this request",
        onclick: () => {
          raw.value = pretty(item.request);
          fillFields(fields, item.request);
        },
      }, el("span", { class: `badge ${item.ok ? "ok" : "bad"}` }, item.code), " ", ago(item.time), " ", el("code", {}, JSON.stringify(item.request)))));
  };
  const remember = (req, ok, code) => {
    const past = JSON.parse(localStorage.getItem(key) || "[]");
    past.unshift({ request: req, ok, code, time: Date.now() / 1000 });
    localStorage.setItem(key, JSON.stringify(past.slice(0, 10)));
    drawHistory();
  };
  const showError = (error) => {
    const body = error.body || {};
    const code = body.code || error.status || "error";
    result.className = "result error";
    result.replaceChildren(
      el("div", { class: "row" }, el("span", { class: "badge bad", dataset: { code } }, code), el("strong", {}, body.status || "Error"), el("span", { class: "muted" }, body.id || "")),
      el("pre", { class: "error-detail" }, body.detail || error.message),
    );
    return code;
  };

  const send = async (event) => {
    if (event) event.preventDefault();
    let req;
    try {
      req = request();
    } catch (error) {
      result.className = "result error";
      result.replaceChildren(el("pre", {}, `The request is not valid JSON: ${error.message}`));
      return;
    }
    result.className = "result";
    result.replaceChildren(el("span", { class: "muted" }, streams ? "streaming…" : "calling…"));
    const form = JSON.stringify({ service, endpoint: endpoint.name, request: req });
    if (!streams) {
      try {
        const answer = await api("/_/api/call", { method: "POST", body: form });
        if (answer.error) {
          remember(req, false, showError({ body: answer.error }));
          return;
        }
        result.className = "result ok";
        result.replaceChildren(
          el("div", { class: "row" }, el("span", { class: "badge ok" }, "200"), el("span", { class: "muted" }, `${answer.ms} ms`)),
          el("pre", { class: "reply" }, pretty(answer.reply)),
        );
        remember(req, true, 200);
      } catch (error) {
        remember(req, false, showError(error));
      }
      return;
    }
    await streamCall(form, req);
  };

  const streamCall = async (form, req) => {
    const list = el("div", { class: "replies" });
    const status = el("div", { class: "row" }, el("span", { class: "badge warn" }, "open"));
    result.replaceChildren(status, list);
    try {
      const response = await fetch("/_/api/stream", {
        method: "POST", credentials: "same-origin", body: form,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": state.csrf },
      });
      if (!response.ok) throw new HttpError(response.status, await response.json());
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let count = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = JSON.parse(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
          if ("reply" in line) {
            count += 1;
            list.append(el("pre", { class: "reply" }, pretty(line.reply)));
          } else if (line.error) {
            remember(req, false, showError({ body: line.error }));
            result.prepend(list);
            return;
          } else {
            status.replaceChildren(el("span", { class: "badge ok" }, "done"), el("span", { class: "muted" }, `${count} replies, ${line.ms} ms`));
            result.className = "result ok";
            remember(req, true, 200);
          }
        }
      }
    } catch (error) {
      remember(req, false, showError(error));
    }
  };

  const form = el("form", { onsubmit: send, "aria-label": `call ${endpoint.name}` },
    fields, raw,
    el("div", { class: "actions" },
      el("button", { class: "primary", type: "submit" }, streams ? "Open stream" : "Call"),
      el("label", { class: "muted" }, useRaw, " raw JSON"),
      el("span", { class: "grow" }),
      el("span", { class: "muted" }, "copy as"),
      ["curl", "micro", "python"].map((kind) => el("button", {
        type: "button", class: "small",
        onclick: () => {
          let req = null;
          try { req = request(); } catch (_) { /* copy what can be read */ }
          copy(copyAs(kind, service, endpoint.name, req), kind === "micro" ? "micro call" : kind);
        },
      }, kind === "micro" ? "micro call" : kind)),
    ),
  );
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) send(event);
  });
  drawHistory();
  return el("div", {}, form, result, history);
}

// --- one service ------------------------------------------------------------------------------

function sparkline(canvas, points, color) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth * ratio;
  const height = canvas.clientHeight * ratio;
  if (!width || !height) return;
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  if (points.length < 2) return;
  const top = Math.max(...points, 1e-9);
  context.strokeStyle = color;
  context.lineWidth = 1.5 * ratio;
  context.beginPath();
  points.forEach((point, index) => {
    const x = (index / (points.length - 1)) * (width - 2) + 1;
    const y = height - 2 - (point / top) * (height - 4);
    if (index) context.lineTo(x, y);
    else context.moveTo(x, y);
  });
  context.stroke();
}

const CHARTS = [
  ["requests", "requests/s", (v) => v.toFixed(1)],
  ["errors", "errors/s", (v) => v.toFixed(1)],
  ["latency", "probe latency", (v) => `${v.toFixed(1)} ms`],
  ["memory", "memory", (v) => `${(v / 1048576).toFixed(1)} MB`],
];

function nodeCard(node, history) {
  const healthy = node.health && (node.health.status === "ok" || node.health.status === "serving");
  const card = el("div", { class: `panel node ${healthy ? "" : "unhealthy"}`, dataset: { node: node.id } },
    el("div", { class: "row" },
      el("span", { class: `dot ${healthy ? "ok" : "bad"}` }),
      el("strong", { class: "mono" }, node.address),
      el("span", { class: `badge ${healthy ? "ok" : "bad"}`, dataset: { health: healthy ? "ok" : "unhealthy" } }, healthy ? (node.health.status || "ok") : "unhealthy"),
      el("span", { class: "chip" }, node.version || "—"),
    ),
    el("div", { class: "muted mono" }, node.id),
    node.error ? el("div", { class: "muted" }, node.error) : null,
    el("div", { class: "charts" }, CHARTS.map(([key, label, format]) => {
      const points = history[key] || [];
      const last = points.length ? format(points[points.length - 1]) : "–";
      return el("div", { class: "chart" }, label, " ", el("b", {}, last), el("canvas", { dataset: { chart: key } }));
    })),
  );
  return card;
}

function serviceView(name) {
  main.replaceChildren(el("p", { class: "muted" }, "loading…"));
  const stats = new Map(); // node id -> {requests: [], errors: [], latency: [], memory: [], last}
  let detail = null;
  let timer = 0;
  let stopped = false;
  state.cleanup.push(() => { stopped = true; clearTimeout(timer); });
  const nodesBox = el("div", { class: "nodes", "aria-live": "polite" });

  const probe = async () => {
    if (stopped) return;
    try {
      const nodes = await api(`/_/api/services/${encodeURIComponent(name)}/nodes`);
      const seen = new Set();
      for (const node of nodes) {
        seen.add(node.id);
        const series = stats.get(node.id) || { requests: [], errors: [], latency: [], memory: [], last: null };
        const now = node.stats;
        if (now) {
          if (series.last) {
            const seconds = Math.max(now.timestamp - series.last.timestamp, 1);
            series.requests.push(Math.max(now.requests - series.last.requests, 0) / seconds);
            series.errors.push(Math.max(now.errors - series.last.errors, 0) / seconds);
          }
          series.memory.push(now.memory);
          series.last = now;
        }
        series.latency.push(node.ms);
        for (const key of ["requests", "errors", "latency", "memory"]) series[key] = series[key].slice(-40);
        stats.set(node.id, series);
      }
      for (const id of [...stats.keys()]) if (!seen.has(id)) stats.delete(id);
      nodesBox.replaceChildren(...nodes.map((node) => nodeCard(node, stats.get(node.id))));
      const colors = getComputedStyle(document.documentElement);
      for (const card of nodesBox.querySelectorAll("[data-node]")) {
        const series = stats.get(card.dataset.node);
        for (const canvas of card.querySelectorAll("canvas")) {
          const key = canvas.dataset.chart;
          sparkline(canvas, series[key], colors.getPropertyValue(key === "errors" ? "--bad" : "--accent").trim());
        }
      }
      if (!nodes.length) nodesBox.replaceChildren(el("p", { class: "muted" }, "No node is running."));
    } catch (error) {
      if (error.status === 404) {
        nodesBox.replaceChildren(el("p", { class: "muted" }, "The service is gone."));
      }
    }
    if (!stopped) timer = setTimeout(probe, 2000);
  };

  const draw = async () => {
    try {
      detail = await api(`/_/api/services/${encodeURIComponent(name)}`);
    } catch (error) {
      main.replaceChildren(el("h1", {}, name), el("p", { class: "panel empty", dataset: { gone: "true" } },
        error.status === 404 ? "This service is not registered (any more)." : error.message));
      return;
    }
    const endpoints = new Map();
    for (const version of detail.versions) for (const endpoint of version.endpoints || []) endpoints.set(endpoint.name, endpoint);
    const meta = Object.assign({}, ...detail.versions.map((v) => v.metadata || {}));
    main.replaceChildren(
      el("h1", {}, el("span", { class: "mono" }, name),
        detail.path ? el("a", { class: "badge web", href: detail.path, target: "_blank", rel: "noopener" }, `open ${detail.path} ↗`) : null),
      el("div", { class: "row" },
        el("span", { class: "muted" }, "Versions"),
        el("div", { class: "chips" }, detail.versions.map((v) => el("span", { class: "chip" }, `${v.version || "—"} · ${v.nodes.length} node${v.nodes.length === 1 ? "" : "s"}`))),
        Object.keys(meta).length ? el("span", { class: "muted" }, "Metadata") : null,
        el("div", { class: "chips" }, Object.entries(meta).map(([k, v]) => el("span", { class: "chip" }, `${k}=${v}`))),
      ),
      el("h2", {}, "Nodes"),
      nodesBox,
      el("table", { "aria-label": "Node metadata" },
        el("thead", {}, el("tr", {}, el("th", {}, "Node"), el("th", {}, "Address"), el("th", {}, "Version"), el("th", {}, "Metadata"))),
        el("tbody", {}, detail.versions.flatMap((v) => v.nodes.map((node) => el("tr", {},
          el("td", { class: "mono" }, node.id), el("td", { class: "mono" }, node.address), el("td", {}, v.version || "—"),
          el("td", {}, el("div", { class: "chips" }, Object.entries(node.metadata || {}).map(([k, val]) => el("span", { class: "chip" }, `${k}=${val}`))))))))),
      el("h2", {}, `Endpoints (${endpoints.size})`),
      ...[...endpoints.values()].sort((a, b) => a.name.localeCompare(b.name)).map((endpoint) => {
        const streams = (endpoint.metadata || {}).stream === "true";
        const box = el("details", { class: "panel endpoint", dataset: { endpoint: endpoint.name } },
          el("summary", {}, el("h3", { class: "mono" }, endpoint.name), streams ? el("span", { class: "badge warn" }, "stream") : null,
            el("span", { class: "muted mono" }, `${(endpoint.request && endpoint.request.type) || "nothing"} → ${(endpoint.response && endpoint.response.type) || "nothing"}`)));
        box.addEventListener("toggle", () => {
          if (!box.open || box.dataset.built) return;
          box.dataset.built = "true";
          box.append(el("div", { class: "body" },
            el("div", {}, el("div", { class: "muted" }, "Request"), el("pre", { class: "type" }, typeText(endpoint.request)),
              el("div", { class: "muted" }, "Response"), el("pre", { class: "type" }, typeText(endpoint.response))),
            callForm(name, endpoint)));
          const first = box.querySelector("input, textarea");
          if (first) first.focus();
        });
        return box;
      }),
    );
    probe();
  };
  draw();
  return {
    live() {
      if (state.listed && !state.services.has(name) && detail) {
        stopped = true;
        clearTimeout(timer);
        main.replaceChildren(el("h1", {}, el("span", { class: "mono" }, name)),
          el("p", { class: "panel empty", dataset: { gone: "true" } }, "This service is not registered any more."));
        detail = null;
      }
    },
  };
}

// --- topics ---------------------------------------------------------------------------------------

function topicsView(initial) {
  const topic = el("input", { "aria-label": "topic", placeholder: "topic, e.g. greetings", value: initial || "", class: "grow" });
  const messages = el("div", { class: "messages" });
  const status = el("span", { class: "muted" }, "not watching");
  const body = el("textarea", { "aria-label": "message as JSON", spellcheck: "false" }, '{"name": "Ada"}');
  let source = null;
  const stop = () => {
    if (source) source.close();
    source = null;
  };
  state.cleanup.push(stop);
  const watch = (event) => {
    if (event) event.preventDefault();
    stop();
    const name = topic.value.trim();
    if (!name) return;
    history.replaceState(null, "", `#/topics/${encodeURIComponent(name)}`);
    messages.replaceChildren();
    source = new EventSource(`/_/api/topics/${encodeURIComponent(name)}`);
    source.addEventListener("subscribed", () => {
      status.replaceChildren(el("span", { class: "badge ok", dataset: { watching: name } }, "watching"), ` ${name}`);
    });
    source.addEventListener("error", () => status.replaceChildren(el("span", { class: "badge bad" }, "disconnected")));
    source.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      messages.prepend(el("div", { class: "panel message" },
        el("div", { class: "row muted" }, ago(message.time), el("span", { class: "chip" }, message.kind), el("span", { class: "mono" }, message.header["Micro-Id"] || "")),
        el("pre", {}, message.kind === "json" ? pretty(message.body) : message.body)));
    });
  };
  const publish = async (event) => {
    event.preventDefault();
    const name = topic.value.trim();
    if (!name) return toast("name a topic first");
    let value;
    try {
      value = JSON.parse(body.value);
    } catch (error) {
      return toast(`not JSON: ${error.message}`);
    }
    try {
      await api(`/_/api/topics/${encodeURIComponent(name)}`, { method: "POST", body: JSON.stringify(value) });
      toast(`published to ${name}`);
    } catch (error) {
      toast(`${error.status || ""} ${error.message}`);
    }
  };
  main.replaceChildren(
    el("h1", {}, "Topics"),
    el("form", { class: "panel row", onsubmit: watch, "aria-label": "watch a topic" }, topic, el("button", { class: "primary", type: "submit" }, "Watch"), status),
    el("div", { class: "split" },
      el("form", { class: "panel", onsubmit: publish, "aria-label": "publish a message" }, el("h3", {}, "Publish"), body,
        el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, "Publish"))),
      el("div", { class: "panel" }, el("h3", {}, "Messages"), messages)),
  );
  if (initial) watch();
  else topic.focus();
  return null;
}

// --- registry events ------------------------------------------------------------------------------

function eventsView() {
  const body = el("tbody");
  main.replaceChildren(el("h1", {}, "Registry events"),
    el("p", { class: "summary" }, "Registrations as the registry's watch reports them, newest first. A node that stopped cleanly is deregistered; one that stopped renewing its registration (killed, hung, cut off) is removed when its TTL runs out, and shows as expired."),
    el("table", { "aria-label": "Registry events" },
      el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "What"), el("th", {}, "Service"), el("th", {}, "Version"), el("th", {}, "Node"), el("th", {}, "Address"))),
      body));
  const kind = { registered: "ok", updated: "warn", deregistered: "", expired: "bad" };
  const draw = () => {
    body.replaceChildren(...state.log.map((entry) => el("tr", { class: "log-row" },
      el("td", {}, ago(entry.time)),
      el("td", {}, el("span", { class: `badge ${kind[entry.what] || ""}` }, entry.what)),
      el("td", {}, el("a", { href: `#/service/${encodeURIComponent(entry.service)}` }, entry.service)),
      el("td", {}, entry.version || "—"),
      el("td", { class: "mono" }, entry.node),
      el("td", { class: "mono" }, entry.address))));
    if (!state.log.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "Nothing has changed since micro web started.")));
  };
  draw();
  return { live: draw };
}

// --- keyboard, theme, start -------------------------------------------------------------------

let pendingG = false;
document.addEventListener("keydown", (event) => {
  const typing = event.target.matches("input, textarea, select");
  if (event.key === "Escape") {
    if (typing) event.target.blur();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (pendingG) {
    pendingG = false;
    const target = { s: "#/", t: "#/topics", e: "#/events" }[event.key];
    if (target) {
      location.hash = target;
      event.preventDefault();
    }
    return;
  }
  const view = state.route || {};
  if (event.key === "/") {
    event.preventDefault();
    if (location.hash && location.hash !== "#/") location.hash = "#/";
    search.focus();
  } else if (event.key === "g") {
    pendingG = true;
  } else if (event.key === "?") {
    document.getElementById("help").showModal();
  } else if ((event.key === "j" || event.key === "ArrowDown") && view.move) {
    event.preventDefault();
    view.move(1);
  } else if ((event.key === "k" || event.key === "ArrowUp") && view.move) {
    event.preventDefault();
    view.move(-1);
  } else if (event.key === "Enter" && view.open) {
    view.open();
  }
});
search.addEventListener("keydown", (event) => {
  const view = state.route || {};
  if (event.key === "ArrowDown" && view.move) { event.preventDefault(); view.move(1); }
  if (event.key === "ArrowUp" && view.move) { event.preventDefault(); view.move(-1); }
  if (event.key === "Enter" && view.open) view.open();
});
search.addEventListener("focus", () => {
  if (location.hash && location.hash !== "#/") location.hash = "#/";
});

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("micro.theme", theme);
}
document.getElementById("theme").addEventListener("click", () => {
  setTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");
  if (state.route && state.route.live) state.route.live();
});
document.getElementById("help-button").addEventListener("click", () => document.getElementById("help").showModal());
setTheme(localStorage.getItem("micro.theme") || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));

async function start() {
  // The list does not wait for the session: both requests go out at once.
  const session = api("/_/api/session");
  connect();
  window.addEventListener("hashchange", route);
  route();
  // The list the page's head asked for: drawn at once unless the stream's snapshot came first.
  window.microServices.then((text) => {
    if (!text || state.snapshot) return;
    setServices(JSON.parse(text));
    state.early = text;
    if (state.route && state.route.live) state.route.live();
  });
  try {
    state.csrf = (await session).csrf;
  } catch (error) {
    if (error.status !== 401) throw error; // on 401 showLogin has drawn the way in
    window.removeEventListener("hashchange", route);
    if (state.source) state.source.close();
  }
}
start();
