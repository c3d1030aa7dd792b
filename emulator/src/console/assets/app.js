// The console's Event history page: reads /console/api/ and shows events as the CloudTrail
// console does. Every value from a record is set as text, never as HTML.

const $ = (id) => document.getElementById(id);

// Columns: the console's defaults first, then the optional ones (shown from Preferences).
const COLUMNS = [
  { id: "eventTime", label: "Event time", default: true, value: (e) => e.eventTime },
  { id: "username", label: "User name", default: true, value: (e) => e.username ?? "" },
  { id: "eventName", label: "Event name", default: true, value: (e) => e.eventName },
  { id: "resourceType", label: "Resource type", default: true, value: (e) => e.resources.map((r) => r.type ?? "").filter(Boolean).join(", ") },
  { id: "resourceName", label: "Resource name", default: true, value: (e) => e.resources.map((r) => r.name ?? "").filter(Boolean).join(", ") },
  { id: "eventSource", label: "Event source", default: false, value: (e) => e.eventSource },
  { id: "readOnly", label: "Read-only", default: false, value: (e) => e.readOnly },
  { id: "accessKeyId", label: "AWS access key", default: false, value: (e) => e.accessKeyId ?? "" },
  { id: "sourceIPAddress", label: "Source IP address", default: false, value: (e) => e.sourceIPAddress ?? "" },
  { id: "errorCode", label: "Error code", default: false, value: (e) => e.errorCode ?? "" },
  { id: "requestId", label: "Request ID", default: false, value: (e) => e.requestId ?? "" },
];

const PREFS_KEY = "emulator-console-prefs";
const prefs = loadPrefs();
const state = {
  clockOffset: 0, // server time minus browser time, so relative ranges follow the emulator's clock
  tokens: [null], // the token of each page visited; tokens[i] opens page i+1
  page: 0,
  events: [],
  selected: new Set(),
  liveTimer: null,
};

function loadPrefs() {
  try {
    const saved = JSON.parse(localStorage.getItem(PREFS_KEY) ?? "{}");
    return {
      pageSize: [10, 25, 50].includes(saved.pageSize) ? saved.pageSize : 50,
      columns: Array.isArray(saved.columns) ? saved.columns : COLUMNS.filter((c) => c.default).map((c) => c.id),
    };
  } catch {
    return { pageSize: 50, columns: COLUMNS.filter((c) => c.default).map((c) => c.id) };
  }
}

function savePrefs() {
  localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
}

async function api(path, params) {
  const url = new URL(path, location.href);
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const resp = await fetch(url);
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.message ?? resp.statusText);
  return body;
}

function isoSeconds(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// The filter as API parameters (without the page token).
function filterParams() {
  const p = { account: $("account").value, region: $("region").value };
  const key = $("attribute").value;
  const value = $("value").value.trim();
  if (key && value) {
    p.key = key;
    p.value = value;
  }
  const range = $("range").value;
  if (range === "custom") {
    if ($("start").value) p.start = isoSeconds(new Date($("start").value + "Z"));
    if ($("end").value) p.end = isoSeconds(new Date($("end").value + "Z"));
  } else if (range) {
    const now = Date.now() + state.clockOffset;
    p.start = isoSeconds(new Date(now - Number(range) * 1000));
    p.end = isoSeconds(new Date(now));
  }
  return p;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function renderHead() {
  const head = $("head");
  head.replaceChildren();
  const pick = document.createElement("th");
  pick.textContent = "Select";
  pick.className = "visually-select";
  head.append(pick);
  for (const c of COLUMNS.filter((c) => prefs.columns.includes(c.id))) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = c.label;
    head.append(th);
  }
}

function renderRows(fresh = new Set()) {
  const rows = $("rows");
  rows.replaceChildren();
  const columns = COLUMNS.filter((c) => prefs.columns.includes(c.id));
  for (const e of state.events) {
    const tr = document.createElement("tr");
    tr.tabIndex = 0;
    tr.dataset.eventId = e.eventId;
    if (fresh.has(e.eventId)) tr.classList.add("new");
    const pickCell = document.createElement("td");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.setAttribute("aria-label", `Select ${e.eventName} at ${e.eventTime}`);
    box.checked = state.selected.has(e.eventId);
    box.addEventListener("click", (ev) => ev.stopPropagation());
    box.addEventListener("change", () => {
      if (box.checked) state.selected.add(e.eventId);
      else state.selected.delete(e.eventId);
      $("compare").disabled = state.selected.size !== 2;
    });
    pickCell.append(box);
    tr.append(pickCell);
    for (const c of columns) {
      const td = document.createElement("td");
      td.textContent = c.value(e);
      td.dataset.column = c.id;
      tr.append(td);
    }
    tr.addEventListener("click", () => showDetail(e));
    tr.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") showDetail(e);
    });
    rows.append(tr);
  }
  if (state.events.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = columns.length + 1;
    td.textContent = "No events match this filter.";
    tr.append(td);
    rows.append(tr);
  }
}

