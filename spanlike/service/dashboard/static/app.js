// spanlike desk dashboard: plain JavaScript over the service's JSON API (no framework, no third-party code).
// Amounts are USD unless a currency is named; scenario amounts are losses (positive = the book loses).
"use strict";

const $ = (id) => document.getElementById(id);
const S = { key: "", sets: [], inForce: null, instruments: new Map(), source: "account", book: null,
            detail: null, hm: 0, seq: 0, ticketSeq: 0, timer: null, role: null };

// ------------------------------------------------------------------ formatting
const nf = (d) => new Intl.NumberFormat("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const usd = (x) => (x === null || x === undefined ? "–" : nf(2).format(x));
const signed = (x) => (x > 0 ? "+" : "") + usd(x);
function coin(x, ccy) {
  if (ccy === "USD" || ccy === "USDC") return nf(Math.abs(x) >= 100 ? 0 : 2).format(x);
  return nf(Math.abs(x) >= 100 ? 1 : Math.abs(x) >= 1 ? 3 : 4).format(x);
}
const qtyFmt = (x) => new Intl.NumberFormat("en-US", { maximumFractionDigits: 8 }).format(x);
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
const num = (v, text, attrs = "") => `<td class="num"${attrs} data-value="${v === null || v === undefined ? "" : v}">${text}</td>`;

// ------------------------------------------------------------------ API
class ApiFailure extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status; this.type = e.type || "HTTPError"; this.field = e.field || null;
  }
}
async function api(method, path, body, signal) {
  const headers = { Accept: "application/json" };
  if (S.key) headers.Authorization = "Bearer " + S.key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  let data = null;
  try { data = await r.json(); } catch (_) { data = null; }
  if (!r.ok) throw new ApiFailure(r.status, data);
  return data;
}

// ------------------------------------------------------------------ errors: the service's message, the field highlighted
const FIELD_IDS = { file: "file", rows: "paste", parameter_set: "set", account: "account", balances: "balances" };
// Some service errors (the account what-if's) carry the field only as the message's prefix: "orders[0].instrument: ...".
function fieldFromMessage(message) {
  const m = /^((?:orders|positions)\[\d+\])(\.\w+)?/.exec(message || "");
  if (!m) return null;
  if (m[2]) return m[1] + m[2];
  return m[1] + (/\bunit\b/i.test(message) ? ".unit" : ".quantity");
}
function fieldElement(field, area, message) {
  field = field || fieldFromMessage(message);
  if (!field) return null;
  if (FIELD_IDS[field]) return $(FIELD_IDS[field]);
  if (/^orders\[\d+\]\.instrument/.test(field)) return $("ins");
  if (/^orders\[\d+\]\.unit/.test(field)) return $("unit");
  if (/^orders\[\d+\]/.test(field)) return $("qty");
  if (/^positions/.test(field)) return S.source === "paste" ? $("paste") : S.source === "file" ? $("file") : $("account");
  return area === "ticket" ? $("qty") : null;
}
function clearError(area) {
  const box = $(area + "-error");
  box.hidden = true; box.textContent = "";
  document.querySelectorAll(`[data-err-area="${area}"]`).forEach((el) => {
    el.classList.remove("invalid"); el.removeAttribute("aria-invalid"); el.removeAttribute("data-err-area");
    el.removeAttribute("aria-describedby");
  });
}
function showError(area, err, el) {
  clearError(area);
  const box = $(area + "-error");
  const target = el || fieldElement(err.field, area, err.message);
  box.innerHTML = `<strong>${esc(err.type || "Error")}${err.field ? ` in ${esc(err.field)}` : ""}</strong>` +
                  `<span class="msg">${esc(err.message)}</span>`;
  box.hidden = false;
  if (target) {
    target.classList.add("invalid"); target.setAttribute("aria-invalid", "true");
    target.setAttribute("data-err-area", area); target.setAttribute("aria-describedby", area + "-error");
  }
  if (err.status === 401) askKey(err.message);
}

// ------------------------------------------------------------------ key
function askKey(message) {
  $("key-form").hidden = false;
  $("context").textContent = message || "Paste an API key (spanlike serve --create-key read|trade).";
}
$("key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  S.key = $("api-key").value.trim();
  sessionStorage.setItem("spanlike-key", S.key);
  start();
});

