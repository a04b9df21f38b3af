// The eventpay console: a small single-page app over /console/api/ and the public API. Every
// page has its own URL (history API); live figures arrive as server-sent events.
"use strict";
(function () {
  const main = document.getElementById("main");
  const liveEl = document.getElementById("live");
  let overview = null;
  let figures = null;
  let onFigures = null; // the current page's live hook
  let pageToken = 0; // bumps on navigation, so late answers of a left page are dropped

  // ---------- helpers ----------
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const badge = (s) => `<span class="badge s-${esc(s)}" data-status="${esc(s)}">${esc(s)}</span>`;
  const fmtTime = (t) => (t ? esc(String(t).replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace("+00:00", "Z")) : "");
  const pretty = (text) => { try { return JSON.stringify(typeof text === "string" ? JSON.parse(text) : text, null, 2); } catch (_) { return String(text); } };

  async function api(path, opts) {
    const res = await fetch(path, Object.assign({ headers: { "Accept": "application/json" } }, opts || {}));
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = { error: { code: "not_json", message: text } }; }
    if (!res.ok) {
      const e = new Error((body && body.error && body.error.message) || res.statusText);
      e.code = body && body.error && body.error.code; e.status = res.status;
      throw e;
    }
    return body;
  }
  const post = (path, body) => api(path, { method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" }, body: JSON.stringify(body || {}) });

  function setTitle(t) { document.title = t + " · eventpay console"; }
  function errorBox(e) { return `<p class="error" role="alert">${esc(e.message || e)}</p>`; }

  // ---------- router ----------
  const routes = [
    [/^\/console\/?$/, flowPage],
    [/^\/console\/flow$/, flowPage],
    [/^\/console\/payments$/, paymentsPage],
    [/^\/console\/payments\/([^/]+)$/, paymentPage],
    [/^\/console\/executions$/, executionsPage],
    [/^\/console\/executions\/([^/]+)$/, executionPage],
    [/^\/console\/queues$/, queuesPage],
    [/^\/console\/rules$/, rulesPage],
    [/^\/console\/log$/, logPage],
    [/^\/console\/ledger$/, ledgerPage],
    [/^\/console\/ledger\/([^/]+)$/, ledgerPage],
  ];

  function navigate(url, replace) {
    if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
    render();
  }

  async function render() {
    const token = ++pageToken;
    onFigures = null;
    const path = location.pathname;
    const params = new URLSearchParams(location.search);
    document.querySelectorAll("[data-nav]").forEach((a) => {
      const section = path.split("/")[2] || "flow";
      if (a.dataset.nav === section) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    for (const [re, page] of routes) {
      const m = path.match(re);
      if (m) {
        try { await page({ token, params, arg: m[1] && decodeURIComponent(m[1]) }); }
        catch (e) { if (token === pageToken) main.innerHTML = errorBox(e); }
        return;
      }
    }
    main.innerHTML = "<h1>Not found</h1><p><a href='/console/flow'>Back to the flow</a></p>";
  }
  const current = (token) => token === pageToken;

  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("a");
    if (!a || a.target || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith("/console")) return;
    if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
    ev.preventDefault();
    navigate(url.pathname + url.search + url.hash);
    if (url.hash) setTimeout(() => { const t = document.getElementById(url.hash.slice(1)); if (t) t.scrollIntoView(); }, 50);
    main.focus({ preventScroll: true });
  });
  window.addEventListener("popstate", render);

  // ---------- live figures ----------
  function connectLive() {
    const es = new EventSource("/console/api/live");
    es.addEventListener("figures", (ev) => {
      try { figures = JSON.parse(ev.data); } catch (_) { return; }
      liveEl.textContent = "live · " + new Date(figures.at).toLocaleTimeString();
      liveEl.classList.remove("down");
      liveEl.dataset.at = figures.at;
      if (onFigures) onFigures(figures);
    });
    es.onerror = () => { liveEl.textContent = "reconnecting…"; liveEl.classList.add("down"); };
  }

  // ---------- flow ----------
  function fig(label, key) { return `<span>${esc(label)}</span><span class="fig" data-fig="${esc(key)}">–</span>`; }
  function stage(title, figs, cls, link) {
    const h = link ? `<a href="${link}">${esc(title)}</a>` : esc(title);
    return `<section class="stage ${cls || ""}" data-stage="${esc(title)}"><h3>${h}</h3><div class="figs">${figs.join("")}</div></section>`;
  }
  function get(obj, path) { return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj); }

  async function flowPage({ token }) {
    setTitle("Flow");
    overview = overview || (await api("/console/api/overview"));
    if (!current(token)) return;
    const rules = overview.rules.map((r) => stage("rule " + r.name, [fig("events/s", "rates.rules." + r.name), fig("matched", "counters.rules." + r.name), `<span>target</span><span>${esc(r.target)}</span>`], "rule", "/console/rules#rule-" + encodeURIComponent(r.name)));
    main.innerHTML = `
      <h1>Flow</h1>
      <p class="muted">What <code>eventpay up</code> runs, drawn from its configuration; figures update live (averaged over 5 s).</p>
      <div class="flow" data-testid="flow">
        ${stage("API", [fig("requests/s", "rates.requests"), fig("requests", "counters.requests")], "", "/console/payments")}
        ${stage("payments table", [fig("writes/s", "rates.writes"), fig("settled/s", "rates.settled"), fig("rejected/s", "rates.rejected"), fig("failed/s", "rates.failed")], "", "/console/payments")}
        ${stage("change stream", [fig("records waiting", "stream_waiting"), fig("forwarded/s", "rates.forwarded")], "", null)}
        ${stage("queue " + overview.queue, [fig("depth", "queue.depth"), fig("in flight", "queue.in_flight"), fig("received/s", "rates.received")], "", "/console/queues")}
        ${stage("dead-letter queue", [fig("depth", "queue.dead_letter_depth"), `<span>after receives</span><span>${esc(overview.max_receive_count)}</span>`], "dlq", "/console/queues")}
        ${stage("event bus", [fig("events/s", "rates.events"), fig("events", "counters.events")], "", "/console/rules")}
        ${rules.join("")}
        ${stage("workflow " + overview.state_machine, [fig("running", "executions_running"), fig("succeeded", "executions.SUCCEEDED"), fig("failed", "executions.FAILED")], "", "/console/executions")}
        ${stage("ledger", [fig("settled/s", "rates.settled"), fig("settled (since start)", "counters.settled")], "", "/console/payments?status=SETTLED")}
      </div>
      <div class="grid2">
        <section class="panel"><h2>Settlement state machine</h2><div class="graph" data-testid="flow-graph">${AslGraph.render(overview.definition, [])}</div></section>
        <section class="panel"><h2>Live configuration</h2>
          <dl class="kv"><dt>data dir</dt><dd class="mono">${esc(overview.data_dir)}</dd><dt>durability</dt><dd>${esc(overview.durability)}</dd>
          <dt>spec reload</dt><dd data-testid="spec-reload">${overview.spec && overview.spec.watching ? `watching; ${esc(overview.spec.generation)} reload(s) applied` : "off (start with --watch)"}</dd>
          <dt>state machine version</dt><dd class="mono" data-testid="state-machine-version">${esc(overview.spec ? overview.spec.state_machine_version : "")}</dd>
          ${overview.spec && overview.spec.error ? `<dt>refused edit</dt><dd class="mono error" data-testid="spec-error">${esc(overview.spec.error)}</dd>` : ""}</dl>
          <h2>Spec files</h2><div class="table-wrap"><table data-testid="spec-files"><thead><tr><th>file</th><th>sha-256</th><th class="num">bytes</th></tr></thead><tbody>
          ${overview.spec_files.map((f) => `<tr><td class="mono">${esc(f.file)}</td><td class="mono">${esc(f.sha256)}</td><td class="num">${esc(f.bytes)}</td></tr>`).join("")}
          </tbody></table></div></section>
      </div>`;
    const paint = (f) => {
      document.querySelectorAll("[data-fig]").forEach((el) => {
        const v = get(f, el.dataset.fig);
        el.textContent = v == null ? "0" : String(v);
      });
    };
    onFigures = paint;
    if (figures) paint(figures);
  }

  // ---------- payments ----------
  const PAYMENT_STATUSES = ["", "PENDING", "PROCESSING", "SETTLED", "REJECTED", "FAILED"];

  async function paymentsPage({ token, params }) {
    setTitle("Payments");
    const status = params.get("status") || "", q = params.get("q") || "", before = params.get("before") || "";
    const prev = params.get("prev") || ""; // cursors of the pages before, for "Newer"
    main.innerHTML = `
      <h1>Payments</h1>
      <form class="controls" id="pf" role="search">
        <label>Status <select name="status" data-testid="status-filter">${PAYMENT_STATUSES.map((s) => `<option value="${s}" ${s === status ? "selected" : ""}>${s || "any"}</option>`).join("")}</select></label>
        <label>Search (id, reference or account prefix) <input name="q" value="${esc(q)}" size="34" data-testid="search" autocomplete="off"></label>
        <button type="submit">Search</button>
      </form>
      <div class="panel table-wrap" id="plist" aria-live="polite"></div>`;
    document.getElementById("pf").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = new FormData(ev.target);
      const u = new URLSearchParams();
      if (f.get("status")) u.set("status", f.get("status"));
      if (f.get("q")) u.set("q", f.get("q"));
      navigate("/console/payments" + (u.toString() ? "?" + u : ""));
    });
    document.querySelector("[data-testid=status-filter]").addEventListener("change", () => document.getElementById("pf").requestSubmit());
    const load = async () => {
      const u = new URLSearchParams();
      if (status) u.set("status", status);
      if (q) u.set("q", q);
      if (before) u.set("before", before);
      if (params.get("limit")) u.set("limit", params.get("limit"));
      const page = await api("/console/api/payments?" + u);
      if (!current(token)) return;
      const rows = page.items.map((p) => `<tr data-payment="${esc(p.payment_id)}">
        <td><a class="mono" href="/console/payments/${encodeURIComponent(p.payment_id)}">${esc(p.payment_id)}</a></td>
        <td>${badge(p.status)}</td><td class="num">${esc(p.amount)} ${esc(p.source_currency)}</td>
        <td class="num">${esc(p.target_amount)} ${esc(p.target_currency)}</td><td class="mono">${esc(p.sender)}</td>
        <td class="mono">${esc(p.beneficiary)}</td><td>${esc(p.reference)}</td><td class="muted">${fmtTime(p.created_at)}</td></tr>`).join("");
      const base = new URLSearchParams(); if (status) base.set("status", status); if (q) base.set("q", q); if (params.get("limit")) base.set("limit", params.get("limit"));
      const older = new URLSearchParams(base); if (page.next_before) { older.set("before", page.next_before); older.set("prev", (prev ? prev + "," : "") + (before || "0")); }
      const stack = prev ? prev.split(",") : [];
      const newer = new URLSearchParams(base); const up = stack.pop();
      if (up && up !== "0") newer.set("before", up); if (stack.length) newer.set("prev", stack.join(","));
      document.getElementById("plist").innerHTML = `<table data-testid="payments-table"><thead><tr><th>payment</th><th>status</th><th class="num">amount</th><th class="num">target</th><th>sender</th><th>beneficiary</th><th>reference</th><th>created</th></tr></thead>
        <tbody>${rows || `<tr><td colspan="8" class="muted">No payments${q || status ? " match" : " yet"}.</td></tr>`}</tbody></table>
        <div class="pager">${before ? `<a href="/console/payments?${newer}" data-testid="newer">← Newer</a>` : ""}
        ${page.next_before ? `<a href="/console/payments?${older}" data-testid="older">Older →</a>` : ""}
        <span class="muted">${page.items.length} shown, newest first</span></div>`;
    };
    await load();
    // The first page follows new payments and status changes without a reload.
    if (!before) { let busy = false; onFigures = async () => { if (busy) return; busy = true; try { await load(); } finally { busy = false; } }; }
  }

  // A T-account view of transfers: each transfer is a debit of one account and a credit of another.
  function ledgerTable(transfers) {
    const entries = transfers.flatMap((t) => [
      { account: t.debit_account, currency: t.currency, debit: t.amount, transfer: t.id },
      { account: t.credit_account, currency: t.currency, credit: t.amount, transfer: t.id },
    ]);
    const byCur = {};
    for (const e of entries) {
      const c = (byCur[e.currency] = byCur[e.currency] || { debit: 0n, credit: 0n, scale: 0, rows: [] });
      c.rows.push(e);
    }
    // Totals in exact decimal: sum integer minor units (no floating point for money).
    const units = (s) => { if (!s) return [0n, 0]; const [i, f = ""] = String(s).split("."); return [BigInt(i + f), f.length]; };
    const show = (v, scale) => { const neg = v < 0n; let s = (neg ? -v : v).toString().padStart(scale + 1, "0"); return (neg ? "-" : "") + (scale ? s.slice(0, -scale) + "." + s.slice(-scale) : s); };
    let html = `<div class="table-wrap"><table data-testid="ledger"><thead><tr><th>account</th><th>currency</th><th class="num">debit</th><th class="num">credit</th></tr></thead><tbody>`;
    for (const [cur, c] of Object.entries(byCur)) {
      let d = 0n, k = 0n, scale = 0;
      for (const e of c.rows) {
        const [dv, ds] = units(e.debit), [cv, cs] = units(e.credit); scale = Math.max(scale, ds, cs);
      }
      for (const e of c.rows) {
        const [dv, ds] = units(e.debit), [cv, cs] = units(e.credit);
        d += dv * 10n ** BigInt(scale - ds); k += cv * 10n ** BigInt(scale - cs);
        html += `<tr title="${esc(e.transfer)}"><td class="mono"><a href="/console/ledger/${encodeURIComponent(e.account)}">${esc(e.account)}</a></td><td>${esc(cur)}</td><td class="num">${esc(e.debit || "")}</td><td class="num">${esc(e.credit || "")}</td></tr>`;
      }
      html += `<tr data-testid="ledger-total-${esc(cur)}"><th>total ${esc(cur)}</th><th></th><th class="num">${show(d, scale)}</th><th class="num">${show(k, scale)}</th></tr>`;
      html += `<tr><td colspan="4" class="${d === k ? "muted" : "error"}">${d === k ? "balanced" : "NOT balanced"} in ${esc(cur)}</td></tr>`;
    }
    return html + "</tbody></table></div>";
  }

  function waterfall(tl) {
    const start = tl.start_us || 0, span = Math.max(1, (tl.end_us || start) - start);
    const rows = tl.items.map((it, i) => {
      const left = ((it.at_us - start) / span) * 100;
      const width = it.dur_ms != null ? Math.max(0.4, ((it.dur_ms * 1000) / span) * 100) : 0.4;
      const title = it.link ? `<a href="${esc(it.link)}">${esc(it.title)}</a>` : esc(it.title);
      const detail = it.detail ? `<details><summary class="muted">detail</summary><pre>${esc(JSON.stringify(it.detail, null, 2))}</pre></details>` : "";
      return `<div class="wf-row k-${esc(it.kind)}" data-kind="${esc(it.kind)}" data-index="${i}">
        <span class="t" title="${esc(it.at)}">+${((it.at_us - start) / 1000).toFixed(1)} ms</span>
        <span><span class="kind">${esc(it.kind)}</span> ${title}${detail}</span>
        <span class="wf-bar" aria-hidden="true"><i style="left:${Math.min(99.6, left).toFixed(2)}%;width:${Math.min(100 - left, width).toFixed(2)}%"></i></span>
        <span class="d">${it.dur_ms != null ? esc(it.dur_ms) + " ms" : ""}</span></div>`;
    });
    return `<div class="wf" data-testid="timeline">${rows.join("")}</div>`;
  }

  // One ledger account (GET /ledger/accounts/{account}): balances per currency, transfers newest
  // first, a page at a time; without an account, a form and the internal accounts.
  async function ledgerPage({ token, arg, params }) {
    const account = arg || "";
    setTitle(account ? "Account " + account : "Ledger");
    const internal = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "INR"].flatMap((c) => ["fx:" + c, "fees:" + c]);
    const links = internal.map((a) => `<a class="mono" href="/console/ledger/${encodeURIComponent(a)}">${esc(a)}</a>`).join(" ");
    main.innerHTML = `<h1>Ledger${account ? ` account <span class="mono" data-testid="account">${esc(account)}</span>` : ""}</h1>
      <form class="controls" id="lf" role="search"><label>Account <input name="account" value="${esc(account)}" size="34" autocomplete="off" data-testid="account-input"></label><button type="submit">Show</button></form>
      <p class="muted">Internal accounts: ${links}</p><div id="acct" aria-live="polite"></div>`;
    document.getElementById("lf").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const a = new FormData(ev.target).get("account");
      if (a) navigate("/console/ledger/" + encodeURIComponent(a));
    });
    if (!account) return;
    const cursor = params.get("cursor");
    const page = await api("/ledger/accounts/" + encodeURIComponent(account) + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""));
    if (!current(token)) return;
    const balances = page.balances.map((b) => `<tr><td>${esc(b.currency)}</td><td class="num">${esc(b.debits)}</td><td class="num">${esc(b.credits)}</td><td class="num"><b>${esc(b.balance)}</b></td><td class="num">${esc(b.transfers)}</td></tr>`).join("");
    const transfers = page.transfers.map((t) => {
      const out = t.debit_account === page.account;
      const other = out ? t.credit_account : t.debit_account;
      return `<tr><td class="muted">${fmtTime(t.posted_at)}</td><td class="mono"><a href="/console/payments/${encodeURIComponent(t.payment_id)}">${esc(t.id)}</a></td>
        <td>${out ? "to" : "from"} <a class="mono" href="/console/ledger/${encodeURIComponent(other)}">${esc(other)}</a></td>
        <td class="num">${out ? "" : esc(t.amount)}</td><td class="num">${out ? esc(t.amount) : ""}</td><td>${esc(t.currency)}</td></tr>`;
    }).join("");
    const more = page.next_cursor ? `<a href="/console/ledger/${encodeURIComponent(account)}?cursor=${encodeURIComponent(page.next_cursor)}" data-testid="older">Older →</a>` : "";
    document.getElementById("acct").innerHTML = `<section class="panel"><h2>Balances</h2><div class="table-wrap"><table data-testid="balances"><thead><tr><th>currency</th><th class="num">debits</th><th class="num">credits</th><th class="num">balance</th><th class="num">transfers</th></tr></thead>
        <tbody>${balances || `<tr><td colspan="5" class="muted">No transfers yet: balance 0.</td></tr>`}</tbody></table></div></section>
      <section class="panel"><h2>Transfers, newest first</h2><div class="table-wrap"><table data-testid="account-transfers"><thead><tr><th>posted</th><th>transfer</th><th>counterpart</th><th class="num">credit</th><th class="num">debit</th><th>currency</th></tr></thead>
        <tbody>${transfers || `<tr><td colspan="6" class="muted">None.</td></tr>`}</tbody></table></div><div class="pager">${more}</div></section>`;
  }

  async function paymentPage({ token, arg }) {
    setTitle("Payment " + arg);
    const load = async () => {
      const [p, tl] = await Promise.all([api("/payments/" + encodeURIComponent(arg)), api("/console/api/payments/" + encodeURIComponent(arg) + "/timeline")]);
      if (!current(token)) return null;
      const history = (p.history || []).map((h) => `<tr><td>${badge(h.status)}</td><td class="muted">${fmtTime(h.at)}</td><td>${esc(h.reason || "")}</td></tr>`).join("");
      const ledger = p.settlement ? ledgerTable(p.settlement.transfers || []) : `<p class="muted">No transfers${p.status === "SETTLED" ? "" : " (the payment is " + esc(p.status) + ")"}.</p>`;
      main.innerHTML = `
        <h1>Payment <span class="mono">${esc(p.payment_id)}</span> ${badge(p.status)}</h1>
        <div class="grid2">
          <section class="panel"><h2>Figures</h2><dl class="kv" data-testid="figures">
            <dt>amount</dt><dd class="num">${esc(p.amount)} ${esc(p.source_currency)}</dd>
            <dt>rate</dt><dd class="num">${esc(p.rate)}</dd><dt>fee</dt><dd class="num">${esc(p.fee)} ${esc(p.source_currency)}</dd>
            <dt>beneficiary gets</dt><dd class="num">${esc(p.target_amount)} ${esc(p.target_currency)}</dd>
            <dt>sender</dt><dd>${esc(p.sender && p.sender.name)} <span class="mono">${esc(p.sender && p.sender.account)}</span></dd>
            <dt>beneficiary</dt><dd>${esc(p.beneficiary && p.beneficiary.name)} <span class="mono">${esc(p.beneficiary && p.beneficiary.account)}</span></dd>
            <dt>reference</dt><dd>${esc(p.reference || "")}</dd><dt>reason</dt><dd>${esc(p.reason || "")}</dd>
            <dt>trace id</dt><dd class="mono" data-testid="trace-id">${esc(tl.trace_id || "")}</dd>
            <dt>execution</dt><dd>${tl.execution ? `<a class="mono" href="/console/executions/${encodeURIComponent(tl.execution)}" data-testid="execution-link">${esc(tl.execution)}</a>` : ""}</dd>
          </dl></section>
          <section class="panel" id="history"><h2>History</h2><table><tbody>${history}</tbody></table>
            <h2 id="ledger">Ledger transfers</h2>${ledger}</section>
        </div>
        <section class="panel"><h2>Causal timeline</h2><p class="muted">Every hop of this payment in time order; the bar is the hop's duration or the wait for the next stage.</p>${waterfall(tl)}</section>`;
      return p;
    };
    const p = await load();
    if (p && !["SETTLED", "REJECTED", "FAILED"].includes(p.status)) {
      let busy = false;
      onFigures = async () => { if (busy) return; busy = true; try { const q = await load(); if (q && ["SETTLED", "REJECTED", "FAILED"].includes(q.status)) onFigures = null; } finally { busy = false; } };
    }
  }

  // ---------- executions ----------
  const EXECUTION_STATUSES = ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

  async function executionsPage({ token, params }) {
    setTitle("Executions");
    const status = params.get("status") || "", before = params.get("before") || "";
    const u = new URLSearchParams(); if (status) u.set("status", status); if (before) u.set("before", before);
    const page = await api("/console/api/executions?" + u);
    if (!current(token)) return;
    const older = new URLSearchParams(); if (status) older.set("status", status); if (page.next_before) older.set("before", page.next_before);
    main.innerHTML = `<h1>Executions</h1>
      <form class="controls" id="ef"><label>Status <select name="status" data-testid="execution-status-filter">${EXECUTION_STATUSES.map((s) => `<option value="${s}" ${s === status ? "selected" : ""}>${s || "any"}</option>`).join("")}</select></label></form>
      <div class="panel table-wrap"><table data-testid="executions-table"><thead><tr><th>name</th><th>status</th><th>payment</th><th>started</th><th>stopped</th></tr></thead><tbody>
      ${page.items.map((e) => `<tr><td><a class="mono" href="/console/executions/${encodeURIComponent(e.name)}">${esc(e.name)}</a></td><td>${badge(e.status)}</td>
        <td>${e.payment_id ? `<a class="mono" href="/console/payments/${encodeURIComponent(e.payment_id)}">${esc(e.payment_id)}</a>` : ""}</td><td class="muted">${fmtTime(e.startDate)}</td><td class="muted">${fmtTime(e.stopDate)}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">No executions.</td></tr>`}
      </tbody></table>
      <div class="pager">${before ? `<a href="/console/executions${status ? "?status=" + status : ""}">← Newest</a>` : ""}${page.next_before ? `<a href="/console/executions?${older}" data-testid="older">Older →</a>` : ""}</div></div>`;
    document.querySelector("[data-testid=execution-status-filter]").addEventListener("change", (ev) => navigate("/console/executions" + (ev.target.value ? "?status=" + ev.target.value : "")));
  }

  function eventSummary(ev) {
    const key = Object.keys(ev).find((k) => k.endsWith("EventDetails"));
    if (!key) return "";
    const d = ev[key];
    const parts = [];
    if (d.name) parts.push(`<b>${esc(d.name)}</b>`);
    if (d.resource) parts.push(`<span class="mono">${esc(d.resource)}</span>`);
    if (d.error) parts.push(`<span class="error">${esc(d.error)}</span>`);
    if (d.cause) parts.push(esc(d.cause));
    const payload = d.input || d.output || d.parameters;
    return parts.join(" ") + (payload ? `<details><summary class="muted">${d.input ? "input" : d.output ? "output" : "parameters"}</summary><pre>${esc(pretty(payload))}</pre></details>` : "");
  }

  async function executionPage({ token, arg }) {
    setTitle("Execution " + arg);
    const load = async () => {
      const x = await api("/console/api/executions/" + encodeURIComponent(arg));
      if (!current(token)) return null;
      const e = x.execution;
      const t0 = x.events.length ? Date.parse(x.events[0].timestamp) : 0;
      main.innerHTML = `<h1>Execution <span class="mono">${esc(e.name)}</span> ${badge(e.status)}</h1>
        <p class="muted">${e.payment_id ? `payment <a class="mono" href="/console/payments/${encodeURIComponent(e.payment_id)}">${esc(e.payment_id)}</a> · ` : ""}started ${fmtTime(e.startDate)}${e.stopDate ? " · stopped " + fmtTime(e.stopDate) : ""}</p>
        <p><button type="button" data-testid="redrive-execution" ${x.redrive.possible ? "" : "disabled"} title="${esc(x.redrive.reason)}" aria-describedby="redrive-why">Redrive</button>
          <span id="redrive-why" class="muted">${esc(x.redrive.reason)}</span></p>
        <div class="grid2">
          <section class="panel"><h2>State machine</h2>${x.definition_version ? `<p class="muted" data-testid="definition-version">version <span class="mono">${esc(x.definition_version)}</span>${x.definition_current ? " (live)" : " — the version it started on, not the live one"}</p>` : ""}<div class="graph" data-testid="execution-graph">${AslGraph.render(x.definition, x.events)}</div></section>
          <section class="panel"><h2>History (GetExecutionHistory)</h2><div class="table-wrap"><table data-testid="history"><thead><tr><th class="num">id</th><th>type</th><th class="num">+ms</th><th>detail</th></tr></thead><tbody>
          ${x.events.map((ev) => `<tr data-type="${esc(ev.type)}"><td class="num">${esc(ev.id)}</td><td>${esc(ev.type)}</td><td class="num">${Date.parse(ev.timestamp) - t0}</td><td>${eventSummary(ev)}</td></tr>`).join("")}
          </tbody></table></div></section></div>`;
      return e;
    };
    const wireRedrive = () => {
      const btn = document.querySelector("[data-testid=redrive-execution]");
      if (!btn) return;
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try { await post("/_local/executions/" + encodeURIComponent(arg) + "/redrive", {}); }
        catch (err) { document.querySelector("#redrive-why").textContent = "redrive failed: " + err.message; return; }
        const n = await load();
        wireRedrive();
        if (n && n.status === "RUNNING") follow();
      });
    };
    const follow = () => {
      let busy = false;
      onFigures = async () => { if (busy) return; busy = true; try { const n = await load(); wireRedrive(); if (n && n.status !== "RUNNING") onFigures = null; } finally { busy = false; } };
    };
    const e = await load();
    wireRedrive();
    if (e && e.status === "RUNNING") follow();
  }

  // ---------- queues ----------
  async function queuesPage({ token }) {
    setTitle("Queues");
    const load = async (note) => {
      const x = await api("/console/api/queues");
      if (!current(token)) return;
      const q = x.queues[0];
      const msgRows = (list, testid) => `<div class="table-wrap"><table data-testid="${testid}"><thead><tr><th>message id</th><th class="num">receive count</th><th>sent</th><th>body</th></tr></thead><tbody>
        ${list.map((m) => `<tr><td class="mono">${esc(m.message_id)}</td><td class="num" data-testid="receive-count">${esc(m.receive_count)}</td><td class="muted">${fmtTime(new Date(m.sent_at_ms).toISOString())}</td><td><details><summary class="mono">${esc(m.body.slice(0, 60))}${m.body.length > 60 ? "…" : ""}</summary><pre>${esc(pretty(m.body))}</pre></details></td></tr>`).join("") || `<tr><td colspan="4" class="muted">Empty.</td></tr>`}
        </tbody></table></div>`;
      main.innerHTML = `<h1>Queues</h1>
        <section class="panel"><table data-testid="queue-stats"><thead><tr><th>queue</th><th class="num">depth</th><th class="num">in flight</th><th>dead-letter queue</th><th class="num">DLQ depth</th><th class="num">max receives</th></tr></thead>
          <tbody><tr><td class="mono">${esc(q.name)}</td><td class="num" data-testid="depth">${q.depth}</td><td class="num">${q.in_flight}</td><td class="mono">${esc(q.dead_letter_queue)}</td><td class="num" data-testid="dlq-depth">${q.dead_letter_depth}</td><td class="num">${esc(x.max_receive_count)}</td></tr></tbody></table></section>
        <section class="panel"><h2>Dead-letter queue <span class="mono">${esc(q.dead_letter_queue)}</span></h2>
          <p><button type="button" data-testid="redrive-dlq" ${q.dead_letter_depth ? "" : "disabled"}>Redrive ${q.dead_letter_depth} message${q.dead_letter_depth === 1 ? "" : "s"} to ${esc(q.name)}</button> <span class="muted" data-testid="redrive-result" aria-live="polite">${esc(note || "")}</span></p>
          ${msgRows(x.dead_letter_messages, "dlq-messages")}</section>
        <section class="panel"><h2>Queue <span class="mono">${esc(q.name)}</span> (oldest first)</h2>${msgRows(x.messages, "queue-messages")}</section>`;
      const btn = document.querySelector("[data-testid=redrive-dlq]");
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try { const r = await post("/_local/queues/" + encodeURIComponent(q.name) + "/redrive", {}); await load("moved " + r.moved + " message" + (r.moved === 1 ? "" : "s")); }
        catch (e) { await load("redrive failed: " + e.message); }
      });
    };
    await load();
    let busy = false;
    onFigures = async (f) => {
      const depthEl = document.querySelector("[data-testid=depth]"), dlqEl = document.querySelector("[data-testid=dlq-depth]");
      if (busy || !depthEl) return;
      if (String(f.queue.depth) === depthEl.textContent && String(f.queue.dead_letter_depth) === dlqEl.textContent) return;
      busy = true; try { await load(document.querySelector("[data-testid=redrive-result]").textContent); } finally { busy = false; }
    };
  }

  // ---------- rules and tools ----------
  const SAMPLE_EVENT = { version: "0", id: "00000000-0000-4000-8000-000000000000", "detail-type": "PaymentCreated", source: "eventpay.payments", account: "000000000000", time: "2026-01-01T00:00:00Z", region: "local", resources: [], detail: { payment_id: "p-1", status: "PENDING", amount: "12000.00", source_currency: "USD", target_currency: "EUR", amount_units: 12000, base_currency: "USD", base_amount: "12000.00", base_amount_units: 12000 } };
  const SAMPLE_MACHINE = { StartAt: "Check", States: { Check: { Type: "Choice", Choices: [{ Variable: "$.amount", NumericGreaterThanEquals: 10000, Next: "Big" }], Default: "Small" }, Big: { Type: "Pass", Result: "high-value", ResultPath: "$.class", End: true }, Small: { Type: "Pass", Result: "standard", ResultPath: "$.class", End: true } } };

  async function rulesPage({ token }) {
    setTitle("Rules & tools");
    overview = await api("/console/api/overview");
    if (!current(token)) return;
    main.innerHTML = `<h1>Rules &amp; tools</h1>
      <div class="table-wrap panel"><table data-testid="rules-table"><thead><tr><th>rule</th><th>target</th><th class="num">matched</th><th>pattern</th></tr></thead><tbody>
      ${overview.rules.map((r) => `<tr id="rule-${esc(r.name)}"><td><b>${esc(r.name)}</b><br><span class="muted mono">${esc(r.file)}</span><br><span class="muted">${esc(r.description || "")}</span></td><td>${esc(r.target)}</td><td class="num" data-testid="matched-${esc(r.name)}">${esc(r.matched)}</td><td><pre>${esc(JSON.stringify(r.event_pattern, null, 2))}</pre></td></tr>`).join("")}
      </tbody></table></div>
      <div class="grid2">
        <section class="panel"><h2>Test an event pattern</h2><p class="muted">As <code>eventpay events test-pattern</code> (and EventBridge's TestEventPattern).</p>
          <form id="tp"><label>Event pattern <textarea name="pattern" data-testid="pattern-input">${esc(JSON.stringify((overview.rules.find((r) => r.name === "high-value") || overview.rules[0] || {}).event_pattern || {}, null, 2))}</textarea></label>
          <label>Event <textarea name="event" data-testid="event-input">${esc(JSON.stringify(SAMPLE_EVENT, null, 2))}</textarea></label>
          <p><button type="submit" data-testid="test-pattern">Test</button> <output data-testid="pattern-result" aria-live="polite"></output></p></form></section>
        <section class="panel"><h2>Run a state machine</h2><p class="muted">As <code>eventpay states run</code>: service-free machines, at most 10 s.</p>
          <form id="rs"><label>Definition (ASL) <textarea name="definition" data-testid="definition-input">${esc(JSON.stringify(SAMPLE_MACHINE, null, 2))}</textarea></label>
          <label>Input <textarea name="input" data-testid="run-input" style="min-height:60px">{"amount": 12000}</textarea></label>
          <p><button type="submit" data-testid="run-machine">Run</button></p><div data-testid="run-result" aria-live="polite"></div></form></section>
      </div>`;
    const parse = (text, what) => { try { return JSON.parse(text); } catch (e) { throw new Error(what + " is not JSON: " + e.message); } };
    document.getElementById("tp").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = document.querySelector("[data-testid=pattern-result]");
      const f = new FormData(ev.target);
      try {
        const r = await post("/console/api/test-pattern", { event_pattern: parse(f.get("pattern"), "the pattern"), event: parse(f.get("event"), "the event") });
        out.textContent = r.Result ? "matches" : "does not match"; out.className = r.Result ? "" : "muted"; out.dataset.result = String(r.Result);
      } catch (e) { out.textContent = e.message; out.className = "error"; out.dataset.result = "error"; }
    });
    document.getElementById("rs").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = document.querySelector("[data-testid=run-result]");
      const f = new FormData(ev.target);
      out.textContent = "running…";
      try {
        const r = await post("/console/api/run-state-machine", { definition: parse(f.get("definition"), "the definition"), input: parse(f.get("input") || "{}", "the input") });
        out.innerHTML = `<p>${badge(r.status)} ${r.error ? `<span class="error">${esc(r.error)}: ${esc(r.cause)}</span>` : ""}</p><div class="graph">${AslGraph.render(parse(f.get("definition"), "the definition"), r.history)}</div>
          <h2>Output</h2><pre data-testid="run-output">${esc(JSON.stringify(r.output, null, 2))}</pre>
          <details><summary>History (${r.history.length} events)</summary><pre>${esc(JSON.stringify(r.history, null, 2))}</pre></details>`;
      } catch (e) { out.innerHTML = errorBox(e); }
    });
  }

  // ---------- notifications and audit log ----------
  async function logPage({ token, params }) {
    setTitle("Notifications & audit");
    const q = params.get("q") || "";
    const [n, a] = await Promise.all([api("/_local/notifications"), api("/_local/audit")]);
    if (!current(token)) return;
    main.innerHTML = `<h1>Notifications &amp; audit log</h1>
      <form class="controls" id="lf" role="search"><label>Search <input name="q" value="${esc(q)}" size="40" data-testid="log-search" autocomplete="off"></label><button type="submit">Filter</button></form>
      <div class="grid2"><section class="panel"><h2>Notifications <span class="muted" id="ncount"></span></h2><div class="table-wrap"><table data-testid="notifications"><tbody id="nrows"></tbody></table></div></section>
      <section class="panel"><h2>Audit log <span class="muted" id="acount"></span></h2><div class="table-wrap"><table data-testid="audit"><tbody id="arows"></tbody></table></div></section></div>`;
    const paint = (term) => {
      const t = term.toLowerCase();
      const nf = n.notifications.filter((x) => !t || JSON.stringify(x).toLowerCase().includes(t));
      const af = a.entries.filter((x) => !t || JSON.stringify(x).toLowerCase().includes(t));
      document.getElementById("nrows").innerHTML = nf.slice(0, 200).map((x) => `<tr><td class="muted">${fmtTime(x.created_at)}</td><td><b>${esc(x.subject || "")}</b><br>${esc(x.message)}</td></tr>`).join("") || `<tr><td class="muted">None.</td></tr>`;
      document.getElementById("arows").innerHTML = af.slice(0, 200).map((x) => `<tr><td class="muted">${fmtTime(x.created_at)}</td><td>${esc(x.event["detail-type"])} <span class="mono">${esc(x.event.detail && x.event.detail.payment_id)}</span><details><summary class="muted mono">${esc(x.event.id)}</summary><pre>${esc(JSON.stringify(x.event, null, 2))}</pre></details></td></tr>`).join("") || `<tr><td class="muted">None.</td></tr>`;
      document.getElementById("ncount").textContent = `(${nf.length})`;
      document.getElementById("acount").textContent = `(${af.length})`;
    };
    paint(q);
    const input = document.querySelector("[data-testid=log-search]");
    input.addEventListener("input", () => paint(input.value));
    document.getElementById("lf").addEventListener("submit", (ev) => { ev.preventDefault(); navigate("/console/log" + (input.value ? "?q=" + encodeURIComponent(input.value) : ""), true); });
  }

  // ---------- start ----------
  if (location.pathname === "/console/" || location.pathname === "/console") history.replaceState(null, "", "/console/flow");
  connectLive();
  render();
})();