async function load(page) {
  const token = state.tokens[page];
  setStatus("Loading…");
  try {
    const body = await api("api/events", { ...filterParams(), max: prefs.pageSize, next: token });
    state.page = page;
    state.events = body.events;
    state.tokens[page + 1] = body.nextToken ?? null;
    state.tokens.length = body.nextToken ? page + 2 : page + 1;
    renderRows();
    $("prev").disabled = page === 0;
    $("next").disabled = !body.nextToken;
    $("page").textContent = `Page ${page + 1}`;
    setStatus(`${body.events.length} events shown`);
  } catch (err) {
    setStatus(err.message, true);
  }
  updateDownloads();
}

function updateDownloads() {
  const params = new URLSearchParams(Object.entries(filterParams()).filter(([, v]) => v));
  for (const format of ["csv", "json"]) {
    params.set("format", format);
    const a = $(`download-${format}`);
    a.href = `api/export?${params}`;
    a.setAttribute("download", `event_history.${format}`);
  }
}

function showDetail(e) {
  const dl = $("summary");
  dl.replaceChildren();
  const fields = [
    ["Event time", e.eventTime], ["User name", e.username], ["Event name", e.eventName],
    ["Event source", e.eventSource], ["AWS access key", e.accessKeyId], ["AWS region", e.awsRegion],
    ["Source IP address", e.sourceIPAddress], ["Error code", e.errorCode], ["Request ID", e.requestId],
    ["Event ID", e.eventId], ["Read-only", e.readOnly],
  ];
  for (const [k, v] of fields) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v ?? "-";
    dl.append(dt, dd);
  }
  const body = $("resources").tBodies[0];
  body.replaceChildren();
  for (const r of e.resources) {
    const tr = document.createElement("tr");
    const type = document.createElement("td");
    type.textContent = r.type ?? "-";
    const name = document.createElement("td");
    if (r.name) {
      // The resource's link: every event that names it.
      const a = document.createElement("a");
      a.href = "#";
      a.className = "resource-link";
      a.textContent = r.name;
      a.addEventListener("click", (ev) => {
        ev.preventDefault();
        $("attribute").value = "ResourceName";
        $("value").value = r.name;
        $("detail").hidden = true;
        state.tokens = [null];
        load(0);
      });
      name.append(a);
    } else {
      name.textContent = "-";
    }
    tr.append(type, name);
    body.append(tr);
  }
  $("detail-title").textContent = `${e.eventName} · ${e.eventTime}`;
  $("record").textContent = JSON.stringify(e.record, null, 2);
  $("detail").hidden = false;
  $("detail").scrollIntoView({ block: "nearest" });
  $("record").focus();
}

function showComparison() {
  const [a, b] = state.events.filter((e) => state.selected.has(e.eventId));
  if (!a || !b) return;
  $("left").textContent = JSON.stringify(a.record, null, 2);
  $("right").textContent = JSON.stringify(b.record, null, 2);
  $("comparison").hidden = false;
}

// Live view: the newest page again every second while on page 1; new events are marked.
function setLive(on) {
  clearInterval(state.liveTimer);
  state.liveTimer = null;
  if (!on) return;
  state.liveTimer = setInterval(async () => {
    if (state.page !== 0) return;
    try {
      const body = await api("api/events", { ...filterParams(), max: prefs.pageSize });
      const known = new Set(state.events.map((e) => e.eventId));
      const fresh = new Set(body.events.filter((e) => !known.has(e.eventId)).map((e) => e.eventId));
      if (fresh.size > 0) {
        state.events = body.events;
        state.tokens = [null, body.nextToken ?? null];
        $("next").disabled = !body.nextToken;
        renderRows(fresh);
        setStatus(`${fresh.size} new`);
      }
    } catch (err) {
      setStatus(err.message, true);
    }
  }, 1000);
}