// ------------------------------------------------------------------ reference data
async function start() {
  try {
    const [sets, ins, accs] = await Promise.all([api("GET", "/v1/parameter-sets"), api("GET", "/v1/instruments"),
                                                 api("GET", "/v1/accounts?limit=1000")]);
    $("key-form").hidden = true;
    S.sets = sets.parameter_sets; S.inForce = sets.in_force;
    $("context").textContent = `service: ${sets.parameter_set} in force · market version ${sets.market_version}` +
                               ` · valuation ${sets.valuation_time.replace("T", " ").replace("+00:00", " UTC")}`;
    $("set").innerHTML = S.sets.map((s) => `<option value="${esc(s.name)}"${s.in_force ? " selected" : ""}>` +
                                     `${esc(s.name)} ${esc(s.version)}${s.in_force ? " (in force)" : ""}</option>`).join("");
    S.instruments = new Map(ins.instruments.map((i) => [i.instrument, i]));
    $("instrument-list").innerHTML = ins.instruments.map((i) => `<option value="${esc(i.instrument)}">` +
      `${esc(i.kind)} · ${esc(i.settlement_currency)}-settled</option>`).join("");
    $("account").innerHTML = accs.accounts.map((a) => `<option value="${esc(a.account)}">${esc(a.account)} · ` +
      `${esc(a.positions)} positions · ${esc(a.status)}</option>`).join("");
    if (!accs.accounts.length) {
      $("account").innerHTML = `<option value="">no stored accounts: upload or paste a book</option>`;
      setSource("paste");
    }
    showSetInfo();
    await loadBook();
  } catch (err) {
    if (err.status === 401) askKey(err.message); else showError("book", err);
  }
}

function showSetInfo() {
  const s = S.sets.find((x) => x.name === $("set").value);
  if (!s) return;
  const grids = [...new Set(s.commodities.map((c) => (c.grid === "span16" ? "SPAN 16 scenarios" : "exchange grid")))];
  $("set-info").textContent = `${s.label}, as of ${s.as_of} · ${grids.join(", ")} · IM = ${s.im_factor} × requirement, ` +
                              `MM = ${s.mm_factor} × requirement. ${s.description}`;
}

// ------------------------------------------------------------------ the book
function setSource(src) {
  S.source = src;
  document.querySelectorAll("input[name=source]").forEach((r) => { r.checked = r.value === src; });
  document.querySelectorAll(".src").forEach((el) => { el.hidden = !el.classList.contains("src-" + src); });
}
function parseBalances() {
  const text = $("balances").value.trim();
  if (!text) return null;
  const out = {};
  for (const part of text.split(/[,;]\s*|\s+(?=[A-Za-z])/)) {
    if (!part.trim()) continue;
    const m = part.trim().match(/^([A-Za-z]{2,10})\s*[=:]\s*(-?[\d_.,]+(?:e[+-]?\d+)?)$/i);
    const v = m ? Number(m[2].replace(/[_,]/g, "")) : NaN;
    if (!m || !Number.isFinite(v)) {
      const e = new ApiFailure(422, { error: { type: "ValidationError", field: "balances",
        message: `'balances' must read CURRENCY=amount, separated by commas (e.g. USDC=250000, BTC=2). Got '${part.trim()}'.` } });
      throw e;
    }
    out[m[1].toUpperCase()] = v;
  }
  return out;
}
function bookBody() {
  if (S.source === "account") return { account: $("account").value };
  if (!S.book) return null;
  const body = { positions: S.book };
  const bal = parseBalances();
  if (bal) body.balances = bal;
  return body;
}
async function parseFile(filename, content, area) {
  const out = await api("POST", "/v1/books/parse", { filename, content });
  S.book = out.positions;
  return out;
}

async function loadBook() {
  const seq = ++S.seq;
  clearError("book");
  let body;
  try { body = bookBody(); } catch (err) { showError("book", err); return; }
  if (!body || (body.account !== undefined && !body.account)) return;
  const set = $("set").value;
  document.querySelector(".content").classList.add("pending");
  try {
    const d = await api("POST", "/v1/margin/detail", { ...body, parameter_set: set });
    if (seq !== S.seq) return;
    S.detail = d; S.hm = Math.min(S.hm, Math.max(0, d.heatmaps.length - 1));
    renderDetail(d);
    scheduleTicket(0);
    const sets = await api("POST", "/v1/margin/sets", body);
    if (seq === S.seq) renderSets(sets.sets, set);
  } catch (err) {
    if (seq === S.seq) showError("book", err);
  } finally {
    if (seq === S.seq) document.querySelector(".content").classList.remove("pending");
  }
}

