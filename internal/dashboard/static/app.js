// livedb dashboard. Plain JavaScript, no build step, no dependency.
//
// Every API call carries the admin key as "Authorization: Bearer <key>";
// the key lives in this tab's sessionStorage. Live views are Server-Sent
// Events read with fetch (EventSource cannot send the header). All URLs
// are relative, so the dashboard works under any mount prefix. Data is
// only ever put into the page as text (textContent), never as HTML.
"use strict";

const KEY_STORAGE = "livedb.adminKey";
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------
// Values: Convex-JSON to legible text, and typed input to Convex-JSON.

function b64Bytes(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesB64(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

// int64Of decodes {"$integer": base64 of 8 little-endian bytes}.
function int64Of(s) {
  const b = b64Bytes(s);
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return BigInt.asIntN(64, x);
}

function int64B64(n) {
  let x = BigInt.asUintN(64, n);
  const b = new Uint8Array(8);
  for (let i = 0; i < 8; i++) { b[i] = Number(x & 0xffn); x >>= 8n; }
  return bytesB64(b);
}

function floatOf(s) {
  const b = b64Bytes(s);
  return new DataView(b.buffer).getFloat64(0, true);
}

function hex(bytes, max) {
  let s = "";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) s += bytes[i].toString(16).padStart(2, "0");
  return bytes.length > max ? s + "…" : s;
}

function isSpecial(x, key) {
  return x !== null && typeof x === "object" && !Array.isArray(x) &&
    Object.keys(x).length === 1 && key in x;
}

// scalarText returns [text, css class] for a scalar Convex-JSON value, or
// null for an array or object.
function scalarText(x) {
  if (x === null) return ["null", "v-null"];
  if (x === undefined) return ["undefined", "v-undef"];
  switch (typeof x) {
    case "boolean": return [String(x), "v-bool"];
    case "number": return [String(x), "v-float"];
    case "string": return [JSON.stringify(x), "v-str"];
  }
  if (isSpecial(x, "$integer")) return [int64Of(x.$integer).toString() + "n", "v-int"];
  if (isSpecial(x, "$bytes")) {
    const b = b64Bytes(x.$bytes);
    return ["bytes[" + b.length + "] 0x" + hex(b, 32), "v-bytes"];
  }
  if (isSpecial(x, "$float")) {
    const f = floatOf(x.$float);
    return [Object.is(f, -0) ? "-0" : String(f), "v-float"];
  }
  return null;
}

// valueText renders a Convex-JSON value as one line (indent < 0) or
// indented text, with Int64 as 123n and bytes as hex.
function valueText(x, indent = -1, depth = 0) {
  const s = scalarText(x);
  if (s) return s[0];
  const nl = indent < 0 ? "" : "\n" + " ".repeat(indent * (depth + 1));
  const end = indent < 0 ? "" : "\n" + " ".repeat(indent * depth);
  const sep = indent < 0 ? ", " : ",";
  if (Array.isArray(x)) {
    if (x.length === 0) return "[]";
    return "[" + x.map((e) => nl + valueText(e, indent, depth + 1)).join(sep) + end + "]";
  }
  const keys = Object.keys(x);
  if (keys.length === 0) return "{}";
  return "{" + keys.map((k) => nl + JSON.stringify(k) + ": " + valueText(x[k], indent, depth + 1)).join(sep) + end + "}";
}

// valueNode renders a value for a table cell.
function valueNode(x) {
  const span = document.createElement("span");
  const s = scalarText(x);
  if (s) {
    span.textContent = s[1] === "v-str" ? x : s[0];
    span.className = s[1];
  } else {
    span.textContent = valueText(x);
  }
  span.title = span.textContent.length > 40 ? span.textContent : "";
  return span;
}

// parseInput reads a value typed in a range field: 12n is an Int64,
// JSON is taken as Convex-JSON, anything else is a string.
function parseInput(text) {
  const t = text.trim();
  if (/^-?\d+n$/.test(t)) return { $integer: int64B64(BigInt(t.slice(0, -1))) };
  try {
    return JSON.parse(t);
  } catch {
    return text;
  }
}

// parseArgs reads a JSON object where a number written 12n is an Int64.
function parseArgs(text) {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') { // copy a string as is
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = /^-?\d+n(?![\w.])/.exec(text.slice(i, i + 24));
    if (m && !/[\w.]/.test(text[i - 1] || "")) {
      out += JSON.stringify({ $integer: int64B64(BigInt(m[0].slice(0, -1))) });
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return JSON.parse(out.trim() === "" ? "{}" : out);
}

function tsText(ts) {
  if (!ts) return "";
  const ms = Number(BigInt(ts) / 1000000n);
  const d = new Date(ms);
  return d.toLocaleTimeString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

// dateText shows a _creationTime (milliseconds) as local date and time.
function dateText(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " +
    p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." + p(d.getMilliseconds(), 3);
}

function fmtInt(n) { return Number(n).toLocaleString("en-US"); }

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---------------------------------------------------------------------
// The API.

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let adminKey = sessionStorage.getItem(KEY_STORAGE) || "";

function headers(json) {
  const h = { Authorization: "Bearer " + adminKey };
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function failure(res) {
  let code = "http_" + res.status, message = res.status + " " + res.statusText;
  try {
    const body = await res.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch { /* not JSON */ }
  if (res.status === 401) lock(message);
  return new ApiError(res.status, code, message);
}

async function api(path, body) {
  const res = await fetch(path, body === undefined
    ? { headers: headers(false) }
    : { method: "POST", headers: headers(true), body: JSON.stringify(body) });
  if (!res.ok) throw await failure(res);
  return res.json();
}

// stream reads an event stream, calling onEvent(name, data) for each
// event, until the server ends it or signal aborts it.
async function stream(path, body, onEvent, signal) {
  const init = body === undefined
    ? { headers: headers(false), signal }
    : { method: "POST", headers: headers(true), body: JSON.stringify(body), signal };
  const res = await fetch(path, init);
  if (!res.ok) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let name = "message", data = "";
      for (const line of chunk.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

function isAbort(err) { return err && err.name === "AbortError"; }

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const id = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(id); resolve(); }, { once: true });
  });
}

// follow keeps a stream open until signal aborts. When it breaks (the
// network, a server restart, the database closed) it tells onProblem and
// opens it again after 1, 2, 4... up to 10 seconds, with the path and body
// that open() returns then. It gives up on a refusal (4xx) and when
// onEvent returns "stop" for an event of a stream that then ends.
async function follow(open, onEvent, onProblem, signal) {
  let delay = 1000;
  while (!signal.aborted) {
    const [path, body] = open();
    let stop = false;
    try {
      await stream(path, body, (name, data) => {
        delay = 1000;
        if (onEvent(name, data) === "stop") stop = true;
      }, signal);
      if (stop || signal.aborted) return;
      onProblem("the stream ended; reconnecting…", false);
    } catch (err) {
      if (isAbort(err) || signal.aborted) return;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
        onProblem(err.message, true);
        return;
      }
      onProblem(err.message + "; reconnecting…", false);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 10000);
  }
}

// ---------------------------------------------------------------------
// Login.

function lock(message) {
  adminKey = "";
  sessionStorage.removeItem(KEY_STORAGE);
  stopAll();
  $("main").hidden = true;
  $("nav").hidden = true;
  $("lock").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("key").value = "";
  $("key").focus();
}

async function unlock(key) {
  adminKey = key;
  try {
    await api("api/health");
  } catch (err) {
    lock(err.status === 401 ? "Wrong admin key." : err.message);
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  $("login").hidden = true;
  $("main").hidden = false;
  $("nav").hidden = false;
  $("lock").hidden = false;
  route();
}

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  unlock($("key").value.trim());
});
$("lock").addEventListener("click", () => lock(""));

