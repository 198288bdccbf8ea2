// The official Rinha de Backend 2024/Q1 load test (spec ../shared/spec/rinha-2024-q1.md §4),
// rewritten for k6 in our own code: the same steps in the same order, the same arrival rates,
// the same checks in the same order (the first failing one names the failure, as Gatling logs
// it), the 250 ms band and the payout of §5.1. Results go to ledger.json for bench/run_ledger.ts.
//
// Environment (all optional):
//   TARGET_URL   the service (default http://localhost:9999)
//   RAMP_S       seconds of the arrival-rate ramp (default 120, as in the official test)
//   STEADY_S     seconds at the peak rate (default 120)
//   RESULTS_DIR  where summary.json and ledger.json go (nothing written if unset)
//
// Response time is Gatling's: from the start of the request, connection set-up included, to the
// end of the response (k6's blocked + connecting + duration).
import http from "k6/http";
import exec from "k6/execution";
import { Counter, Trend } from "k6/metrics";

const env = (name, fallback) => (__ENV[name] ? __ENV[name] : fallback);
const base = env("TARGET_URL", "http://localhost:9999").replace(/\/+$/, "");
const rampSeconds = Number(env("RAMP_S", "120"));
const steadySeconds = Number(env("STEADY_S", "120"));
const resultsDir = env("RESULTS_DIR", "");

/** The seeded clients' limits (spec §2). */
const limits = { 1: 100000, 2: 80000, 3: 1000000, 4: 10000000, 5: 500000 };
const groups = ["debitos", "creditos", "extratos", "validacoes"];
/** Why a request is KO: its first failing check. The two consistency kinds are fined (§5.1). */
const koKinds = ["status", "field", "saldo_limite", "saldo_total", "statement", "network"];
const finedKinds = new Set(["saldo_limite", "saldo_total"]);

const responseTime = new Trend("response_time", true);
const requests = new Counter("requests");
const okUnder250 = new Counter("ok_under_250");
const ko = new Counter("ko");

// A threshold that always passes is how k6 is told to keep a tagged sub-metric in the summary.
const thresholds = {
  response_time: ["max>=0"],
  requests: ["count>=0"],
  ok_under_250: ["count>=0"],
  ko: ["count>=0"],
};
for (const g of groups) {
  thresholds[`response_time{group:${g}}`] = ["max>=0"];
  thresholds[`requests{group:${g}}`] = ["count>=0"];
  thresholds[`ko{group:${g}}`] = ["count>=0"];
}
for (const k of koKinds) thresholds[`ko{kind:${k}}`] = ["count>=0"];

/** Gatling's rampUsersPerSec(1 → peak) over RAMP_S, then constantUsersPerSec(peak) for STEADY_S. */
function load(fn, peak) {
  return {
    executor: "ramping-arrival-rate",
    exec: fn,
    startRate: 1,
    timeUnit: "1s",
    stages: [{ duration: `${rampSeconds}s`, target: peak }, {
      duration: `${steadySeconds}s`,
      target: peak,
    }],
    // One VU per request per second at the peak: a VU started mid-test costs k6 an init, and a
    // request with no free VU is dropped (counted as dropped_iterations, never sent).
    preAllocatedVUs: peak,
    maxVUs: 2000,
  };
}

export const options = {
  scenarios: {
    // E and F start together once setup (steps A–D) is over, and the load with them (§4.3).
    criterios: { executor: "per-vu-iterations", exec: "criteria", vus: 5, iterations: 1 },
    nao_encontrado: { executor: "per-vu-iterations", exec: "notFound", vus: 1, iterations: 1 },
    debitos: load("debit", 220),
    creditos: load("credit", 110),
    extratos: load("statement", 10),
  },
  thresholds,
  summaryTrendStats: ["min", "med", "p(75)", "p(95)", "p(99)", "max", "count"],
  // Gatling gives each virtual user its own connections and each load user sends one request:
  // so does k6 with no reuse across iterations.
  noVUConnectionReuse: true,
  batch: 25,
  batchPerHost: 25,
  setupTimeout: "120s",
};

const headers = { "Content-Type": "application/json" };
const paramsFor = (group) => ({ headers, tags: { group } });

function postTx(id, valor, tipo, descricao, group) {
  return [
    "POST",
    `${base}/clientes/${id}/transacoes`,
    JSON.stringify({ valor, tipo, descricao }),
    paramsFor(group),
  ];
}
function getStatement(id, group) {
  return ["GET", `${base}/clientes/${id}/extrato`, null, paramsFor(group)];
}
const send = ([method, url, body, params]) => http.request(method, url, body, params);