// ------------------------------------------------------------------ rendering
function renderDetail(d) {
  const s = d.summary;
  const st = s.status ? `<span class="status-${s.status.replace(" ", "-")}">${esc(s.status)}</span>` : "–";
  $("sum-sub").textContent = `${d.account} · ${d.positions} positions · ${d.parameter_set} (version ${d.parameter_set_version})`;
  $("summary").innerHTML =
    `<div><dt>Initial margin (IM)</dt><dd id="im-value" data-usd="${s.initial_margin_usd}">${usd(s.initial_margin_usd)} <small>USD</small></dd></div>` +
    `<div><dt>Maintenance margin (MM)</dt><dd id="mm-value" data-usd="${s.maintenance_margin_usd}">${usd(s.maintenance_margin_usd)} <small>USD</small></dd></div>` +
    `<div><dt>Equity</dt><dd id="equity-value">${usd(s.equity_usd)} <small>USD</small></dd></div>` +
    `<div><dt>Excess over IM</dt><dd>${usd(s.excess_usd)} <small>USD</small></dd></div>` +
    `<div><dt>Status</dt><dd>${st}</dd></div>`;
  $("units").textContent = `Account amounts in USD. Sum of commodity requirements ${usd(s.sum_of_requirements_usd)} USD − ` +
    `correlation offset ${usd(s.correlation_offset_usd)} USD` +
    (s.cross_offsets_from === "delta_one" ? " (credits and offset read from futures and perpetuals only)" : "") +
    (s.joint_move_addon_usd ? ` + joint-move add-on ${usd(s.joint_move_addon_usd)} USD` : "") +
    ` = requirement ${usd(s.requirement_usd)} USD. Components below are in each commodity's settlement currency.` +
    (d.notes.length ? " Notes: " + d.notes.join(" ") : "");
  renderHeatmap();
  renderComponents(d);
  renderContributions(d);
  renderEfficiency(d.efficiency);
}

function renderHeatmap() {
  const d = S.detail;
  if (!d.heatmaps.length) {
    $("hm-tabs").innerHTML = ""; $("heatmap").innerHTML = "<p class='hint'>The book is empty.</p>"; $("hm-legend").textContent = "";
    return;
  }
  $("hm-tabs").innerHTML = d.heatmaps.map((h, i) => `<button type="button" class="tab" aria-pressed="${i === S.hm}" data-i="${i}">` +
    `${esc(h.commodity)}${h.currency !== h.commodity ? ` <span class="sub">${esc(h.currency)}</span>` : ""}</button>`).join("");
  const h = d.heatmaps[S.hm];
  $("hm-legend").textContent = `${h.commodity}, ${h.grid}. Each cell is the book's LOSS in ${h.currency} ` +
    `(positive = the book loses, red; negative = it gains, blue). Outlined: the worst scenario, ` +
    `#${h.worst.scenario} ${h.worst.label}: ${coin(h.worst.loss, h.currency)} ${h.currency} = ${usd(h.worst.loss_usd)} USD.`;
  $("heatmap").innerHTML = h.svg;
  $("hm-detail").textContent = "Hover or focus a cell to read its loss in coin and USD.";
}
function cellDetail(ev) {
  const g = ev.target.closest && ev.target.closest(".hm-cell");
  if (!g) return;
  const ccy = g.dataset.currency;
  $("hm-detail").textContent = `Scenario ${g.dataset.scenario}: ${g.dataset.label} → loss ` +
    `${coin(Number(g.dataset.loss), ccy)} ${ccy} = ${usd(Number(g.dataset.lossUsd))} USD`;
}
$("heatmap").addEventListener("mouseover", cellDetail);
$("heatmap").addEventListener("focusin", cellDetail);
$("hm-tabs").addEventListener("click", (ev) => {
  const b = ev.target.closest("button"); if (!b) return;
  S.hm = Number(b.dataset.i); renderHeatmap();
  const again = $("hm-tabs").querySelector(`button[data-i="${S.hm}"]`); if (again) again.focus();
});

function renderComponents(d) {
  let rows = "";
  for (const c of d.commodities) {
    rows += `<tr class="group"><td>${esc(c.name)} <span class="sub">${esc(c.method)}, ${esc(c.currency)}</span></td>` +
      num(c.initial_margin, coin(c.initial_margin, c.currency)) + num(c.initial_margin_usd, usd(c.initial_margin_usd)) + `</tr>`;
    for (const k of c.components) {
      rows += `<tr><td>${esc(k.label)}${k.component === "short_option_minimum" && c.short_option_minimum_binding ? " (binding)" : ""}</td>` +
        num(k.amount, coin(k.amount, c.currency)) + num(k.amount_usd, usd(k.amount_usd)) + `</tr>`;
    }
    rows += `<tr><td>worst scenario #${c.worst_scenario.scenario}: ${esc(c.worst_scenario.label)}</td>` +
      num(c.worst_scenario.loss, coin(c.worst_scenario.loss, c.currency)) + num(c.worst_scenario.loss * c.usd_per_unit, usd(c.worst_scenario.loss * c.usd_per_unit)) + `</tr>`;
    rows += `<tr><td>maintenance margin</td>` + num(c.maintenance_margin, coin(c.maintenance_margin, c.currency)) +
      num(c.maintenance_margin_usd, usd(c.maintenance_margin_usd)) + `</tr>`;
  }
  $("components").innerHTML = `<div class="table-wrap"><table><thead><tr><th>component</th><th class="num">settlement ccy</th><th class="num">USD</th></tr></thead>` +
    `<tbody>${rows}</tbody></table></div><p class="hint">First line of each commodity: its initial margin.</p>`;
}

