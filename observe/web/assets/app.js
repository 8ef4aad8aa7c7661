// The admin page: draws /api/graph as a layered graph (sources on the
// left, sinks on the right) and writes /api/stats into it every second.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const W = { stream: 200, other: 170 }, H = { stream: 80, source: 62, other: 46 };
const COL = 250, ROW = 100, PAD = 20;

let graphText = "";   // the last /api/graph answer, to redraw only on change
let shapes = {};      // node id -> its <g>
let lastStats = null;
let drawn = null;     // the names of the streams the graph shows (null: no graph yet)

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function text(parent, x, y, cls, s) {
  const t = el("text", { x, y, class: cls }, parent);
  t.textContent = s;
  return t;
}

// nodesAndEdges turns the graph model into boxes and arrows.
function nodesAndEdges(g) {
  const nodes = new Map(), edges = [];
  const add = (id, n) => { if (!nodes.has(id)) nodes.set(id, { id, ...n }); return id; };
  const sid = name => "s:" + name;
  for (const s of g.streams || []) {
    add(sid(s.name), { type: "stream", title: s.name, note: s.cluster ? "cluster stream" : (s.operators || []).join(" · "), stream: s.name });
  }
  for (const s of g.streams || []) {
    const id = sid(s.name);
    let fed = false;
    for (const src of s.sources || []) {
      edges.push([add("src:" + s.name + ":" + src.name, { type: "source", title: src.kind, note: src.name, source: src.name }), id]);
    }
    const sinkNames = new Set((s.sinks || []).map(k => k.name));
    for (const k of s.sinks || []) {
      edges.push([id, add("sink:" + s.name + ":" + k.name, { type: "sink", title: k.kind, note: k.name, stream: s.name, sink: k.name })]);
    }
    for (const sub of s.subscribers || []) {
      if (sub.kind === "sink" && sinkNames.has(sub.name)) continue;
      if (sub.kind === "stream" && sub.to) { edges.push([id, sid(sub.to)]); continue; }
      const n = add("sub:" + s.name + ":" + sub.name, { type: "subscriber", title: sub.name, note: sub.kind });
      edges.push([id, n]);
      if (sub.to) edges.push([n, sid(sub.to)]);
    }
    if (s.derived_from) {
      for (const up of g.streams) {
        if (up.name === s.derived_from && (up.subscribers || []).some(x => x.to === s.name)) fed = true;
      }
      if (!fed) edges.push([sid(s.derived_from), id]);
    }
    if (s.dead_letter) edges.push([id, sid(s.dead_letter), "dead"]);
  }
  return { nodes, edges: edges.filter(([a, b]) => nodes.has(a) && nodes.has(b)) };
}

// layers gives each node its column: the longest path to it from a node
// nothing points at (a cycle, through a dead-letter stream, stops after
// as many rounds as there are nodes).
function layers(nodes, edges) {
  const col = new Map([...nodes.keys()].map(id => [id, 0]));
  for (let round = 0; round < nodes.size; round++) {
    let moved = false;
    for (const [a, b] of edges) {
      if (col.get(b) < col.get(a) + 1) { col.set(b, col.get(a) + 1); moved = true; }
    }
    if (!moved) break;
  }
  return col;
}

