// Draws an Amazon States Language definition as an SVG graph: states in layers by their
// distance from StartAt, an edge for every Next, Default, Choice rule and Catch. Given an
// execution's history it highlights the path taken and marks the state that failed.
"use strict";
(function () {
  const W = 168, H = 38, GX = 26, GY = 46, PAD = 16;

  function edgesOf(name, s) {
    const out = [];
    if (s.Next) out.push({ to: s.Next, kind: "next" });
    if (s.Default) out.push({ to: s.Default, kind: "next" });
    (s.Choices || []).forEach((c) => c.Next && out.push({ to: c.Next, kind: "next" }));
    (s.Catch || []).forEach((c) => c.Next && out.push({ to: c.Next, kind: "catch" }));
    return out.map((e) => Object.assign({ from: name }, e));
  }

  function layout(def) {
    const states = def.States || {};
    const level = {};
    const queue = [def.StartAt];
    level[def.StartAt] = 0;
    while (queue.length) {
      const n = queue.shift();
      const s = states[n];
      if (!s) continue;
      for (const e of edgesOf(n, s)) {
        if (!(e.to in level)) { level[e.to] = level[n] + 1; queue.push(e.to); }
      }
    }
    let max = 0;
    Object.keys(states).forEach((n) => { if (!(n in level)) level[n] = ++max + 1000; });
    const rows = {};
    Object.keys(states).forEach((n) => { (rows[level[n]] = rows[level[n]] || []).push(n); });
    const keys = Object.keys(rows).map(Number).sort((a, b) => a - b);
    const widest = Math.max(1, ...keys.map((k) => rows[k].length));
    const width = PAD * 2 + widest * W + (widest - 1) * GX;
    const pos = {};
    keys.forEach((k, row) => {
      const names = rows[k];
      const rowWidth = names.length * W + (names.length - 1) * GX;
      const x0 = (width - rowWidth) / 2;
      names.forEach((n, i) => { pos[n] = { x: x0 + i * (W + GX), y: PAD + row * (H + GY) }; });
    });
    const edges = [];
    Object.keys(states).forEach((n) => edgesOf(n, states[n]).forEach((e) => edges.push(e)));
    return { pos, edges, width, height: PAD * 2 + keys.length * H + (keys.length - 1) * GY, states };
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  // What the history says: states entered in order, the failed state, the current one.
  // A state is marked failed when its task failed on every attempt (a Catch took over), or when
  // the execution failed there (a Fail state ends it without an exit event).
  function pathOf(events, def) {
    const entered = [], failed = new Set();
    let lastEntered = null, open = false, attemptFailed = false;
    for (const ev of events || []) {
      const t = ev.type || "";
      if (t.endsWith("StateEntered")) {
        lastEntered = ev.stateEnteredEventDetails && ev.stateEnteredEventDetails.name;
        entered.push(lastEntered); open = true; attemptFailed = false;
      } else if (t.endsWith("StateExited")) {
        if (attemptFailed) failed.add(lastEntered);
        open = false;
      } else if (/(LambdaFunction|Task)(Failed|TimedOut)$/.test(t)) {
        attemptFailed = true;
      } else if (/(LambdaFunction|Task)Succeeded$/.test(t)) {
        attemptFailed = false;
      } else if (t === "ExecutionFailed" || t === "ExecutionTimedOut" || t === "ExecutionAborted") {
        const states = (def && def.States) || {};
        const next = lastEntered && states[lastEntered] && states[lastEntered].Next;
        if (!open && next && states[next] && states[next].Type === "Fail") { entered.push(next); failed.add(next); }
        else if (lastEntered) failed.add(lastEntered);
        open = false;
      }
    }
    return { entered, failed, current: open ? lastEntered : null };
  }

  function render(def, events) {
    if (!def || !def.States) return "<p class='muted'>No definition.</p>";
    const g = layout(def);
    const p = pathOf(events, def);
    const visited = new Set(p.entered);
    const taken = new Set();
    for (let i = 1; i < p.entered.length; i++) taken.add(p.entered[i - 1] + ">" + p.entered[i]);
    let svg = `<svg role="img" aria-label="State machine graph" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}">`;
    svg += `<defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#9aa4b2"/></marker></defs>`;
    for (const e of g.edges) {
      const a = g.pos[e.from], b = g.pos[e.to];
      if (!a || !b) continue;
      const x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y;
      const up = y2 <= a.y;
      const d = up
        ? `M${a.x + W},${a.y + H / 2} C${a.x + W + 60},${a.y + H / 2} ${b.x + W + 60},${b.y + H / 2} ${b.x + W},${b.y + H / 2}`
        : `M${x1},${y1} C${x1},${y1 + GY / 2} ${x2},${y2 - GY / 2} ${x2},${y2}`;
      const cls = "edge" + (e.kind === "catch" ? " catch" : "") + (taken.has(e.from + ">" + e.to) ? " taken" : "");
      svg += `<path class="${cls}" d="${d}" marker-end="url(#arr)"/>`;
    }
    for (const [name, at] of Object.entries(g.pos)) {
      const s = g.states[name] || {};
      let cls = "node";
      if (visited.has(name)) cls += " visited";
      if (p.failed.has(name)) cls += " failed";
      if (p.current === name) cls += " current";
      svg += `<g class="${cls}" data-state="${esc(name)}" id="state-${esc(name)}"><title>${esc(name)} (${esc(s.Type || "")})</title>`;
      svg += `<rect x="${at.x}" y="${at.y}" width="${W}" height="${H}"/>`;
      svg += `<text x="${at.x + W / 2}" y="${at.y + 16}" text-anchor="middle" font-weight="600">${esc(name.length > 22 ? name.slice(0, 21) + "…" : name)}</text>`;
      svg += `<text x="${at.x + W / 2}" y="${at.y + 30}" text-anchor="middle" fill="#5d6878">${esc(s.Type || "")}</text></g>`;
    }
    return svg + "</svg>";
  }

  window.AslGraph = { render, layout, pathOf };
})();
