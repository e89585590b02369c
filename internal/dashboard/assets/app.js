// The live dashboard of `meshbench run --serve`: it listens to the run's
// server-sent events (meta, bucket, job, done) and draws them on canvases.
// No library: the page must work offline, from the binary alone.
"use strict";

const palette = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442"];
const state = { meta: null, runs: [], now: 0, done: null, events: 0 };

function reset(meta) {
  state.meta = meta;
  state.runs = meta.jobs.map(() => ({ buckets: [], totals: null, final: false, error: "" }));
  state.now = 0;
  state.done = null;
  document.getElementById("scenario").textContent = meta.scenario;
  document.getElementById("question").textContent = meta.question || "";
  document.title = "meshbench · " + meta.scenario + " · live";
  const legend = document.getElementById("legend");
  legend.replaceChildren(...meta.jobs.map((j, i) => {
    const s = document.createElement("span");
    const sw = document.createElement("i");
    sw.style.borderTop = "3px " + (dash(i).length ? "dashed " : "solid ") + colour(i);
    s.append(sw, jobName(i));
    return s;
  }));
}

// A variant has one colour on every backend; backends after the first
// draw dashed, so that the simulator's line and a real backend's line of
// one variant read as a pair.
function colour(i) {
  const variants = [...new Set(state.meta.jobs.map(j => j.variant))];
  return palette[variants.indexOf(state.meta.jobs[i].variant) % palette.length];
}

function dash(i) {
  const backends = [...new Set(state.meta.jobs.map(j => j.backend))];
  const k = backends.indexOf(state.meta.jobs[i].backend);
  return [[], [6, 4], [2, 3], [8, 3, 2, 3]][k % 4];
}

function jobName(i) {
  const j = state.meta.jobs[i];
  return j.backend + " / " + j.variant + (j.repeat > 0 ? " #" + j.repeat : "");
}

function handle(kind, ev) {
  const data = JSON.parse(ev.data);
  state.events++;
  document.body.dataset.events = String(state.events);
  switch (kind) {
  case "meta":
    reset(data);
    break;
  case "bucket": {
    const run = state.runs[data.job];
    run.buckets[data.index] = data.bucket;
    run.totals = data.so_far;
    state.now = Math.max(state.now, data.bucket.t_s + data.bucket.width_s);
    break;
  }
  case "job": {
    const run = state.runs[data.job];
    run.buckets = data.buckets || [];
    run.totals = data.totals;
    run.final = true;
    run.error = data.error || "";
    run.untrustworthy = data.untrustworthy || "";
    if (run.buckets.length) {
      const last = run.buckets[run.buckets.length - 1];
      state.now = Math.max(state.now, last.t_s + last.width_s);
    }
    break;
  }
  case "done":
    state.done = data;
    source.close(); // the run is over: no reconnection, no replay
    break;
  }
  schedule();
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}

function render() {
  if (!state.meta) return;
  renderStatus();
  renderTimeline();
  for (const c of document.querySelectorAll("canvas.chart")) drawChart(c, c.dataset.metric);
  renderSLO();
}

function renderStatus() {
  const status = document.getElementById("status");
  const verdict = document.getElementById("verdict");
  const n = state.runs.length;
  const finished = state.runs.filter(r => r.final).length;
  const running = state.runs.map((r, i) => [r, i]).filter(([r]) => !r.final && r.buckets.length > 0).map(([, i]) => jobName(i));
  if (state.done) {
    document.body.dataset.state = "done";
    status.textContent = "run over: " + finished + " of " + n + " runs finished" + (state.done.partial ? " (interrupted: partial)" : "");
    const all = state.done.runs.flatMap(r => r.slo || []);
    const failed = all.filter(v => !v.pass).length;
    verdict.className = "verdict " + (state.done.slo_pass ? "pass" : "fail");
    verdict.textContent = state.done.slo_pass
      ? "SLO verdict: PASS (" + all.length + " verdicts)"
      : "SLO verdict: FAIL (" + failed + " of " + all.length + " verdicts failed)";
    if (state.done.error) verdict.textContent += " · " + state.done.error;
    const a = document.createElement("a");
    a.href = state.done.report;
    a.textContent = "open the report";
    verdict.append(" ");
    verdict.append(a);
    return;
  }
  document.body.dataset.state = "running";
  status.textContent = finished + " of " + n + " runs finished" +
    (running.length ? "; running: " + running.join(", ") + " at t = " + state.now.toFixed(0) + " s of " + state.meta.duration_s.toFixed(0) + " s" : "");
}

