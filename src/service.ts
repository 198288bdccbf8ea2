// Assembles one API instance: the pool, migrations, intake, worker, health poller, LISTEN,
// and the HTTP server; and takes them down in the right order.
import type { Config } from "./config.ts";
import { connect, openConnections, type Sql } from "./db/connect.ts";
import { migrate } from "./db/migrate.ts";
import { createHandler } from "./http/app.ts";
import { createLogger, type Logger } from "./log.ts";
import { Intake } from "./payments/intake.ts";
import { LedgerMaintenance } from "./payments/ledger_maintenance.ts";
import { notifyPending, pendingChannel } from "./payments/store.ts";
import { HealthPoller } from "./processors/health_poller.ts";
import { ProcessorRouter } from "./processors/router.ts";
import { DEFAULT, FALLBACK, type ProcessorId } from "./processors/processor_id.ts";
import { Dispatcher } from "./worker/dispatcher.ts";
import { NotifyLimiter } from "./worker/notify_limiter.ts";
import { outcomeFlushes } from "./worker/outcome_writer.ts";
import { ledgerConnections } from "./ledger/store.ts";
import { createServiceMetrics, type ServiceMetrics } from "./metrics/service_metrics.ts";

export interface Service {
  /** "http://host:port" or "unix:/path". */
  address: string;
  port?: number;
  sql: Sql;
  dispatcher: Dispatcher;
  metrics: ServiceMetrics;
  stop(): Promise<void>;
}

export async function startService(config: Config, log?: Logger): Promise<Service> {
  log ??= createLogger(config.logLevel, { instance: config.instanceId }, config.logFormat);
  // This instance's pools: the same name (pool_stats_store finds them by it) and commit mode.
  const newPool = (max: number) =>
    connect(config.databaseUrl, {
      max,
      applicationName: config.instanceId,
      synchronousCommit: config.synchronousCommit,
    });
  const sql = newPool(config.dbPoolMax);
  // Claims must commit durably whatever the acknowledgement's setting (claimBatch): with
  // SYNCHRONOUS_COMMIT=off they get one connection of their own whose session is "on", so a
  // claim is one statement instead of a four-round-trip transaction. The dispatcher claims
  // one batch at a time, so one connection is all it can use.
  const claimSql = config.synchronousCommit === "on" ? sql : connect(config.databaseUrl, {
    max: 1,
    applicationName: config.instanceId,
    synchronousCommit: "on",
  });
  // The two hottest statements get connections of their own: the intake's INSERT (one per
  // acknowledgement batch) and the worker's settlements and reschedules. postgres.js hands a
  // query to the pool's longest-idle connection, so in the shared pool every INSERT ran on
  // a backend whose caches had gone cold; on its own connection it runs on the same warm one.
  // `deno task bench`, 2026-12-02 (bench/README.md, 14:45 UTC), six runs against nine: the
  // INSERT executes in 0.14–0.19 ms instead of 0.20–0.23, the stack uses 2.25 ms of CPU per
  // payment on average instead of 2.36.
  const intakeSql = newPool(config.intakeMaxFlushes);
  const outcomeSql = newPool(outcomeFlushes);
  // The ledger's statements likewise (ledgerConnections says why one, and what it saved).
  const ledgerSql = newPool(ledgerConnections);
  const applied = await migrate(sql);
  if (applied.length) log.info("migrations_applied", { applied });

  const urls = {
    [DEFAULT]: config.processorDefaultUrl,
    [FALLBACK]: config.processorFallbackUrl,
  } as Record<ProcessorId, string>;
  const router = new ProcessorRouter(config);
  const metrics = createServiceMetrics({
    sql,
    applicationName: config.instanceId,
    isProcessorHealthy: (p) => router.isHealthy(p),
    onCollectError: (metric, err) => log.warn("metrics_collect_failed", { metric, err }),
  });
  const dispatcher = new Dispatcher({
    sql: outcomeSql,
    claimSql,
    router,
    urls,
    settings: { owner: config.instanceId, ...config },
    log,
    metrics,
  });
  const notifier = new NotifyLimiter(() => {
    notifyPending(sql).catch((err) => log.warn("notify_failed", { err }));
  }, { intervalMs: config.notifyMinIntervalMs });
  const intake = new Intake({
    sql: intakeSql,
    onEnqueued: () => {
      dispatcher.hint();
      notifier.call();
    },
    maxFlushes: config.intakeMaxFlushes,
    worker: dispatcher,
    durableSql: claimSql === sql ? undefined : claimSql,
    durableLingerMs: config.claimCoalesceMs,
    log,
  });
  const poller = new HealthPoller({
    sql,
    router,
    urls,
    intervalMs: config.healthCheckIntervalMs,
    log,
  });
  const maintenance = new LedgerMaintenance({
    sql,
    rollupIntervalMs: config.rollupIntervalMs,
    log,
  });
  // NOTIFY is a hint like a local enqueue; on every (re)connect of the listener, catch up by
  // claiming at once, since notifications sent while it was away are lost.
  const listener = await sql.listen(
    pendingChannel,
    () => dispatcher.hint(),
    () => dispatcher.wake(),
  );

  const handler = createHandler({ sql, ledgerSql, intake, log, metrics, ...config });
  const server = config.socketPath
    ? Deno.serve({ path: config.socketPath, onListen: () => {} }, handler)
    : Deno.serve({ port: config.port, hostname: config.hostname, onListen: () => {} }, handler);
  const addr = server.addr;
  const address = addr.transport === "tcp"
    ? `http://${addr.hostname === "0.0.0.0" ? "127.0.0.1" : addr.hostname}:${addr.port}`
    : `unix:${(addr as Deno.UnixAddr).path}`;
  dispatcher.start();
  poller.start();
  maintenance.start();
  metrics.start();
  log.info("listening", { address, synchronousCommit: config.synchronousCommit });
  // Every pool connection opened now, in the background, rather than by the first burst of
  // requests: the ledger test starts with 25 concurrent debits, and with connections opened on
  // demand its first requests waited for Postgres backends to start. `RAMP_S=10 STEADY_S=10
  // deno task bench:ledger`, 2026-12-02, two runs each: p99 of that group 370-440 → 120-123
  // ms, max of the run 379-441 → 123-128 ms, 99.79-99.85 → 100 % under 250 ms. Not awaited:
  // awaiting it before the bind lengthened start-up; awaiting it after the bind made /health
  // answer before start-up had ended. A failure only means connections open on demand.
  for (const pool of [sql, intakeSql, outcomeSql, ledgerSql]) {
    openConnections(pool).catch((err) => log.warn("pool_open_failed", { err }));
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await server.shutdown();
      await intake.drained();
      notifier.cancel();
      await poller.stop();
      await maintenance.stop();
      metrics.stop();
      await dispatcher.stop();
      await listener.unlisten().catch(() => {});
      if (claimSql !== sql) await claimSql.end({ timeout: 5 });
      await intakeSql.end({ timeout: 5 });
      await outcomeSql.end({ timeout: 5 });
      await ledgerSql.end({ timeout: 5 });
      await sql.end({ timeout: 5 });
      log.info("stopped");
    })();
  return {
    address,
    port: addr.transport === "tcp" ? addr.port : undefined,
    sql,
    dispatcher,
    metrics,
    stop,
  };
}