/** Records one answer: its time, its group, and KO with the kind of its first failing check. */
function record(res, group, failure) {
  const t = res.timings;
  const ms = t.blocked + t.connecting + t.duration;
  const failed = res.status === 0 ? "network" : failure;
  responseTime.add(ms, { group });
  requests.add(1, { group });
  if (failed) {
    ko.add(1, { group, kind: failed });
  } else if (ms < 250) {
    okUnder250.add(1, { group });
  }
  return !failed;
}

function body(res) {
  try {
    return JSON.parse(res.body);
  } catch {
    return undefined;
  }
}

const isInt32 = (v) =>
  typeof v === "number" && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;
/** Gatling's "as Int" on a JSON value: a number or a numeric string that parses as an Int. */
function asInt(v) {
  if (isInt32(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v) && isInt32(Number(v))) return Number(v);
  return undefined;
}
const present = (v) => v !== undefined && v !== null;

/** A 200 to a transaction: limite present, then saldo an Int >= -limite. */
function checkTxBody(res) {
  const b = body(res);
  if (!b || !present(b.limite)) return "field";
  const saldo = asInt(b.saldo);
  const limite = asInt(b.limite);
  if (saldo === undefined || limite === undefined || saldo < -limite) return "saldo_limite";
  return null;
}

