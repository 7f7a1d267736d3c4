// haul's pages come alive here: progress from the event stream, rows and panels redrawn by
// the server when a download changes state, buttons that act without a reload. Every page
// works without this file (forms post and redirect); this only makes it live.
"use strict";
// Shared by every part below (each part is its own block and sees only these and its own).
// The path haul is served under behind a proxy ("" at the root): before every address here.
const BASE = document.querySelector('meta[name="haul-base"]')?.content || "";
const API = BASE + "/api/v1";
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// Times as the reader's clock says them (the server writes UTC).
function localTimes(root = document) {
  for (const t of $$("time[datetime]", root)) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d) && !t.classList.contains("rel")) t.textContent = d.toLocaleString();
    if (!isNaN(d)) t.title = d.toString();
  }
}

// == Downloads pages ========================================================================
(() => {
  const LIVE = new Set(["queued", "resolving", "downloading", "paused", "checking", "seeding", "unknown", "processing"]);

  // -- thumbnails: one that does not load (none could be fetched) leaves its empty box -----
  function noPicture(img) {
    img.closest(".thumb")?.classList.add("none");
    img.remove();
  }
  document.addEventListener("error", (e) => {
    if (e.target instanceof HTMLImageElement && e.target.closest(".thumb")) noPicture(e.target);
  }, true);
  for (const img of $$(".thumb img")) if (img.complete && img.naturalWidth === 0) noPicture(img);

  // -- formatting (the same as the server's filters) -----------------------------------
  function size(n) {
    if (n === null || n === undefined || n === "") return "";
    n = Number(n);
    for (const unit of ["B", "KB", "MB", "GB", "TB"]) {
      if (Math.abs(n) < 1000 || unit === "TB") return unit === "B" ? `${n.toFixed(0)} B` : `${n.toFixed(1)} ${unit}`;
      n /= 1000;
    }
    return "";
  }
  const speed = (n) => (n ? `${size(n)}/s` : "");
  function duration(s) {
    if (s === null || s === undefined || s < 0) return "";
    s = Math.floor(s);
    const pad = (x) => String(x).padStart(2, "0");
    if (s >= 86400) return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
    if (s >= 3600) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
    if (s >= 60) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
    return `${s}s`;
  }
  const percent = (p) => (p === null || p === undefined ? "" : `${Math.round(p * 100)}%`);

  // -- talking to the server ------------------------------------------------------------
  function toast(text, bad = false) {
    const box = $("#toast");
    if (!box) return;
    const p = document.createElement("p");
    p.textContent = text;
    if (bad) p.className = "bad";
    box.append(p);
    setTimeout(() => p.remove(), bad ? 8000 : 4000);
  }
  async function call(method, path, body) {
    const init = { method, headers: { "X-CSRF-Token": csrf, Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(API + path, init);
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new Error((data && data.detail) || `The server answered ${res.status}.`);
    return data;
  }
  async function html(path) {
    const res = await fetch(BASE + path, { headers: { Accept: "text/html" } });
    if (!res.ok) throw new Error(`The server answered ${res.status}.`);
    return res.text();
  }
  function parseRows(text) {
    const t = document.createElement("template");
    t.innerHTML = `<table><tbody>${text}</tbody></table>`;
    return $$("tr.dl", t.content);
  }

  // -- the downloads list ---------------------------------------------------------------
  const rows = $("#rows");
  const lastProgress = new Map(); // id -> time of its last progress event

  function showTable() {
    const wrap = $("#table");
    if (wrap) wrap.hidden = false;
    $("#empty")?.remove();
  }
  async function redrawRows(ids, { insert = false } = {}) {
    if (!rows || !ids.length) return;
    let fresh;
    try {
      fresh = parseRows(await html(`/ui/rows?ids=${ids.join(",")}`));
    } catch {
      return;
    }
    const seen = new Set();
    for (const tr of fresh) {
      seen.add(tr.dataset.id);
      const old = document.getElementById(tr.id);
      if (old) {
        const checked = $("input[name=ids]", old)?.checked;
        if (checked) $("input[name=ids]", tr).checked = true;
        old.replaceWith(tr);
      } else if (insert && acceptsNew()) {
        showTable();
        rows.prepend(tr);
      }
      localTimes(tr);
    }
    // Rows the server no longer shows (removed meanwhile) go.
    for (const id of ids) if (!seen.has(String(id)) && !insert) document.getElementById(`d-${id}`)?.remove();
    updateSelection();
  }
  function acceptsNew() {
    const table = $("#downloads");
    return table && !table.dataset.filtered && table.dataset.sort !== "oldest";
  }
  function applyProgress(row, ev) {
    const bar = $("progress", row);
    if (ev.live) {
      // A live recording: no percentage (no bar), its length so far.
      $(".pbar", row)?.classList.add("live");
      bar?.remove();
      const pct = $(".pct", row);
      if (pct) {
        const rec = document.createElement("span");
        rec.className = "rec";
        rec.title = "Recording a live stream";
        rec.textContent = "● REC";
        pct.replaceChildren(rec, ` ${duration(ev.recorded_seconds || 0)}`);
      }
    } else if (ev.progress !== null && ev.progress !== undefined) {
      if (bar) bar.value = ev.progress;
      const pct = $(".pct", row);
      if (pct) pct.textContent = percent(ev.progress);
    }
    const total = ev.total_bytes ?? row.dataset.total;
    const sizeCell = $(".size", row);
    if (sizeCell && ev.downloaded_bytes !== undefined) {
      sizeCell.textContent = total ? `${size(ev.downloaded_bytes)} / ${size(total)}` : size(ev.downloaded_bytes);
    }
    const sp = $(".speed", row);
    if (sp) sp.textContent = speed(ev.speed);
    const eta = $(".eta", row);
    if (eta) eta.textContent = duration(ev.eta);
    const msg = $(".msg", row);
    if (msg) {
      msg.textContent = ev.message || "";
      msg.hidden = !ev.message;
    }
    row.dataset.speed = ev.speed || 0;
    row.dataset.progress = ev.progress ?? "";
  }

  // -- the detail page ------------------------------------------------------------------
  const detail = $("#detail");
  let panelTimer = null;
  function redrawPanel() {
    clearTimeout(panelTimer);
    panelTimer = setTimeout(async () => {
      try {
        const body = await html(`/ui/downloads/${detail.dataset.id}/panel`);
        const focused = document.activeElement?.id;
        detail.innerHTML = body;
        localTimes(detail);
        if (focused) document.getElementById(focused)?.focus();
      } catch {
        /* the next event or poll tries again */
      }
    }, 150);
  }

  // -- events ---------------------------------------------------------------------------
  function onEvent(type, data) {
    if (type === "progress") {
      lastProgress.set(data.id, Date.now());
      const row = document.getElementById(`d-${data.id}`);
      if (row && row.dataset.status === data.status) applyProgress(row, data);
      else if (row) (detail ? redrawPanel() : redrawRows([data.id]));
      return;
    }
    const item = data.download;
    if (type === "removed") {
      if (detail && String(data.id) === detail.dataset.id) redrawPanel();
      else document.getElementById(`d-${data.id}`)?.remove();
      return;
    }
    if (!item) return;
    if (detail) {
      if (String(item.id) === detail.dataset.id || String(item.parent_id) === detail.dataset.id) redrawPanel();
      return;
    }
    if (document.getElementById(`d-${item.id}`)) redrawRows([item.id]);
    else if (type === "created" && !item.parent_id) redrawRows([item.id], { insert: true });
    else if (item.parent_id && document.getElementById(`d-${item.parent_id}`)) redrawRows([item.parent_id]);
  }
  function listen() {
    if (!rows && !detail) return;
    const url = detail ? `${API}/events?download=${detail.dataset.id}` : `${API}/events`;
    const source = new EventSource(url);
    for (const type of ["progress", "status", "created", "removed"]) {
      source.addEventListener(type, (e) => {
        try {
          onEvent(type, JSON.parse(e.data));
        } catch (err) {
          console.warn("haul: bad event", err);
        }
      });
    }
    // After a reconnect, events missed meanwhile are not replayed: read the state again.
    let first = true;
    source.addEventListener("hello", () => {
      if (first) {
        first = false;
        return;
      }
      refreshLive(true);
    });
    window.addEventListener("pagehide", () => source.close());
  }

  // Transfers of external clients (aria2, qBittorrent, Transmission) are polled by the server,
  // not streamed: their rows are redrawn now and then, as are the totals and the banner.
  async function refreshLive(all = false) {
    if (rows) {
      const stale = $$("tr.dl", rows)
        .filter((tr) => LIVE.has(tr.dataset.status))
        .filter((tr) => all || Date.now() - (lastProgress.get(Number(tr.dataset.id)) || 0) > 2500)
        .map((tr) => tr.dataset.id);
      if (stale.length) await redrawRows(stale.slice(0, 200));
    }
    if (detail && (all || (LIVE.has(detail.querySelector("[data-status]")?.dataset.status) &&
        Date.now() - (lastProgress.get(Number(detail.dataset.id)) || 0) > 2500))) redrawPanel();
    try {
      const res = await fetch(BASE + "/ui/summary", { headers: { Accept: "application/json" } });
      if (!res.ok) return;
      const s = await res.json();
      const set = (id, text) => {
        const el = document.getElementById(id);
        if (el) el.textContent = text;
      };
      set("t-active", s.active);
      set("t-queued", s.queued);
      set("t-speed", s.speed_text);
      const banner = $("#banner");
      if (banner && banner.innerHTML.trim() !== s.banner.trim()) banner.innerHTML = s.banner;
    } catch {
      /* offline for a moment: the next round tries again */
    }
  }

  // -- actions --------------------------------------------------------------------------
  async function act(form) {
    const id = form.dataset.id;
    const action = form.dataset.action;
    const deleteFiles = !!form.querySelector('input[name="delete_files"]');
    const button = $("button", form);
    if (button) button.disabled = true;
    try {
      if (action === "remove") await call("DELETE", `/downloads/${id}?delete_files=${deleteFiles}`);
      else if (action === "cancel") await call("POST", `/downloads/${id}/cancel`, { delete_files: deleteFiles });
      else await call("POST", `/downloads/${id}/${action}`);
      if (detail && action === "remove") window.location.assign(BASE + "/");
      else if (detail) redrawPanel();
      else if (action === "remove") document.getElementById(`d-${id}`)?.remove();
      else await redrawRows([id]);
    } catch (err) {
      toast(err.message, true);
    } finally {
      if (button) button.disabled = false;
    }
  }
  async function bulk(form, action) {
    const ids = selected();
    if (!ids.length) {
      toast("Select one or more downloads first.", true);
      return;
    }
    const deleteFiles = !!$('input[name="delete_files"]', form)?.checked;
    try {
      const result = await call("POST", `/downloads/${action}`, { ids: ids.map(Number), delete_files: deleteFiles });
      await redrawRows(ids);
      const done = result.items.length;
      const verb = { pause: "Paused", resume: "Resumed", retry: "Retried", cancel: "Canceled", stop: "Stopped" }[action];
      if (result.errors.length) toast(`${verb} ${done}; ${result.errors.length} could not be: ${result.errors[0].detail}`, true);
      else toast(`${verb} ${done} download${done === 1 ? "" : "s"}.`);
    } catch (err) {
      toast(err.message, true);
    }
  }
  const selected = () => $$('input[name="ids"]:checked').map((box) => box.value);
  function updateSelection() {
    const n = selected().length;
    const label = $("#selected");
    if (label) label.textContent = n ? `${n} selected:` : "Select downloads for";
    const all = $("#select-all");
    if (all) {
      const boxes = $$('input[name="ids"]');
      all.checked = boxes.length > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  async function share(button) {
    const out = button.closest("li")?.querySelector(".share-out");
    try {
      const link = await call("POST", `/downloads/${button.dataset.id}/link`, { index: Number(button.dataset.index) });
      const url = new URL(BASE + link.url, window.location.origin).href;
      if (out) {
        out.hidden = false;
        out.innerHTML = "";
        const input = document.createElement("input");
        input.readOnly = true;
        input.value = url;
        input.setAttribute("aria-label", "Shareable link");
        const note = document.createElement("span");
        note.className = "sub";
        note.textContent = `Works without logging in until ${new Date(link.expires_at).toLocaleString()}.`;
        out.append(input, note);
        input.select();
      }
      if (navigator.clipboard) await navigator.clipboard.writeText(url).then(() => toast("Link copied."), () => {});
    } catch (err) {
      toast(err.message, true);
    }
  }

  // -- column sorting (the rows of this page) -------------------------------------------
  const STATUS_ORDER = ["downloading", "resolving", "checking", "processing", "queued", "paused", "seeding", "unknown", "missing", "failed", "canceled", "completed"];
  function sortBy(button) {
    const key = button.dataset.key;
    const ascending = button.getAttribute("aria-sort") !== "ascending";
    for (const other of $$("button.sort")) other.removeAttribute("aria-sort");
    button.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const value = (tr) => {
      if (key === "name") return $(".title", tr)?.textContent.toLowerCase() || "";
      if (key === "status") return STATUS_ORDER.indexOf(tr.dataset.status);
      if (key === "progress") return Number($("progress", tr)?.value || 0);
      if (key === "size") return Number(tr.dataset.total || 0);
      if (key === "speed") return Number(tr.dataset.speed || 0);
      return 0;
    };
    const list = $$("tr.dl", rows);
    list.sort((a, b) => {
      const x = value(a), y = value(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.append(...list);
  }

  // -- wiring ---------------------------------------------------------------------------
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.matches("form.act")) {
      e.preventDefault();
      act(form);
    } else if (form.id === "bulk") {
      e.preventDefault();
      bulk(form, e.submitter?.value || "pause");
    }
  });
  document.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    if (!button) return;
    if (button.matches("button.sort")) sortBy(button);
    else if (button.matches("button.share")) share(button);
  });
  document.addEventListener("change", (e) => {
    if (e.target.id === "select-all") {
      for (const box of $$('input[name="ids"]')) box.checked = e.target.checked;
    }
    if (e.target.name === "ids" || e.target.id === "select-all") updateSelection();
  });
  localTimes();
  listen();
  if (rows || detail || $("#totals")) setInterval(refreshLive, 3000);
})();

// == Library and clients pages =============================================================
// Forms whose fields depend on a kind show only the fields of the chosen kind; on the clients
// page a test answers in place (a typed password stays in its field) and health refreshes.
(() => {
  // Fields marked data-kinds="a b" belong to those kinds only: hidden and not sent otherwise.
  function showKind(form, kind) {
    for (const box of $$("[data-kinds]", form)) {
      const mine = box.dataset.kinds.split(" ").includes(kind);
      box.hidden = !mine;
      for (const input of $$("input, select, textarea", box)) input.disabled = !mine;
    }
  }
  for (const form of $$("form.media-form, form.client-form")) {
    const select = $("select.media-kind, select.client-kind", form);
    if (!select) continue;
    const update = () => {
      showKind(form, select.value);
      const url = $("#url", form);
      const example = select.selectedOptions[0]?.dataset.example;
      if (url && example) url.placeholder = example;
    };
    select.addEventListener("change", update);
    update();
  }

  // -- clients: tests in place ---------------------------------------------------------
  async function post(form, extra = {}) {
    const body = new FormData(form);
    for (const [k, v] of Object.entries(extra)) body.set(k, v);
    // getAttribute: a button named "action" hides the form's own action property.
    const res = await fetch(form.getAttribute("action"), { method: "POST", body, headers: { Accept: "application/json" } });
    const data = await res.json().catch(() => null);
    if (!data) throw new Error(`The server answered ${res.status}.`);
    return data;
  }
  function say(el, text, state) {
    el.hidden = false;
    el.textContent = text;
    el.classList.remove("ok", "bad", "busy");
    if (state) el.classList.add(state);
  }
  function fieldNotes(form, errors) {
    for (const old of $$(".field-error", form)) old.remove();
    for (const box of $$(".field.bad", form)) box.classList.remove("bad");
    for (const [name, messages] of Object.entries(errors || {})) {
      const input = form.elements.namedItem(name);
      const box = input?.closest?.(".field");
      if (!box) continue;
      box.classList.add("bad");
      for (const text of messages) {
        const p = document.createElement("p");
        p.className = "field-error from-test";
        p.textContent = text;
        box.append(p);
      }
    }
  }
  const clientForm = $("#client-form");
  if (clientForm) {
    clientForm.addEventListener("submit", async (e) => {
      if (e.submitter?.value !== "test") return;
      e.preventDefault();
      const out = $("#test-result", clientForm);
      say(out, "Testing…", "busy");
      e.submitter.disabled = true;
      try {
        const data = await post(clientForm, { action: "test" });
        fieldNotes(clientForm, data.errors);
        if (data.text) say(out, data.text, data.ok ? "ok" : "bad");
        else say(out, "Some of this needs a fix: see the notes beside the fields.", "bad");
      } catch (err) {
        say(out, err.message, "bad");
      } finally {
        e.submitter.disabled = false;
      }
    });
  }

  const clientRows = $("#client-rows");
  if (!clientRows) return;
  document.addEventListener("submit", async (e) => {
    const form = e.target;
    if (!form.matches("form.client-test")) return;
    e.preventDefault();
    const out = $(".test-out", form.closest("tr"));
    const button = $("button", form);
    say(out, "Testing…", "busy");
    button.disabled = true;
    try {
      const data = await post(form);
      say(out, `Test: ${data.text}`, data.ok ? "ok" : "bad");
    } catch (err) {
      say(out, err.message, "bad");
    } finally {
      button.disabled = false;
    }
  });

  // Health is asked again every few seconds; the last test results and the focus stay.
  async function refresh() {
    if (document.hidden) return;
    let text;
    try {
      const res = await fetch(BASE + "/ui/clients/rows", { headers: { Accept: "text/html" } });
      if (!res.ok) return;
      text = await res.text();
    } catch {
      return; // offline for a moment: the next round tries again
    }
    const kept = new Map($$("tr.client", clientRows).map((tr) => [tr.dataset.name, $(".test-out", tr)]));
    const focused = document.activeElement?.id;
    const t = document.createElement("template");
    t.innerHTML = `<table><tbody>${text}</tbody></table>`;
    const fresh = $$("tr.client", t.content);
    for (const tr of fresh) {
      const old = kept.get(tr.dataset.name);
      if (old && !old.hidden) $(".test-out", tr).replaceWith(old);
    }
    clientRows.replaceChildren(...fresh);
    if (focused) document.getElementById(focused)?.focus();
  }
  setInterval(refresh, 5000);
})();

// == Account page ===========================================================================
// A new API token is shown once: its Copy button (hidden without this script) copies it.
(() => {
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    const field = document.getElementById(button.dataset.copy);
    if (!field) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      field.select();
      let copied = false;
      if (navigator.clipboard) copied = await navigator.clipboard.writeText(field.value).then(() => true, () => false);
      button.textContent = copied ? "Copied" : "Selected: press Ctrl+C";
    });
  }
})();