// ---------------------------------------------------------------------
// Views and routing: #/tables/<name>, #/changes, #/functions/<name>, #/health.

const stoppers = new Set(); // what the current view runs: streams, timers

function stopAll() {
  for (const stop of stoppers) stop();
  stoppers.clear();
}

function every(ms, fn) {
  const id = setInterval(fn, ms);
  stoppers.add(() => clearInterval(id));
}

function route() {
  if (!adminKey) return;
  stopAll();
  const [view, ...rest] = (location.hash.replace(/^#\/?/, "") || "tables").split("/");
  const arg = decodeURIComponent(rest.join("/"));
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === view);
  for (const s of document.querySelectorAll("main .view")) s.hidden = s.id !== "view-" + view;
  switch (view) {
    case "changes": showChanges(); break;
    case "functions": showFunctions(arg); break;
    case "health": showHealth(); break;
    default: showTables(arg);
  }
}
window.addEventListener("hashchange", route);

let lastCommit = 0n; // the newest commit timestamp the page has seen

function setLastCommit(ts) {
  if (ts && BigInt(ts) > lastCommit) lastCommit = BigInt(ts);
  $("last-commit").textContent = lastCommit ? "last commit " + tsText(String(lastCommit)) : "no commit yet";
}

// ---------------------------------------------------------------------
// Tables and the document browser.

let tables = [];        // from api/tables
let current = null;     // the table shown
let cursors = [""];     // cursors of the pages so far; the last is shown
let liveAbort = null;   // stops the live query
let lastPage = null;    // the page shown

async function loadTables() {
  let reply;
  try {
    reply = await api("api/tables");
  } catch (err) {
    $("counts-note").textContent = err.message;
    return;
  }
  tables = reply.tables;
  setLastCommit(reply.timestamp);
  const list = $("table-list");
  list.replaceChildren();
  for (const t of tables) {
    const a = el("a");
    a.href = "#/tables/" + encodeURIComponent(t.name);
    a.dataset.table = t.name;
    a.classList.toggle("active", current !== null && current.name === t.name);
    a.append(el("span", "name", t.name), el("span", "count", fmtInt(t.documents)));
    const li = el("li");
    li.append(a);
    list.append(li);
  }
  if (tables.length === 0) list.append(el("li", "muted", "No tables yet."));
  const c = reply.counts;
  $("counts-note").textContent = "Counted at " + new Date(c.countedAt).toLocaleTimeString(undefined, { hour12: false }) +
    " in " + (c.tookMicros / 1000).toFixed(1) + " ms" + (c.current ? "." : "; commits since (recounted at most once a second).");
  if (current) {
    const t = tables.find((x) => x.name === current.name);
    if (t) $("table-count").textContent = fmtInt(t.documents) + " documents" + (c.current ? "" : " (≈)");
  }
}

async function showTables(name) {
  await loadTables();
  every(5000, loadTables);
  const t = tables.find((x) => x.name === name) || (name ? { name, documents: 0, indexes: builtinIndexes() } : null);
  if (!t) {
    current = null;
    $("no-table").hidden = false;
    $("table-view").hidden = true;
    return;
  }
  if (!current || current.name !== t.name) {
    current = t;
    resetQuery();
  }
  current = t;
  $("no-table").hidden = true;
  $("table-view").hidden = false;
  $("table-title").textContent = t.name;
  $("table-count").textContent = fmtInt(t.documents) + " documents";
  $("table-validator").textContent = t.validator || "(not declared in the schema: any document)";
  for (const a of document.querySelectorAll("#table-list a")) a.classList.toggle("active", a.dataset.table === t.name);
  fillIndexes();
  runQuery();
}

function builtinIndexes() {
  return [
    { name: "by_creation_time", fields: ["_creationTime"], columns: ["_creationTime"] },
    { name: "by_id", fields: ["_id"], columns: ["_id"] },
  ];
}

function resetQuery() {
  cursors = [""];
  $("q-order").value = "asc";
  $("q-error").textContent = "";
  $("q-index").dataset.chosen = "by_creation_time";
  $("q-range").replaceChildren();
}

function fillIndexes() {
  const sel = $("q-index");
  const chosen = sel.dataset.chosen || "by_creation_time";
  sel.replaceChildren();
  for (const ix of current.indexes) {
    const o = el("option", "", ix.name + " (" + ix.fields.join(", ") + ")");
    o.value = ix.name;
    sel.append(o);
  }
  sel.value = chosen;
  if (sel.value !== chosen) sel.value = "by_creation_time";
  if ($("q-range").dataset.index !== sel.value) fillRange();
}

// fillRange shows one row per column of the chosen index: a lower bound
// (=, >, >=) and an upper bound (<, <=).
function fillRange() {
  const ix = current.indexes.find((x) => x.name === $("q-index").value);
  const box = $("q-range");
  box.replaceChildren();
  box.dataset.index = ix ? ix.name : "";
  if (!ix) return;
  for (const col of ix.columns) {
    const lo = el("select");
    lo.dataset.col = col;
    lo.dataset.side = "lo";
    for (const [v, t] of [["", "—"], ["eq", "="], ["gt", ">"], ["gte", "≥"]]) {
      const o = el("option", "", t);
      o.value = v;
      lo.append(o);
    }
    const loVal = el("input");
    loVal.dataset.col = col;
    loVal.dataset.side = "loValue";
    loVal.placeholder = "value";
    const hi = el("select");
    hi.dataset.col = col;
    hi.dataset.side = "hi";
    for (const [v, t] of [["", "—"], ["lt", "<"], ["lte", "≤"]]) {
      const o = el("option", "", t);
      o.value = v;
      hi.append(o);
    }
    const hiVal = el("input");
    hiVal.dataset.col = col;
    hiVal.dataset.side = "hiValue";
    hiVal.placeholder = "value";
    lo.addEventListener("change", () => { hi.disabled = hiVal.disabled = lo.value === "eq"; });
    box.append(el("span", "col", col), lo, loVal, hi, hiVal);
  }
}

$("q-index").addEventListener("change", () => {
  $("q-index").dataset.chosen = $("q-index").value;
  fillRange();
});

function readRange() {
  const range = [];
  for (const sel of $("q-range").querySelectorAll("select")) {
    if (!sel.value || sel.disabled) continue;
    const input = sel.nextElementSibling;
    range.push({ field: sel.dataset.col, op: sel.value, value: parseInput(input.value) });
  }
  return range;
}

function querySpec() {
  return {
    table: current.name,
    index: $("q-index").value,
    range: readRange(),
    order: $("q-order").value,
    numItems: Number($("q-size").value),
    cursor: cursors[cursors.length - 1],
  };
}

function stopLive() {
  if (liveAbort) liveAbort.abort();
  liveAbort = null;
}

async function runQuery() {
  stopLive();
  $("q-error").textContent = "";
  const spec = querySpec();
  $("page-number").textContent = "page " + cursors.length;
  $("page-prev").disabled = cursors.length === 1;
  if (!$("q-live").checked) {
    $("live-status").className = "muted";
    try {
      const page = await api("api/documents", spec);
      $("live-status").textContent = "read at " + tsText(page.timestamp) + " (not live)";
      renderPage(page, false);
    } catch (err) {
      $("q-error").textContent = err.message;
    }
    return;
  }
  const ctl = new AbortController();
  liveAbort = ctl;
  stoppers.add(() => ctl.abort());
  let updates = 0;
  $("live-status").className = "muted";
  $("live-status").textContent = "connecting…";
  await follow(() => ["api/live", spec], (name, data) => {
    if (name === "page") {
      updates++;
      $("q-error").textContent = "";
      $("live-status").className = "muted live-dot";
      $("live-status").textContent = "live · " + data.page.length + " documents at " + tsText(data.timestamp) + " · " + updates + (updates === 1 ? " update" : " updates");
      renderPage(data, updates > 1);
      setLastCommit(data.timestamp);
    } else if (name === "error" || name === "end") {
      $("q-error").textContent = data.error.message;
    }
  }, (message, final) => {
    $("live-status").className = "muted";
    $("live-status").textContent = final ? "" : message;
    if (final) $("q-error").textContent = message;
  }, ctl.signal);
}

function renderPage(page, flash) {
  const before = new Map();
  if (lastPage) for (const d of lastPage.page) before.set(d._id, JSON.stringify(d));
  lastPage = page;
  $("page-next").disabled = page.isDone;
  const fields = new Set();
  for (const d of page.page) for (const k of Object.keys(d)) if (k !== "_id" && k !== "_creationTime") fields.add(k);
  const cols = ["_id", "_creationTime", ...[...fields].sort()];
  const head = $("doc-head");
  head.replaceChildren(...cols.map((c) => el("th", "", c)));
  const rows = $("doc-rows");
  rows.replaceChildren();
  if (page.page.length === 0) {
    const td = el("td", "empty", "No documents.");
    td.colSpan = cols.length;
    const tr = el("tr");
    tr.append(td);
    rows.append(tr);
    return;
  }
  for (const d of page.page) {
    const tr = el("tr", "doc");
    tr.dataset.id = d._id;
    if (flash && before.get(d._id) !== JSON.stringify(d)) tr.classList.add("flash");
    for (const c of cols) {
      const td = el("td");
      if (c === "_creationTime" && typeof d[c] === "number") {
        td.textContent = dateText(d[c]);
        td.title = String(d[c]);
      } else if (c in d) {
        td.append(valueNode(d[c]));
      } else {
        td.append(el("span", "v-undef", ""));
      }
      tr.append(td);
    }
    tr.addEventListener("click", () => toggleDetail(tr, d, cols.length));
    rows.append(tr);
  }
}

function toggleDetail(tr, doc, span) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("detail")) {
    next.remove();
    return;
  }
  const td = el("td", "", valueText(doc, 2));
  td.colSpan = span;
  const row = el("tr", "detail");
  row.append(td);
  tr.after(row);
}