function renderContributions(d) {
  const rows = d.contributions.map((p) => `<tr><td>${esc(p.instrument)}</td>` + num(p.quantity, qtyFmt(p.quantity)) +
    num(p.worst_scenario_loss, `${coin(p.worst_scenario_loss, p.currency)} <span class="sub">${esc(p.currency)}</span>`) +
    num(p.worst_scenario_loss_usd, usd(p.worst_scenario_loss_usd)) +
    num(p.incremental_im_usd, p.incremental_im_usd === null ? "–" : signed(p.incremental_im_usd) + (p.is_hedge ? " <span class='sub'>hedge</span>" : "")) +
    `</tr>`).join("");
  $("contributions").innerHTML = `<div class="table-wrap"><table><thead><tr><th>instrument</th><th class="num">qty (contracts)</th>` +
    `<th class="num">worst-scenario loss</th><th class="num">USD</th><th class="num">incremental IM, USD</th></tr></thead>` +
    `<tbody>${rows}</tbody></table></div><p class="hint">Loss-positive share of each commodity's worst scenario; ` +
    `incremental IM = book IM with the position minus without it (negative: a hedge).</p>`;
}

function renderEfficiency(e) {
  if (!e.available) { $("waterfall").innerHTML = ""; $("levels").innerHTML = `<p class="hint">${esc(e.message)}</p>`; return; }
  $("waterfall").innerHTML = e.waterfall_svg;
  const pct = (x) => (x === null ? "–" : nf(1).format(x) + " %");
  $("levels").innerHTML = `<div class="table-wrap"><table><thead><tr><th>level</th><th class="num">IM, USD</th><th class="num">MM, USD</th>` +
    `<th class="num">IM saved vs isolated</th><th class="num">%</th></tr></thead><tbody>` +
    e.levels.map((l) => `<tr><td>${esc(l.name)} <span class="sub">${esc(l.description)}</span></td>` + num(l.initial_margin_usd, usd(l.initial_margin_usd)) +
      num(l.maintenance_margin_usd, usd(l.maintenance_margin_usd)) + num(l.savings_im_usd, usd(l.savings_im_usd)) + num(l.savings_im_pct, pct(l.savings_im_pct)) + `</tr>`).join("") +
    `</tbody></table></div>` + (e.marginal_note ? `<p class="hint">${esc(e.marginal_note)}</p>` : "");
}

function renderSets(sets, current) {
  const max = Math.max(...sets.map((s) => s.initial_margin_usd || 0), 1);
  $("sets").innerHTML = `<div class="table-wrap"><table><thead><tr><th>parameter set</th><th class="num">IM, USD</th><th class="num">MM, USD</th><th>relative IM</th></tr></thead><tbody>` +
    sets.map((s) => `<tr class="${s.cheapest ? "cheapest" : ""}" data-set="${esc(s.name)}"><td>${esc(s.label)}${s.name === current ? " <span class='sub'>(shown above)</span>" : ""}` +
      `${s.cheapest ? " <span class='sub'>cheapest</span>" : ""}<br><span class="sub">${esc(s.description)}</span></td>` +
      (s.error ? `<td colspan="3" class="error">${esc(s.error)}</td>` :
        num(s.initial_margin_usd, usd(s.initial_margin_usd)) + num(s.maintenance_margin_usd, usd(s.maintenance_margin_usd)) +
        `<td><span class="bar" data-w="${(s.initial_margin_usd / max) * 100}"></span></td>`) + `</tr>`).join("") + `</tbody></table></div>`;
  $("sets").querySelectorAll(".bar").forEach((b) => { b.style.width = (Number(b.dataset.w) * 1.6).toFixed(1) + "px"; });
}