// == Add page ===============================================================================
// "List formats" asks the API for the formats of the first link and shows them; picking one
// fills the Format field (an audio-only one also asks for audio only, unless already chosen).
// Without this script the button stays hidden and the fields are typed in by hand.
(() => {
  const button = document.getElementById("list-formats");
  const form = button?.closest("form");
  if (!button || !form) return;
  const out = document.getElementById("formats-out");
  const box = document.getElementById("formats");
  const body = box.querySelector("tbody");
  const field = form.elements.namedItem("format");
  const audio = form.elements.namedItem("audio_format");
  let audioSetHere = false;
  button.closest(".list-formats").hidden = false;

  function say(text, state) {
    out.hidden = false;
    out.textContent = text;
    out.classList.remove("ok", "bad", "busy");
    if (state) out.classList.add(state);
  }
  function bytes(n) {
    if (n === null || n === undefined) return "";
    for (const unit of ["B", "KB", "MB", "GB", "TB"]) {
      if (n < 1000 || unit === "TB") return unit === "B" ? `${n} B` : `${n.toFixed(1)} ${unit}`;
      n /= 1000;
    }
    return "";
  }
  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    row.append(td);
    return td;
  }
  function pick(f, row) {
    field.value = f.id;
    for (const tr of body.querySelectorAll("tr.picked")) tr.classList.remove("picked");
    row.classList.add("picked");
    if (f.kind === "audio" && !audio.value) {
      audio.value = "best";
      audioSetHere = true;
    } else if (f.kind !== "audio" && audioSetHere) {
      audio.value = "";
      audioSetHere = false;
    }
  }
  function show(page) {
    const title = box.querySelector(".formats-title");
    const length = page.duration ? ` (${Math.round(page.duration)} s)` : "";
    title.textContent = `${page.title || page.url}${length}: ${page.formats.length} formats`;
    body.replaceChildren();
    for (const f of page.formats) {
      const row = document.createElement("tr");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "format-pick";
      radio.value = f.id;
      radio.setAttribute("aria-label", `Pick format ${f.id}`);
      radio.checked = field.value === f.id;
      radio.addEventListener("change", () => pick(f, row));
      cell(row, "").append(radio);
      cell(row, f.id);
      cell(row, f.ext);
      cell(row, f.kind === "unknown" ? "" : f.kind);
      cell(row, f.resolution || (f.width && f.height ? `${f.width}x${f.height}` : ""));
      cell(row, f.fps);
      cell(row, [f.vcodec, f.acodec].filter((c) => c && c !== "none").join(" + "));
      cell(row, f.filesize != null ? bytes(f.filesize) : f.filesize_approx != null ? `~${bytes(f.filesize_approx)}` : "");
      cell(row, f.tbr != null ? `${Math.round(f.tbr)}k` : "");
      cell(row, [f.format_note, f.protocol].filter(Boolean).join(", "));
      if (radio.checked) row.classList.add("picked");
      body.append(row);
    }
    box.hidden = false;
  }
  button.addEventListener("click", async () => {
    const url = (form.elements.namedItem("urls").value.split("\n").map((l) => l.trim()).filter(Boolean))[0];
    if (!url) {
      say("Paste a link first: its formats are listed.", "bad");
      return;
    }
    say("Asking the page for its formats…", "busy");
    button.disabled = true;
    try {
      const res = await fetch(`${API}/formats?url=${encodeURIComponent(url)}`, { headers: { Accept: "application/json" } });
      const data = await res.json().catch(() => null);
      if (!res.ok) throw new Error((data && data.detail) || `The server answered ${res.status}.`);
      show(data);
      say("Pick one below; it fills the Format field.", "ok");
    } catch (err) {
      box.hidden = true;
      say(err.message, "bad");
    } finally {
      button.disabled = false;
    }
  });
})();