function draw(g) {
  const svg = document.getElementById("graph");
  svg.replaceChildren();
  shapes = {};
  const defs = el("defs", {}, svg);
  const m = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#b8bfcc" }, m);

  drawn = new Set((g.streams || []).map(s => s.name));
  const { nodes, edges } = nodesAndEdges(g);
  document.getElementById("empty").hidden = nodes.size > 0;
  const col = layers(nodes, edges);
  const rows = {}, at = {};
  for (const n of nodes.values()) {
    const c = col.get(n.id), r = rows[c] = (rows[c] || 0) + 1;
    const w = n.type === "stream" ? W.stream : W.other, h = H[n.type] || H.other;
    at[n.id] = { x: PAD + c * COL, y: PAD + (r - 1) * ROW, w, h };
  }
  const width = PAD * 2 + (Math.max(0, ...col.values()) + 1) * COL;
  const height = PAD * 2 + Math.max(1, ...Object.values(rows)) * ROW;
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);

  for (const [a, b, kind] of edges) {
    const p = at[a], q = at[b];
    const x1 = p.x + p.w, y1 = p.y + p.h / 2, x2 = q.x, y2 = q.y + q.h / 2;
    const bend = Math.max(40, Math.abs(x2 - x1) / 2);
    const path = el("path", { class: "edge", d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` }, svg);
    if (kind === "dead") path.setAttribute("stroke-dasharray", "5 4");
  }
  for (const n of nodes.values()) {
    const p = at[n.id];
    const gr = el("g", { class: "node " + n.type, transform: `translate(${p.x},${p.y})` }, svg);
    if (n.stream) gr.dataset.stream = n.stream;
    if (n.sink) gr.dataset.sink = n.sink;
    el("rect", { width: p.w, height: p.h }, gr);
    text(gr, 10, 17, "title", n.title);
    if (n.type === "stream") {
      text(gr, 10, 35, "figure rates", "");
      text(gr, 10, 53, "figure backlog", "");
      text(gr, 10, 71, "figure note", n.note);
    } else if (n.type === "sink") {
      text(gr, 10, 35, "figure acks", n.note);
    } else if (n.type === "source") {
      gr.dataset.source = n.source;
      text(gr, 10, 35, "figure", n.note);
      text(gr, 10, 53, "figure reading", "");
    } else {
      text(gr, 10, 35, "figure", n.note);
    }
    shapes[n.id] = gr;
  }
  if (lastStats) show(lastStats);
}

function rate(v) {
  v = Number(v) || 0;
  if (v >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (v >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (v >= 10) return v.toFixed(0);
  return v.toFixed(1);
}

// bytes writes a size as --stats does (KiB, MiB, ...).
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i === 0 ? n + " B" : (n < 10 ? n.toFixed(1) : n.toFixed(0)) + " " + units[i];
}

// reading says how far a source's long read is, e.g. "big.bin 25%".
function reading(r) {
  const item = r.item.length > 16 ? "…" + r.item.slice(-15) : r.item;
  return r.total > 0 ? `${item} ${Math.min(100, Math.floor(r.done * 100 / r.total))}%` : `${item} ${bytes(r.done)}`;
}

function show(st) {
  lastStats = st;
  document.getElementById("uptime").textContent = "up " + Math.round(st.uptime_seconds || 0) + " s";
  const body = document.querySelector("#streams tbody");
  body.replaceChildren();
  // The table lists the streams the graph shows (not the unread derived
  // streams the engine keeps), or every stream before the graph came.
  for (const s of (st.streams || []).filter(s => !drawn || drawn.has(s.name))) {
    const g = shapes["s:" + s.name];
    if (g) {
      g.querySelector(".rates").textContent = `in ${rate(s.in_per_second)}/s · out ${rate(s.out_per_second)}/s`;
      const b = g.querySelector(".backlog");
      b.textContent = `pending ${s.pending} · errors ${s.errors}`;
      b.setAttribute("class", "figure backlog" + (s.errors > 0 ? " bad" : ""));
    }
    for (const src of s.sources || []) {
      const sg = shapes["src:" + s.name + ":" + src.name];
      if (sg) sg.querySelector(".reading").textContent = (src.reading || []).map(reading).join(" · ");
    }
    for (const k of s.sinks || []) {
      const sg = shapes["sink:" + s.name + ":" + k.name];
      if (sg) {
        const t = sg.querySelector(".acks");
        t.textContent = `acked ${k.acked} · retries ${k.retries}`;
        t.setAttribute("class", "figure acks" + (k.retries > 0 ? " bad" : ""));
      }
    }
    const tr = document.createElement("tr");
    tr.dataset.stream = s.name;
    for (const [v, bad] of [[s.name], [rate(s.in_per_second)], [rate(s.out_per_second)], [s.appended], [s.delivered], [s.pending], [s.dropped], [s.errors, s.errors > 0]]) {
      const td = document.createElement("td");
      td.textContent = v;
      if (bad) td.className = "bad";
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

function status(ok, msg) {
  const s = document.getElementById("status");
  s.textContent = msg;
  s.className = "status " + (ok ? "live" : "down");
}

async function fetchGraph() {
  try {
    const r = await fetch("api/graph", { cache: "no-store" });
    if (!r.ok) return;
    const t = await r.text();
    if (t !== graphText) { graphText = t; draw(JSON.parse(t)); }
  } catch (e) { /* the stats poll reports the connection */ }
}

async function fetchStats() {
  try {
    const r = await fetch("api/stats", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    show(await r.json());
    status(true, "live");
  } catch (e) {
    status(false, "disconnected: " + e.message);
  }
}

fetchGraph().then(fetchStats);
setInterval(fetchStats, 1000);
setInterval(fetchGraph, 5000);