function renderTimeline() {
  const c = document.getElementById("timeline");
  const g = c.getContext("2d");
  const m = state.meta;
  const W = c.width, H = c.height, L = 50, R = 18;
  const x = t => L + (W - L - R) * t / Math.max(m.duration_s, 1e-9);
  g.clearRect(0, 0, W, H);
  g.font = "11px system-ui, sans-serif";
  if (m.warmup_s > 0) {
    g.fillStyle = "#eeeeee";
    g.fillRect(x(0), 4, x(m.warmup_s) - x(0), H - 24);
    g.fillStyle = "#666";
    g.fillText("warm-up", x(0) + 3, 16);
  }
  m.faults.forEach((f, i) => {
    g.fillStyle = "rgba(207,34,46,0.25)";
    g.fillRect(x(f.start_s), 4, Math.max(x(f.end_s) - x(f.start_s), 2), H - 24);
    g.fillStyle = "#a40e26";
    g.fillText(f.label, x(f.start_s) + 3, 16 + 13 * (i % 3));
  });
  axisX(g, x, m.duration_s, H - 20, L, W - R);
  g.strokeStyle = "#1d1d1f";
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(x(state.now), 2);
  g.lineTo(x(state.now), H - 20);
  g.stroke();
  g.lineWidth = 1;
  const list = document.getElementById("faults");
  if (m.faults.length === 0) {
    list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "no faults in this scenario" }));
    return;
  }
  list.replaceChildren(...m.faults.map(f => {
    const li = document.createElement("li");
    const phase = state.now >= f.end_s && f.end_s > f.start_s ? "over" : state.now >= f.start_s ? "active" : "upcoming";
    li.className = phase;
    li.textContent = f.label + ": " + f.start_s.toFixed(1) + " s – " + f.end_s.toFixed(1) + " s (" + phase + ")";
    return li;
  }));
}

function axisX(g, x, span, y, left, right) {
  g.strokeStyle = "#999";
  g.fillStyle = "#444";
  g.beginPath();
  g.moveTo(left, y);
  g.lineTo(right, y);
  g.stroke();
  const step = niceStep(span / 8);
  for (let t = 0; t <= span + 1e-9; t += step) {
    g.fillText(fmt(t) + "s", x(t) - 8, y + 13);
  }
}

function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const k of [1, 2, 5, 10]) if (k * p >= raw) return k * p;
  return 10 * p;
}

function fmt(v) {
  if (v === 0) return "0";
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1).replace(/\.0$/, "");
  return v.toPrecision(3).replace(/\.?0+$/, "");
}

function value(b, metric) {
  switch (metric) {
  case "availability": return b.requests > 0 ? b.availability * 100 : null;
  case "throughput_rps": return b.throughput_rps;
  case "retries": return (b.retries || 0) / b.width_s;
  case "hedges": return (b.hedges || 0) / b.width_s;
  default: return b.successes > 0 ? b[metric] : null; // latency of successes only
  }
}

