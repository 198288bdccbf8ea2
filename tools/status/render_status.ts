// Status data to terminal text. Pure: the same data always gives the same text, so tests can
// assert exact figures. Color only marks what needs a look (failing processors, abandoned
// leases, unknown outcomes) and is off unless the caller asks for it.
import type { HealthRecord } from "../../src/health/health_reads.ts";
import { processorNames } from "../../src/processors/processor_id.ts";
import type { AttemptStats, LeaseHolder, QueueDepth } from "../../src/queue/queue_reads.ts";
import type { SettledTotals, StatusData } from "./status_store.ts";
import { formatTable } from "./text_table.ts";

export interface RenderOptions {
  color: boolean;
}

const ansi = { bold: "\x1b[1m", red: "\x1b[31m", yellow: "\x1b[33m", reset: "\x1b[0m" };
type Paint = (text: string, tone: keyof typeof ansi) => string;

/** Cents as a decimal amount with two places: 4049n → "40.49". */
export function formatAmount(cents: bigint): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  return `${negative ? "-" : ""}${abs / 100n}.${(abs % 100n).toString().padStart(2, "0")}`;
}

/** A duration for people: "4.2 s", "3m 05s", "2h 07m". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.floor(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${pad2(whole % 60)}s`;
  return `${Math.floor(whole / 3600)}h ${pad2(Math.floor(whole / 60) % 60)}m`;
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

export function renderStatus(data: StatusData, options: RenderOptions): string {
  const paint: Paint = (text, tone) => options.color ? `${ansi[tone]}${text}${ansi.reset}` : text;
  const sections: [string, string[]][] = [
    ["Queue", renderQueue(data.queue, paint)],
    ["Attempts of queued payments", renderAttempts(data.attempts)],
    ["Settled (processed_payments)", renderSettled(data.settled)],
    ["Processor health (as last recorded)", renderHealth(data.health, paint)],
    ["Lease holders", renderLeases(data.leases, paint)],
  ];
  const lines = [
    paint(`Payments status: database ${data.database} at ${data.takenAt.toISOString()}`, "bold"),
  ];
  for (const [title, body] of sections) lines.push("", paint(title, "bold"), ...body);
  return lines.join("\n") + "\n";
}

function renderQueue(queue: QueueDepth, paint: Paint): string[] {
  const oldest = queue.oldestPendingAgeSeconds;
  return formatTable(
    [
      ["state", "rows"],
      ["due now", String(queue.dueNow)],
      ["backing off before a retry", String(queue.backingOff)],
      [`pinned, outcome unknown (${queue.pinnedDueNow} due now)`, String(queue.pinned)],
      ["in flight (leased)", String(queue.inFlight)],
      ["total", String(queue.total)],
      ["oldest pending, since accepted", oldest === null ? "none" : formatDuration(oldest)],
    ],
    ["left", "right"],
    (text, row) => row === 3 && queue.pinned > 0 ? paint(text, "yellow") : text,
  );
}

function renderAttempts(attempts: AttemptStats): string[] {
  return formatTable(
    [
      ["failed or unknown attempts", "rows"],
      ...attempts.buckets.map((b) => [b.attempts, String(b.rows)]),
      ["max", String(attempts.max)],
    ],
    ["left", "right"],
  );
}

function renderSettled(settled: SettledTotals[]): string[] {
  const total = settled.reduce((sum, s) => ({
    count: sum.count + s.count,
    cents: sum.cents + s.cents,
    lastMinuteCount: sum.lastMinuteCount + s.lastMinuteCount,
    lastMinuteCents: sum.lastMinuteCents + s.lastMinuteCents,
  }), { count: 0, cents: 0n, lastMinuteCount: 0, lastMinuteCents: 0n });
  const row = (name: string, t: Omit<SettledTotals, "processor">) => [
    name,
    String(t.count),
    formatAmount(t.cents),
    String(t.lastMinuteCount),
    formatAmount(t.lastMinuteCents),
  ];
  return formatTable(
    [
      ["processor", "payments", "amount", "last 60 s", "amount 60 s"],
      ...settled.map((s) => row(processorNames[s.processor], s)),
      row("total", total),
    ],
    ["left", "right", "right", "right", "right"],
  );
}

function renderHealth(health: HealthRecord[], paint: Paint): string[] {
  return formatTable(
    [
      ["processor", "failing", "min response", "checked"],
      ...health.map((h) => [
        processorNames[h.processor],
        h.failing ? "yes" : "no",
        `${h.minResponseMs} ms`,
        h.checkedAgoSeconds === null ? "never" : `${formatDuration(h.checkedAgoSeconds)} ago`,
      ]),
    ],
    ["left", "left", "right", "left"],
    (text, row, column) =>
      row > 0 && column === 1 && health[row - 1].failing ? paint(text, "red") : text,
  );
}

function renderLeases(leases: LeaseHolder[], paint: Paint): string[] {
  if (leases.length === 0) return ["  none"];
  const end = (s: number) => s >= 0 ? `in ${formatDuration(s)}` : `${formatDuration(-s)} ago`;
  return formatTable(
    [
      ["owner", "held", "expired", "latest lease end"],
      ...leases.map((l) => [l.owner, String(l.held), String(l.expired), end(l.latestEndInSeconds)]),
    ],
    ["left", "right", "right", "left"],
    // Expired leases mean a holder stopped working on its rows (died or hung): worth a look.
    (text, row, column) =>
      row > 0 && column === 2 && leases[row - 1].expired > 0 ? paint(text, "red") : text,
  );
}