async function showHealth() {
  const panel = $("health");
  const open = panel.hidden;
  panel.hidden = !open;
  $("health-toggle").setAttribute("aria-expanded", String(open));
  if (!open) return;
  const h = await api("api/health");
  const list = $("health-list");
  list.replaceChildren();
  const rows = [
    ["Now (emulator clock)", h.now],
    ["Records waiting in batches", h.delivery.batchedRecords],
    ["Records being delivered", h.delivery.inFlightRecords],
    ["Pending bytes", h.delivery.pendingBytes],
    ["Spool error", h.delivery.spoolError ?? "none"],
  ];
  for (const [trail, t] of Object.entries(h.delivery.trails ?? {})) {
    rows.push([`${trail}: last delivery`, t.lastDelivery ?? "never"]);
    rows.push([`${trail}: last error`, t.lastError ?? "none"]);
  }
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = String(v);
    list.append(dt, dd);
  }
}

function renderPrefs() {
  for (const radio of document.querySelectorAll("input[name=pagesize]")) {
    radio.checked = Number(radio.value) === prefs.pageSize;
    radio.addEventListener("change", () => {
      prefs.pageSize = Number(radio.value);
      savePrefs();
      state.tokens = [null];
      load(0);
    });
  }
  const box = $("columns");
  for (const c of COLUMNS) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = c.id;
    input.checked = prefs.columns.includes(c.id);
    input.addEventListener("change", () => {
      prefs.columns = COLUMNS.map((x) => x.id).filter((id) => id === c.id ? input.checked : prefs.columns.includes(id));
      savePrefs();
      renderHead();
      renderRows();
    });
    label.append(input, document.createTextNode(c.label));
    box.append(label);
  }
}

// Trails: their status and selectors, and the files each delivered, day by day.
let trails = [];

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "-";
  return td;
}

async function loadTrails() {
  const body = await api("api/trails", { account: $("account").value, region: $("region").value });
  trails = body.trails;
  const rows = $("trails").tBodies[0];
  rows.replaceChildren();
  $("browse-trail").replaceChildren();
  for (const t of trails) {
    const tr = document.createElement("tr");
    const s = t.status;
    const selectors = t.selectors.AdvancedEventSelectors?.length
      ? `${t.selectors.AdvancedEventSelectors.length} advanced`
      : `${(t.selectors.EventSelectors ?? []).length} basic`;
    tr.append(
      cell(t.trail.Name), cell(t.trail.HomeRegion), cell(String(t.trail.IsMultiRegionTrail)),
      cell(s.IsLogging ? "Logging" : "Stopped"), cell(s.LatestDeliveryAttemptSucceeded || s.LatestDeliveryAttemptTime),
      cell(s.LatestDeliveryError), cell(s.LatestDigestDeliveryTime ? new Date(s.LatestDigestDeliveryTime * 1000).toISOString() : null),
      cell(selectors),
    );
    rows.append(tr);
    $("browse-trail").append(new Option(t.trail.Name, t.trail.TrailARN));
  }
}

async function listFiles() {
  const t = trails.find((x) => x.trail.TrailARN === $("browse-trail").value);
  if (!t) return;
  const account = $("account").value;
  const [y, m, d] = ($("browse-day").value || "").split("-");
  const prefix = `${t.prefix ? t.prefix + "/" : ""}AWSLogs/${account}/${$("browse-kind").value}/${$("browse-region").value}/${y}/${m}/${d}/`;
  const rows = $("files").tBodies[0];
  rows.replaceChildren();
  try {
    const body = await api("api/files", { bucket: t.bucket, prefix });
    for (const o of body.objects) {
      const tr = document.createElement("tr");
      tr.append(cell(o.key), cell(String(o.size)), cell(o.lastModified));
      const actions = document.createElement("td");
      const view = document.createElement("button");
      view.type = "button";
      view.textContent = "View";
      view.addEventListener("click", () => showFile(t.bucket, o.key));
      const dl = document.createElement("a");
      dl.className = "button";
      dl.textContent = "Download";
      dl.href = `api/download?${new URLSearchParams({ bucket: t.bucket, key: o.key })}`;
      actions.append(view, " ", dl);
      tr.append(actions);
      rows.append(tr);
    }
    $("browse-status").textContent = `${body.objects.length} files under ${prefix}`;
  } catch (err) {
    $("browse-status").textContent = err.message;
  }
}