function drawChart(c, metric) {
  const g = c.getContext("2d");
  const m = state.meta;
  const W = c.width, H = c.height, L = 50, R = 18, T = 8, B = 22;
  g.clearRect(0, 0, W, H);
  g.font = "11px system-ui, sans-serif";
  // A bucket without a value (no success: no latency) breaks the line.
  const series = state.runs.map(r => r.buckets.map(b => b ? [b.t_s + b.width_s / 2, value(b, metric)] : null)
    .map(p => p && p[1] !== null && isFinite(p[1]) ? p : null));
  const ys = series.flat().filter(p => p).map(p => p[1]);
  let lo = 0, hi = ys.length ? Math.max(...ys) : 1;
  if (metric === "availability") {
    lo = Math.min(99, ...ys.map(v => Math.floor(v)));
    hi = 100;
  }
  if (hi <= lo) hi = lo + 1;
  hi += (hi - lo) * 0.05;
  const x = t => L + (W - L - R) * t / Math.max(m.duration_s, 1e-9);
  const y = v => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  if (m.warmup_s > 0) {
    g.fillStyle = "#f2f2f2";
    g.fillRect(x(0), T, x(m.warmup_s) - x(0), H - T - B);
  }
  g.fillStyle = "rgba(207,34,46,0.12)";
  for (const f of m.faults) g.fillRect(x(f.start_s), T, Math.max(x(f.end_s) - x(f.start_s), 2), H - T - B);
  g.strokeStyle = "#ddd";
  g.fillStyle = "#444";
  const step = niceStep((hi - lo) / 4);
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
    g.beginPath();
    g.moveTo(L, y(v));
    g.lineTo(W - R, y(v));
    g.stroke();
    g.fillText(fmt(v), 4, y(v) + 4);
  }
  axisX(g, x, m.duration_s, H - B, L, W - R);
  let points = 0;
  series.forEach((pts, i) => {
    g.strokeStyle = colour(i);
    g.fillStyle = colour(i);
    g.setLineDash(dash(i));
    // Earlier runs draw wider, so that lines that coincide (availability
    // at 100%) still show every run.
    g.lineWidth = (1.5 + Math.min(1.5 * (series.length - 1 - i), 6)) / (m.jobs[i].repeat > 0 ? 2 : 1);
    g.beginPath();
    pts.forEach((p, k) => {
      if (!p) return;
      const prev = k > 0 ? pts[k - 1] : null;
      const next = k + 1 < pts.length ? pts[k + 1] : null;
      if (prev) g.lineTo(x(p[0]), y(p[1]));
      else g.moveTo(x(p[0]), y(p[1]));
      if (!prev && !next) g.fillRect(x(p[0]) - 2, y(p[1]) - 2, 4, 4); // a lone point
      points++;
    });
    g.stroke();
  });
  g.setLineDash([]);
  g.lineWidth = 1;
  c.dataset.points = String(points);
}

function verdictText(v) {
  const op = v.bound === "min" ? "≥" : "≤";
  const f = x => v.unit === "ms" ? fmt(x) + " ms" : v.unit === "ratio" ? (x * 100).toFixed(3) + "%" : v.unit === "rps" ? fmt(x) + "/s" : String(x);
  const label = v.workload ? v.metric + " of " + v.workload : v.metric;
  return label + " " + f(v.value) + " (" + op + " " + f(v.threshold) + ") " + (v.pass ? "✓" : "✗");
}

function renderSLO() {
  const table = document.getElementById("slo");
  const head = document.createElement("tr");
  for (const h of ["backend", "variant", "repeat", "state", "requests", "verdicts"]) {
    head.append(Object.assign(document.createElement("th"), { textContent: h }));
  }
  head.lastChild.colSpan = Math.max(1, ...state.runs.map(r => r.totals ? r.totals.slo.length : 0));
  table.tHead.replaceChildren(head);
  const rows = state.runs.map((r, i) => {
    const j = state.meta.jobs[i];
    const tr = document.createElement("tr");
    const phase = r.final ? (r.error ? "failed: " + r.error : r.untrustworthy ? "final, untrustworthy: " + r.untrustworthy : "final") : r.buckets.length ? "so far" : "waiting";
    for (const t of [j.backend, j.variant, String(j.repeat), phase, r.totals ? String(r.totals.requests) : "–"]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: t }));
    }
    const slo = r.totals ? r.totals.slo : [];
    if (!r.totals || r.totals.requests === 0 || slo.length === 0) {
      tr.append(Object.assign(document.createElement("td"), { textContent: state.meta.slos.length ? "–" : "no SLOs" }));
    } else {
      for (const v of slo) {
        const td = document.createElement("td");
        td.className = (v.pass ? "pass" : "fail") + (r.final ? "" : " sofar");
        td.textContent = verdictText(v);
        tr.append(td);
      }
    }
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
}

const source = new EventSource("events");
for (const kind of ["meta", "bucket", "job", "done"]) {
  source.addEventListener(kind, ev => handle(kind, ev));
}
source.onerror = () => {
  if (!state.done) document.getElementById("status").textContent = "connection lost: reconnecting…";
};