$("query-form").addEventListener("submit", (e) => {
  e.preventDefault();
  cursors = [""];
  runQuery();
});
$("q-reset").addEventListener("click", () => {
  resetQuery();
  fillIndexes();
  fillRange();
  runQuery();
});
$("q-live").addEventListener("change", runQuery);
$("page-next").addEventListener("click", () => {
  if (!lastPage || lastPage.isDone) return;
  cursors.push(lastPage.continueCursor);
  runQuery();
});
$("page-prev").addEventListener("click", () => {
  if (cursors.length > 1) cursors.pop();
  runQuery();
});
$("tables-refresh").addEventListener("click", loadTables);

// ---------------------------------------------------------------------
// The change feed.

const MAX_LOG = 500;

async function showChanges() {
  const sel = $("changes-table");
  if (sel.options.length <= 1) {
    try {
      const reply = await api("api/tables");
      for (const t of reply.tables) {
        const o = el("option", "", t.name);
        o.value = t.name;
        sel.append(o);
      }
    } catch { /* the feed works without the list */ }
  }
  followChanges();
}

function followChanges() {
  for (const stop of stoppers) stop();
  stoppers.clear();
  const ctl = new AbortController();
  stoppers.add(() => ctl.abort());
  const table = $("changes-table").value;
  const status = $("changes-status");
  status.className = "muted";
  status.textContent = "connecting…";
  let seen = 0;
  // Where to resume after a break: the feed restarts before the commit
  // of the last change shown, and skips the changes of that commit it
  // already showed (a commit's changes may span two events).
  let lastTs = null, shownInLast = 0, skip = 0;
  const open = () => {
    const q = [];
    if (table) q.push("table=" + encodeURIComponent(table));
    if (lastTs !== null) {
      q.push("after=" + (BigInt(lastTs) - 1n));
      skip = shownInLast;
    }
    return ["api/changes" + (q.length ? "?" + q.join("&") : ""), undefined];
  };
  follow(open, (name, data) => {
    if (name === "start") {
      status.className = "muted live-dot";
      status.textContent = "following changes after " + tsText(data.after);
      if (lastTs === null) { lastTs = String(BigInt(data.after) + 1n); shownInLast = 0; }
    } else if (name === "changes") {
      for (const c of data.changes) {
        if (skip > 0 && c.timestamp === lastTs) { skip--; continue; }
        skip = 0;
        if (c.timestamp === lastTs) shownInLast++; else { lastTs = c.timestamp; shownInLast = 1; }
        seen++;
        if (!$("changes-pause").checked) logChange(c);
      }
      status.className = "muted live-dot";
      status.textContent = "live · " + seen + " changes seen";
    } else if (name === "error" || name === "end") {
      status.className = "error";
      status.textContent = data.error.message;
      if (data.error.code === "changes_pruned") return "stop";
    }
  }, (message) => {
    status.className = "error";
    status.textContent = message;
  }, ctl.signal);
}