async function showFile(bucket, key) {
  const body = await api("api/object", { bucket, key });
  const summary = $("file-summary");
  summary.replaceChildren();
  const v = body.validation;
  if (v) {
    const verdict = document.createElement("span");
    verdict.className = v.valid ? "valid" : "invalid";
    verdict.textContent = v.valid ? "Valid digest" : "INVALID digest";
    const detail = [
      `signature ${v.signatureValid ? "valid" : "invalid" + (v.signatureProblem ? ` (${v.signatureProblem})` : "")}`,
      `${v.logFiles.filter((l) => l.valid === true).length} of ${v.logFiles.length} log files match their hash`,
      v.previousValid === null ? "starts the chain or its previous digest is not here" : `previous digest ${v.previousValid ? "matches" : "DOES NOT match"}`,
    ].join("; ");
    summary.append(verdict, document.createTextNode(`: ${detail}.`));
  } else {
    summary.textContent = `${(body.document.Records ?? []).length} records`;
  }
  $("file-title").textContent = key.split("/").pop();
  $("file-body").textContent = JSON.stringify(body.document, null, 2);
  $("file").hidden = false;
}

function showView(name) {
  const trailsView = name === "trails";
  $("trails-view").hidden = !trailsView;
  $("history-view").hidden = trailsView;
  $("tab-trails").setAttribute("aria-pressed", String(trailsView));
  $("tab-history").setAttribute("aria-pressed", String(!trailsView));
  if (trailsView) loadTrails().catch((err) => { $("browse-status").textContent = err.message; });
}

function toggle(buttonId, panelId) {
  const panel = $(panelId);
  panel.hidden = !panel.hidden;
  $(buttonId).setAttribute("aria-expanded", String(!panel.hidden));
}

async function start() {
  const meta = await api("api/meta");
  state.clockOffset = Date.parse(meta.now) - Date.now();
  for (const a of meta.accounts) $("account").append(new Option(a, a));
  for (const r of meta.regions) {
    $("region").append(new Option(r, r, r === meta.defaultRegion, r === meta.defaultRegion));
    $("browse-region").append(new Option(r, r, r === meta.defaultRegion, r === meta.defaultRegion));
  }
  $("browse-day").value = meta.now.slice(0, 10);
  $("tab-history").addEventListener("click", () => showView("history"));
  $("tab-trails").addEventListener("click", () => showView("trails"));
  $("browse").addEventListener("submit", (ev) => {
    ev.preventDefault();
    listFiles();
  });
  $("file-close").addEventListener("click", () => { $("file").hidden = true; });
  renderPrefs();
  renderHead();
  const reload = () => {
    state.tokens = [null];
    state.selected.clear();
    $("compare").disabled = true;
    load(0);
  };
  $("account").addEventListener("change", reload);
  $("region").addEventListener("change", reload);
  $("range").addEventListener("change", () => {
    $("absolute").hidden = $("range").value !== "custom";
  });
  $("filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    reload();
  });
  $("clear").addEventListener("click", () => {
    $("attribute").value = "";
    $("value").value = "";
    $("range").value = "";
    $("absolute").hidden = true;
    reload();
  });
  $("prev").addEventListener("click", () => load(state.page - 1));
  $("next").addEventListener("click", () => load(state.page + 1));
  $("live").addEventListener("change", () => setLive($("live").checked));
  $("compare").addEventListener("click", showComparison);
  $("prefs-toggle").addEventListener("click", () => toggle("prefs-toggle", "prefs"));
  $("health-toggle").addEventListener("click", showHealth);
  $("detail-close").addEventListener("click", () => { $("detail").hidden = true; });
  $("comparison-close").addEventListener("click", () => { $("comparison").hidden = true; });
  $("copy").addEventListener("click", () => navigator.clipboard?.writeText($("record").textContent));
  await load(0);
}

start().catch((err) => setStatus(err.message, true));