// ------------------------------------------------------------------ order ticket (debounced what-if)
function scheduleTicket(delay = 300) {
  clearTimeout(S.timer);
  S.timer = setTimeout(runTicket, delay);
}
async function runTicket() {
  const seq = ++S.ticketSeq;
  const instrument = $("ins").value.trim(), qtyText = $("qty").value.trim().replace(/[_,\s]/g, "");
  clearError("ticket");
  if (!instrument || !qtyText) { $("ticket-out").innerHTML = ""; return; }
  const quantity = Number(qtyText);
  if (!Number.isFinite(quantity) || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(qtyText)) {
    showError("ticket", { type: "ValidationError", field: "orders[0].quantity",
      message: `'quantity' must be a number (positive buys, negative sells), e.g. -2.5. Got '${$("qty").value}'.` });
    $("ticket-out").innerHTML = ""; return;
  }
  let body;
  try { body = bookBody(); } catch (err) { showError("book", err); return; }
  if (!body) return;
  const order = { instrument, quantity, unit: $("unit").value };
  const set = $("set").value;
  const viaAccount = body.account !== undefined && set === S.inForce;
  $("ticket-out").classList.add("pending");
  try {
    const r = viaAccount ? await api("POST", `/v1/accounts/${encodeURIComponent(body.account)}/what-if`, { orders: [order] })
                         : await api("POST", "/v1/margin/what-if", { ...body, parameter_set: set, orders: [order] });
    if (seq !== S.ticketSeq) return;
    renderTicket(r, viaAccount);
  } catch (err) {
    if (seq === S.ticketSeq) { showError("ticket", err); $("ticket-out").innerHTML = ""; }
  } finally {
    if (seq === S.ticketSeq) $("ticket-out").classList.remove("pending");
  }
}
function renderTicket(r, viaAccount) {
  const verdict = r.accept === null ? "" : `<div id="decision" class="decision ${r.accept ? "accept" : "reject"}">` +
    `${r.accept ? "ACCEPT" : "REJECT"}<span class="why">${esc(r.reason)}</span></div>`;
  $("ticket-out").innerHTML = `<dl>` +
    `<dt>Incremental IM</dt><dd id="inc-im" data-usd="${r.incremental_initial_margin_usd}">${signed(r.incremental_initial_margin_usd)} USD</dd>` +
    `<dt>Incremental MM</dt><dd id="inc-mm" data-usd="${r.incremental_maintenance_margin_usd}">${signed(r.incremental_maintenance_margin_usd)} USD</dd>` +
    `<dt>IM before → after</dt><dd>${usd(r.initial_margin_before_usd)} → ${usd(r.initial_margin_after_usd)}</dd>` +
    `<dt>Equity</dt><dd>${usd(r.equity_usd)} USD</dd></dl>` + verdict +
    `<p class="hint">${viaAccount ? "Pre-trade check of the stored account (POST /v1/accounts/…/what-if)." :
                                     "Checked under " + esc(r.parameter_set) + " (nothing stored)."}</p>`;
}

// ------------------------------------------------------------------ wiring
document.querySelectorAll("input[name=source]").forEach((r) => r.addEventListener("change", () => {
  setSource(r.value); S.book = null;
  if (r.value === "account") loadBook();
}));
$("account").addEventListener("change", loadBook);
$("set").addEventListener("change", () => { showSetInfo(); loadBook(); });
$("balances").addEventListener("change", () => { if (S.book) loadBook(); });
$("file").addEventListener("change", async () => {
  const f = $("file").files[0];
  if (!f) return;
  clearError("book");
  try {
    const text = await f.text();
    await parseFile(f.name, text, "book");
    await loadBook();
  } catch (err) { S.book = null; showError("book", err, err.field ? null : $("file")); }
});
$("paste-go").addEventListener("click", async () => {
  clearError("book");
  try { await parseFile("pasted rows", $("paste").value, "book"); await loadBook(); }
  catch (err) { S.book = null; showError("book", err, err.field ? null : $("paste")); }
});
$("ins").addEventListener("input", () => {
  const i = S.instruments.get($("ins").value.trim());
  if (i) {
    $("unit").querySelectorAll("option").forEach((o) => { o.disabled = !i.units.includes(o.value); });
    if (i.instrument !== S.lastInstrument || !i.units.includes($("unit").value)) $("unit").value = i.default_unit;
    S.lastInstrument = i.instrument;
  }
  scheduleTicket();
});
$("qty").addEventListener("input", () => scheduleTicket());
$("unit").addEventListener("change", () => scheduleTicket());

S.key = document.querySelector('meta[name="spanlike-demo-key"]').content || sessionStorage.getItem("spanlike-key") || "";
start();