function logChange(c) {
  const li = el("li");
  li.dataset.id = c.id;
  const head = el("div", "head");
  head.append(el("span", "op op-" + c.op, c.op), el("span", "mono", c.table), el("span", "mono", c.id), el("span", "muted small", tsText(c.timestamp)));
  li.append(head);
  if (c.op === "update") {
    li.append(el("pre", "", diffText(c.old, c.new)));
  } else {
    li.append(el("pre", "", valueText(c.op === "delete" ? c.old : c.new)));
  }
  const log = $("change-log");
  log.prepend(li);
  while (log.children.length > MAX_LOG) log.lastElementChild.remove();
}

// diffText lists the fields an update changed.
function diffText(oldDoc, newDoc) {
  const lines = [];
  const keys = new Set([...Object.keys(oldDoc || {}), ...Object.keys(newDoc || {})]);
  for (const k of keys) {
    const a = oldDoc && k in oldDoc ? valueText(oldDoc[k]) : undefined;
    const b = newDoc && k in newDoc ? valueText(newDoc[k]) : undefined;
    if (a === b) continue;
    lines.push(k + ": " + (a === undefined ? "(absent)" : a) + " → " + (b === undefined ? "(removed)" : b));
  }
  return lines.length ? lines.join("\n") : "(no field changed)";
}

