// The console page: polls /console/data about once a second (the server reads Postgres once
// per interval for every viewer) and redraws; uPlot (from the npm package) draws the chart.
"use strict";

const view = { chart: null, data: null, failures: 0 };
// For the browser test and for poking at the page from devtools.
globalThis.consoleView = view;

const $ = (selector) => document.querySelector(selector);

function text(tag, content, className) {
  const el = document.createElement(tag);
  el.textContent = content;
  if (className) el.className = className;
  return el;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "none";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.floor(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor(whole / 60) % 60).padStart(2, "0")}m`;
}

function money(amount) {
  return Number(amount).toLocaleString("en-US", {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
}

function makeChart(data) {
  const el = $("#chart");
  const options = {
    width: Math.max(300, el.clientWidth),
    height: 240,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, max * 1.1)] } },
    axes: [{}, { label: "payments / s", size: 60 }],
    series: [
      { label: "time" },
      { label: "accepted", stroke: "#6b7385", points: { show: false }, width: 1.5 },
      {
        label: "settled · default",
        stroke: "#1f9d55",
        points: { show: false },
        fill: "rgba(31,157,85,0.12)",
        width: 2,
      },
      {
        label: "settled · fallback",
        stroke: "#d64545",
        points: { show: false },
        fill: "rgba(214,69,69,0.12)",
        width: 2,
      },
    ],
  };
  const chart = new uPlot(options, chartData(data), el);
  globalThis.addEventListener("resize", () => {
    chart.setSize({ width: Math.max(300, el.clientWidth), height: 240 });
  });
  return chart;
}

// The window is 5 minutes; a service that started a moment ago shows its last minute at least,
// not minutes of zeros before its first payment.
function chartData(data) {
  const c = data.chart;
  const series = [c.accepted, c.settledDefault, c.settledFallback];
  const first = c.seconds.findIndex((_, i) => series.some((s) => s[i] > 0));
  const start = first < 0 ? 0 : Math.max(0, Math.min(first - 5, c.seconds.length - 60));
  return [c.seconds, ...series].map((s) => s.slice(start));
}

function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const cell of cells) tr.append(cell instanceof Node ? cell : text("td", String(cell)));
    return tr;
  }));
}

function td(node) {
  const cell = document.createElement("td");
  cell.append(node);
  return cell;
}

function renderSettled(settled) {
  fillRows(
    $("#settled tbody"),
    settled.map((s) => [
      s.processor,
      s.count,
      money(s.amount),
      money(s.fee),
      s.lastMinuteCount,
    ]),
  );
}

function renderQueue(queue) {
  for (const el of document.querySelectorAll("[data-count]")) {
    const key = el.dataset.count;
    el.textContent = String(queue[key]);
    el.classList.toggle("warn", key === "pinned" && queue.pinned > 0);
  }
  $("#oldest").textContent = duration(queue.oldestPendingAgeSeconds);
}

function renderAttempts(attempts) {
  const most = Math.max(1, ...attempts.buckets.map((b) => b.rows));
  fillRows($("#attempts tbody"), [
    ...attempts.buckets.map((b) => {
      const bar = text("span", "", "bar");
      bar.style.width = `${Math.round((b.rows / most) * 120)}px`;
      return [b.attempts, td(bar), b.rows];
    }),
    ["max", "", attempts.max],
  ]);
}

function renderHealth(health, routing) {
  fillRows(
    $("#health tbody"),
    health.map((h) => [
      h.processor,
      td(text("span", h.failing ? "failing" : "ok", h.failing ? "bad" : "good")),
      `${h.minResponseMs} ms`,
      h.checkedAgoSeconds === null ? "never" : `${duration(h.checkedAgoSeconds)} ago`,
    ]),
  );
  const p = $("#routing");
  const latest = routing.latestProcessor === null
    ? "no attempt yet"
    : `the latest went to the ${routing.latestProcessor} processor ` +
      `${duration(routing.latestAgoSeconds)} ago`;
  if (routing.defaultFailing) {
    p.textContent = "The default is failing: new payments wait for it until it has failed " +
      `for FALLBACK_AFTER_MS, then go to the fallback; ${latest}.`;
  } else if (routing.latestAgoSeconds !== null && routing.latestAgoSeconds < 5) {
    p.textContent = `New attempts go to the ${routing.latestProcessor} processor (${latest}).`;
  } else {
    p.textContent = `Idle: ${latest}.`;
  }
}

function stateBadge(state) {
  return text("span", state.replace("_", " "), `state state-${state}`);
}

function renderPending(pending) {
  const tbody = $("#pending tbody");
  fillRows(
    tbody,
    pending.map((p) => [
      p.correlationId,
      money(p.amount),
      duration(p.ageSeconds),
      td(stateBadge(p.state)),
      p.processor ?? "—",
      p.attempts,
      p.lastOutcome ?? "—",
    ]),
  );
  [...tbody.rows].forEach((row, i) => {
    row.dataset.id = pending[i].correlationId;
    row.addEventListener("click", () => lookup(pending[i].correlationId));
  });
  if (pending.length === 0) {
    const row = tbody.insertRow();
    const cell = text("td", "nothing pending", "muted");
    cell.colSpan = 7;
    row.append(cell);
  }
}

function render(data) {
  view.data = data;
  if (typeof uPlot !== "undefined") {
    if (!view.chart) view.chart = makeChart(data);
    else view.chart.setData(chartData(data));
  }
  renderSettled(data.settled);
  renderQueue(data.queue);
  renderAttempts(data.attempts);
  renderHealth(data.health, data.routing);
  renderPending(data.pending);
  $("#freshness").textContent = `live · ${new Date(data.takenAt).toLocaleTimeString()}`;
}

async function poll() {
  try {
    const res = await fetch("/console/data", { cache: "no-store" });
    if (!res.ok) throw new Error((await res.json()).error ?? `HTTP ${res.status}`);
    render(await res.json());
    view.failures = 0;
  } catch (err) {
    view.failures++;
    $("#freshness").textContent = `stale: ${err.message}`;
  } finally {
    // Back off while the service does not answer; about once a second otherwise.
    setTimeout(poll, Math.min(10_000, 1_000 * 2 ** view.failures));
  }
}

async function lookup(id) {
  const box = $("#lookup-result");
  box.hidden = false;
  box.replaceChildren(text("h2", `Payment ${id}`));
  $("#lookup-id").value = id;
  try {
    const res = await fetch(`/payments/${encodeURIComponent(id.trim())}`, { cache: "no-store" });
    const body = await res.json();
    if (!res.ok) {
      box.append(text("p", `${res.status}: ${body.error}`, "bad"));
      box.dataset.state = "error";
      return;
    }
    const dl = document.createElement("dl");
    for (const [key, value] of Object.entries(body)) {
      dl.append(text("dt", key));
      const dd = document.createElement("dd");
      if (key === "state") dd.append(stateBadge(value));
      else dd.textContent = value === null ? "—" : String(value);
      dl.append(dd);
    }
    box.append(dl);
    box.dataset.state = body.state;
  } catch (err) {
    box.append(text("p", err.message, "bad"));
    box.dataset.state = "error";
  }
}

$("#lookup").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = $("#lookup-id").value.trim();
  if (id) lookup(id);
});

poll();