/** A statement: saldo.limite present, then saldo.total an Int >= -saldo.limite. */
function checkStatementBody(res) {
  const b = body(res);
  if (!b || !b.saldo || !present(b.saldo.limite)) return "field";
  const total = asInt(b.saldo.total);
  const limite = asInt(b.saldo.limite);
  if (total === undefined || limite === undefined || total < -limite) return "saldo_limite";
  return null;
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function randomDescricao() {
  let s = "";
  for (let i = 0; i < 10; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}
const randomId = () => 1 + Math.floor(Math.random() * 5);
const randomValor = () => 1 + Math.floor(Math.random() * 10000);

export function debit() {
  const res = send(postTx(randomId(), randomValor(), "d", randomDescricao(), "debitos"));
  if (res.status === 422) return record(res, "debitos", null);
  record(res, "debitos", res.status !== 200 ? "status" : checkTxBody(res));
}

export function credit() {
  const res = send(postTx(randomId(), randomValor(), "c", randomDescricao(), "creditos"));
  record(res, "creditos", res.status !== 200 ? "status" : checkTxBody(res));
}

export function statement() {
  const res = send(getStatement(randomId(), "extratos"));
  const ok = (res.status >= 200 && res.status < 300) || res.status === 304;
  record(res, "extratos", ok ? checkStatementBody(res) : "status");
}

const v = "validacoes";

/** Steps A–D: 25 concurrent debits, the balance, 25 concurrent credits, the balance. */
export function setup() {
  const burst = (tipo) => {
    for (
      const res of http.batch(Array.from({ length: 25 }, () => postTx(1, 1, tipo, "validacao", v)))
    ) {
      record(res, v, res.status === 200 ? null : "status");
    }
  };
  const balanceIs = (expected) => {
    const res = send(getStatement(1, v));
    const b = body(res);
    const total = b && b.saldo ? asInt(b.saldo.total) : undefined;
    record(
      res,
      v,
      res.status >= 300 && res.status !== 304
        ? "status"
        : total === expected
        ? null
        : "saldo_total",
    );
  };
  burst("d");
  balanceIs(-25);
  burst("c");
  balanceIs(0);
}

function itemIs(b, index, expected) {
  const t = b && b.ultimas_transacoes ? b.ultimas_transacoes[index] : undefined;
  return !!t && t.descricao === expected.descricao && t.tipo === expected.tipo &&
    asInt(t.valor) === expected.valor;
}

/** Step E: one user per client, the sequence of §4.2 (it carries on after a failed check). */
export function criteria() {
  const id = exec.scenario.iterationInTest + 1;
  const limite = limits[id];

  let res = send(getStatement(id, v));
  let b = body(res);
  record(
    res,
    v,
    res.status !== 200
      ? "status"
      : !b || !b.saldo || String(b.saldo.limite) !== String(limite)
      ? "field"
      : String(b.saldo.total) !== "0"
      ? "saldo_total"
      : null,
  );

  for (const [tipo, descricao] of [["c", "toma"], ["d", "devolve"]]) {
    res = send(postTx(id, 1, tipo, descricao, v));
    record(res, v, res.status !== 200 ? "status" : checkTxBody(res));
  }

  res = send(getStatement(id, v));
  b = body(res);
  const ordered = itemIs(b, 0, { descricao: "devolve", tipo: "d", valor: 1 }) &&
    itemIs(b, 1, { descricao: "toma", tipo: "c", valor: 1 });
  record(res, v, res.status >= 300 ? "status" : ordered ? null : "statement");

  res = send(postTx(id, 1, "c", "danada", v));
  const saved = body(res);
  record(res, v, res.status !== 200 ? "status" : saved && present(saved.limite) ? null : "field");
  const reads = http.batch([1, 2, 3, 4].map(() => getStatement(id, v)));
  for (const r of reads) {
    const rb = body(r);
    record(
      r,
      v,
      r.status >= 300
        ? "status"
        : !itemIs(rb, 0, { descricao: "danada", tipo: "c", valor: 1 })
        ? "statement"
        : !saved || String(rb.saldo.limite) !== String(saved.limite)
        ? "field"
        : String(rb.saldo.total) !== String(saved.saldo)
        ? "saldo_total"
        : null,
    );
  }

  const invalid = [
    { valor: 1.2, tipo: "d", descricao: "devolve" },
    { valor: 1, tipo: "x", descricao: "devolve" },
    { valor: 1, tipo: "c", descricao: "123456789 e mais um pouco" },
    { valor: 1, tipo: "c", descricao: "" },
    { valor: 1, tipo: "c", descricao: null },
  ];
  for (const payload of invalid) {
    res = send([
      "POST",
      `${base}/clientes/${id}/transacoes`,
      JSON.stringify(payload),
      paramsFor(v),
    ]);
    record(res, v, res.status === 422 || res.status === 400 ? null : "status");
  }
}

/** Step F: an unknown client is a 404. */
export function notFound() {
  const res = send(getStatement(6, v));
  record(res, v, res.status === 404 ? null : "status");
}

function metric(data, name, stat) {
  const m = data.metrics[name];
  return m && m.values && m.values[stat] !== undefined ? m.values[stat] : undefined;
}

function percentiles(data, name) {
  const get = (stat) => metric(data, name, stat) ?? null;
  return {
    p50: get("med"),
    p75: get("p(75)"),
    p95: get("p(95)"),
    p99: get("p(99)"),
    max: get("max"),
  };
}

export function handleSummary(data) {
  const count = (name) => metric(data, name, "count") ?? 0;
  const total = count("requests");
  const under = count("ok_under_250");
  const koByKind = Object.fromEntries(koKinds.map((k) => [k, count(`ko{kind:${k}}`)]));
  const consistencyFailures = koKinds.filter((k) => finedKinds.has(k))
    .reduce((sum, k) => sum + koByKind[k], 0);
  // §5.1 in integer cents: pct rounded to hundredths of a percent, fines from it exactly.
  const pctHundredths = total ? Math.round((under * 10000) / total) : 0;
  const slaFineCents = Math.max(0, 9800 - pctHundredths) * 1000;
  const consistencyFineCents = 80301 * consistencyFailures;
  const payoutCents = Math.max(0, 10000000 - slaFineCents - consistencyFineCents);
  const report = {
    requests: total,
    droppedIterations: metric(data, "dropped_iterations", "count") ?? 0,
    okUnder250: under,
    pctUnder250: pctHundredths / 100,
    ko: count("ko"),
    koByKind,
    consistencyFailures,
    slaFineUsd: slaFineCents / 100,
    consistencyFineUsd: consistencyFineCents / 100,
    payoutUsd: payoutCents / 100,
    overall: percentiles(data, "response_time"),
    groups: Object.fromEntries(groups.map((g) => [g, {
      requests: count(`requests{group:${g}}`),
      ko: count(`ko{group:${g}}`),
      ...percentiles(data, `response_time{group:${g}}`),
    }])),
    rampSeconds,
    steadySeconds,
  };
  const fixed = (x) => (x === null ? "–" : x.toFixed(2));
  const o = report.overall;
  const line = `payout USD ${report.payoutUsd.toFixed(2)} | requests ${total}` +
    ` (${report.droppedIterations} dropped) | KO ${report.ko}` +
    ` | consistency ${consistencyFailures} | < 250 ms ${report.pctUnder250} %` +
    ` | p50/p75/p95/p99/max ${[o.p50, o.p75, o.p95, o.p99, o.max].map(fixed).join("/")} ms\n`;
  const out = { stdout: line };
  if (resultsDir) {
    out[`${resultsDir}/summary.json`] = JSON.stringify(data, null, 2);
    out[`${resultsDir}/ledger.json`] = JSON.stringify(report, null, 2);
  }
  return out;
}