$("changes-table").addEventListener("change", followChanges);
$("changes-clear").addEventListener("click", () => $("change-log").replaceChildren());

// ---------------------------------------------------------------------
// Functions.

let functions = [];

async function showFunctions(name) {
  try {
    functions = (await api("api/functions")).functions;
  } catch (err) {
    $("fn-error").textContent = err.message;
    return;
  }
  const list = $("fn-list");
  list.replaceChildren();
  for (const f of functions) {
    const a = el("a");
    a.href = "#/functions/" + encodeURIComponent(f.name);
    a.dataset.fn = f.name;
    a.classList.toggle("active", f.name === name);
    a.append(el("span", "mono", f.name), el("span", "badge " + (f.internal ? "internal" : f.kind), f.internal ? "internal" : f.kind));
    const li = el("li");
    li.append(a);
    list.append(li);
  }
  $("fn-empty").hidden = functions.length > 0;
  const f = functions.find((x) => x.name === name);
  $("fn-none").hidden = !!f;
  $("fn-form").hidden = !f;
  if (!f) return;
  if ($("fn-form").dataset.fn !== f.name) {
    $("fn-args").value = "{}";
    $("fn-result").textContent = "";
    $("fn-error").textContent = "";
  }
  $("fn-form").dataset.fn = f.name;
  $("fn-name").textContent = f.name;
  $("fn-kind").textContent = f.kind;
  $("fn-kind").className = "badge " + f.kind;
  $("fn-internal").hidden = !f.internal;
  $("fn-run").disabled = f.internal;
  $("fn-args-validator").textContent = f.args || "(not validated)";
  $("fn-returns-validator").textContent = f.returns || "(not validated)";
}