// == Subscriptions pages ====================================================================
// What a check finds shows without a reload: when one of the subscriptions shown is added,
// changed, removed or checked (by a worker too), or a download of its entries changes state,
// the page is read again and its parts that are no forms are swapped in; what is typed in a
// form stays as it is.
(() => {
  const parts = $$("[data-redraw]");
  if (!parts.length) return;
  const only = $("[data-subscription]")?.dataset.subscription; // one subscription's page
  const path = parts[0].dataset.redraw;
  let running = null;
  let again = false;

  async function redraw() {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        const res = await fetch(path, { headers: { Accept: "text/html" } });
        if (!res.ok) return; // removed meanwhile, or logged out: left as it is
        const page = new DOMParser().parseFromString(await res.text(), "text/html");
        for (const id of ["subs-live", "subscription-live", "entries-live"]) {
          const old = document.getElementById(id);
          const fresh = page.getElementById(id);
          if (!old || !fresh) continue;
          old.replaceWith(document.adoptNode(fresh));
          localTimes(fresh);
        }
      } catch {
        /* offline for a moment: the next event tries again */
      }
    })();
    await running;
    running = null;
    if (again) {
      again = false;
      redraw();
    }
  }
  function shownDownloads() {
    return new Set($$('#entries a[href*="/downloads/"]').map((a) => a.getAttribute("href").split("/").pop()));
  }
  const source = new EventSource(`${API}/events`);
  source.addEventListener("subscription", (e) => {
    try {
      const data = JSON.parse(e.data);
      if (!only) redraw();
      // One subscription's page: its removal leaves the page as it is (nothing to read again).
      else if (String(data.subscription?.id) === only && data.action !== "removed") redraw();
    } catch (err) {
      console.warn("haul: bad event", err);
    }
  });
  source.addEventListener("status", (e) => {
    if (!only) return;
    try {
      const item = JSON.parse(e.data).download;
      if (item && shownDownloads().has(String(item.id))) redraw();
    } catch (err) {
      console.warn("haul: bad event", err);
    }
  });
  // Events are not replayed: what changed between reading the page and joining the stream,
  // or while away, is read again.
  source.addEventListener("hello", () => redraw());
  window.addEventListener("pagehide", () => source.close());
})();