$("fn-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = $("fn-form").dataset.fn;
  $("fn-error").textContent = "";
  $("fn-result").textContent = "";
  let args;
  try {
    args = parseArgs($("fn-args").value);
  } catch (err) {
    $("fn-error").textContent = "The arguments are not JSON: " + err.message;
    return;
  }
  $("fn-run").disabled = true;
  try {
    const reply = await api("api/run", { name, args });
    $("fn-result").textContent = valueText(reply.value, 2);
    $("fn-result").dataset.ts = reply.timestamp;
  } catch (err) {
    $("fn-error").textContent = err.message;
  } finally {
    $("fn-run").disabled = false;
  }
});

// ---------------------------------------------------------------------
// Health.

function showHealth() {
  let prev = null;
  const poll = async () => {
    let h;
    try {
      h = await api("api/health");
    } catch {
      return;
    }
    setLastCommit(h.timestamp);
    let rate = "—";
    if (prev && h.now > prev.now) rate = ((h.commits - prev.commits) * 1000 / (h.now - prev.now)).toFixed(1);
    prev = h;
    const cards = [
      ["Commits / s", rate],
      ["Commits", fmtInt(h.commits)],
      ["Storage commits", fmtInt(h.groups)],
      ["Mean group", h.groups ? (h.commits / h.groups).toFixed(2) : "—"],
      ["Largest group", fmtInt(h.maxGroup)],
      ["Mean commit latency", h.groups ? (h.commitMicros / h.groups / 1000).toFixed(2) + " ms" : "—"],
      ["Retries after conflicts", fmtInt(h.retries)],
      ["Conflict errors", fmtInt(h.conflictErrors)],
      ["Ran alone", fmtInt(h.alone)],
      ["Open subscriptions", fmtInt(h.subscriptions)],
    ];
    $("health-cards").replaceChildren(...cards.map(([label, value]) => {
      const c = el("div", "card");
      c.dataset.label = label;
      c.append(el("div", "label", label), el("div", "value", value));
      return c;
    }));
    const rows = Object.entries(h.conflicts).sort((a, b) => b[1] - a[1]);
    $("health-conflicts").replaceChildren(...(rows.length ? rows.map(([k, n]) => {
      const tr = el("tr");
      tr.append(el("td", "", k), el("td", "", fmtInt(n)));
      return tr;
    }) : [(() => { const tr = el("tr"); const td = el("td", "empty", "No conflicts."); td.colSpan = 2; tr.append(td); return tr; })()]));
  };
  poll();
  every(2000, poll);
}

// ---------------------------------------------------------------------

if (adminKey) unlock(adminKey); else lock("");
