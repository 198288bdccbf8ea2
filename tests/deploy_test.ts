// Static checks of the deployment files (docker-compose.yml, haproxy.cfg, Dockerfile,
// .dockerignore). No Docker engine runs where we develop, so everything the challenge rules
// and our own wiring require is verified here by reading the files, plus one real run of
// `haproxy -c` on the shared haproxy.cfg with both address styles.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { readConfig } from "../src/config.ts";
import { apiV8Flags } from "../src/v8_flags.ts";

const root = new URL("../", import.meta.url);
const readText = (path: string) => Deno.readTextFileSync(new URL(path, root));

// ---- generic helpers -------------------------------------------------------------------

type Mapping = Record<string, unknown>;

function isMapping(v: unknown): v is Mapping {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function mapping(v: unknown, what: string): Mapping {
  assert.ok(isMapping(v), `${what} must be a mapping`);
  return v;
}

/** CPU count ("0.45" or 0.45) in thousandths, so that sums stay exact. */
function parseCpus(v: unknown): number {
  const text = String(v).trim();
  assert.match(text, /^\d+(\.\d+)?$/, `cpus must be a plain decimal number, got "${text}"`);
  return Math.round(Number(text) * 1000);
}

const memoryUnits: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Docker memory size ("110MB", "150M", "64m", "1g", "1048576") in bytes (binary units). */
function parseMemory(v: unknown): number {
  const text = String(v).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(text);
  assert.ok(m, `memory must look like "150MB" or "150M", got "${text}"`);
  return Math.round(Number(m[1]) * memoryUnits[m[2].toLowerCase()]);
}

/** A service's environment as a map, whichever of compose's two syntaxes it uses. */
function envOf(service: Mapping): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const text = String(entry);
      const eq = text.indexOf("=");
      return eq < 0 ? [text, ""] : [text.slice(0, eq), text.slice(eq + 1)];
    }));
  }
  return Object.fromEntries(
    Object.entries(mapping(env, "environment")).map(([k, v]) => [k, v == null ? "" : String(v)]),
  );
}

/** Network names a service joins (list or mapping syntax). */
function networksOf(service: Mapping): string[] {
  const n = service.networks;
  if (n === undefined) return [];
  return Array.isArray(n) ? n.map(String) : Object.keys(mapping(n, "networks"));
}

/** depends_on as name -> condition (the short list syntax means "service_started"). */
function dependsOn(service: Mapping): Record<string, string> {
  const d = service.depends_on;
  if (d === undefined) return {};
  if (Array.isArray(d)) {
    return Object.fromEntries(d.map((name) => [String(name), "service_started"]));
  }
  return Object.fromEntries(
    Object.entries(mapping(d, "depends_on")).map((
      [name, v],
    ) => [name, String(mapping(v, `depends_on.${name}`).condition ?? "service_started")]),
  );
}

/** Host ports a service publishes, from short ("9999:9999", "127.0.0.1:80:80") or long syntax. */
function publishedPorts(service: Mapping): string[] {
  const ports = service.ports;
  if (ports === undefined) return [];
  assert.ok(Array.isArray(ports), "ports must be a list");
  return ports.map((p) => {
    if (isMapping(p)) return String(p.published ?? "");
    const parts = String(p).split("/")[0].split(":");
    // A bare "8080" publishes the container port on a random host port.
    return parts.length === 1 ? "(random)" : parts[parts.length - 2];
  });
}

/** Every (path, key, value) in a parsed YAML tree. */
function* walk(v: unknown, path: string[] = []): Generator<[string[], string, unknown]> {
  if (Array.isArray(v)) {
    for (const [i, item] of v.entries()) yield* walk(item, [...path, String(i)]);
  } else if (isMapping(v)) {
    for (const [k, item] of Object.entries(v)) {
      yield [path, k, item];
      yield* walk(item, [...path, k]);
    }
  }
}

// ---- the files -------------------------------------------------------------------------

const compose = mapping(parse(readText("docker-compose.yml")), "docker-compose.yml");
const services = mapping(compose.services, "services");
const service = (name: string) => mapping(services[name], `services.${name}`);
const apiNames = Object.keys(services).filter((name) => /^api\d*$/.test(name)).sort();

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined and comments dropped. */
function dockerInstructions(text: string): Instruction[] {
  const logical = text.replace(/\\\r?\n/g, " ").split(/\r?\n/);
  return logical
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

const dockerfile = dockerInstructions(readText("Dockerfile"));
const stages: Instruction[][] = [];
for (const ins of dockerfile) {
  if (ins.keyword === "FROM") stages.push([]);
  else assert.ok(stages.length > 0 || ins.keyword === "ARG", `${ins.keyword} before any FROM`);
  stages.at(-1)?.push(ins);
}
const finalStage = stages.at(-1) ?? [];

// ---- docker-compose.yml ----------------------------------------------------------------

Deno.test("compose: limits on every service sum to at most 1.5 CPU and 350 MB", () => {
  let cpus = 0;
  let memory = 0;
  for (const name of Object.keys(services)) {
    const limits = mapping(
      mapping(mapping(service(name).deploy, `${name}.deploy`).resources, `${name}.resources`)
        .limits,
      `${name}.deploy.resources.limits`,
    );
    const c = parseCpus(limits.cpus);
    const m = parseMemory(limits.memory);
    assert.ok(c > 0, `${name}: cpus limit must be positive`);
    assert.ok(m > 0, `${name}: memory limit must be positive`);
    cpus += c;
    memory += m;
  }
  assert.ok(cpus <= 1500, `CPU limits sum to ${cpus / 1000}, over the 1.5 allowed`);
  assert.ok(
    memory <= 350 * 1024 ** 2,
    `memory limits sum to ${(memory / 1024 ** 2).toFixed(1)} MB, over the 350 MB allowed`,
  );
});

Deno.test("compose: memory strings are parsed the way Docker reads them", () => {
  assert.equal(parseMemory("150M"), 150 * 1024 ** 2);
  assert.equal(parseMemory("150MB"), 150 * 1024 ** 2);
  assert.equal(parseMemory("64m"), 64 * 1024 ** 2);
  assert.equal(parseMemory("1g"), 1024 ** 3);
  assert.equal(parseMemory("512k"), 512 * 1024);
  assert.equal(parseMemory(1048576), 1048576);
  assert.equal(parseCpus("0.45") + parseCpus("0.45") + parseCpus("0.2") + parseCpus(0.4), 1500);
  assert.throws(() => parseMemory("lots"));
  assert.throws(() => parseCpus("50%"));
});

Deno.test("compose: no option the challenge forbids, no top-level name", () => {
  assert.ok(!("name" in compose), "top-level `name:` is rejected by docker-compose 1.29");
  for (const [path, key, value] of walk(services)) {
    const where = [...path, key].join(".");
    assert.notEqual(key, "privileged", `${where}: privileged containers are forbidden`);
    assert.notEqual(key, "network_mode", `${where}: only bridge networks are allowed`);
    assert.notEqual(key, "replicas", `${where}: deploy.replicas is forbidden`);
    if (key === "pid" || key === "ipc" || key === "userns_mode") {
      assert.notEqual(value, "host", `${where}: host namespaces are forbidden`);
    }
  }
  for (const [name, net] of Object.entries(mapping(compose.networks, "networks"))) {
    const n = isMapping(net) ? net : {};
    if (n.external === true) continue;
    assert.ok(
      n.driver === undefined || n.driver === "bridge",
      `network ${name} must use the bridge driver`,
    );
  }
});

Deno.test("compose: only haproxy publishes a port, and it is 9999", () => {
  for (const name of Object.keys(services)) {
    const ports = publishedPorts(service(name));
    if (name === "haproxy") assert.deepEqual(ports, ["9999"]);
    else assert.deepEqual(ports, [], `${name} must not publish ports`);
  }
});

Deno.test("compose: at least two API instances wired to the processors and to postgres", () => {
  assert.ok(apiNames.length >= 2, "the challenge requires at least two API instances");
  const nets = mapping(compose.networks, "networks");
  assert.equal(
    mapping(nets["payment-processor"], "networks.payment-processor").external,
    true,
    "payment-processor is created by the processors' compose file: it must be external",
  );
  const ids = new Set<string>();
  for (const name of apiNames) {
    const api = service(name);
    const env = envOf(api);
    assert.ok(networksOf(api).includes("payment-processor"), `${name} must join payment-processor`);
    assert.equal(env.PROCESSOR_DEFAULT_URL, "http://payment-processor-default:8080", name);
    assert.equal(env.PROCESSOR_FALLBACK_URL, "http://payment-processor-fallback:8080", name);
    // HAProxy connects on the private network and the healthcheck on loopback: bind to all.
    assert.equal(env.BIND_HOST, "0.0.0.0", `${name}: BIND_HOST must be 0.0.0.0`);
    assert.ok(env.INSTANCE_ID, `${name}: INSTANCE_ID must be set`);
    ids.add(env.INSTANCE_ID);

    const db = new URL(env.DATABASE_URL);
    assert.equal(db.protocol, "postgres:", `${name}: DATABASE_URL`);
    assert.ok(db.hostname in services, `${name}: DATABASE_URL host ${db.hostname} is no service`);
    const shared = networksOf(api).filter((n) => networksOf(service(db.hostname)).includes(n));
    assert.ok(shared.length > 0, `${name} and ${db.hostname} share no network`);
    assert.ok(
      ["on", "off"].includes(env.SYNCHRONOUS_COMMIT),
      `${name}: SYNCHRONOUS_COMMIT must be on or off`,
    );
  }
  assert.equal(ids.size, apiNames.length, "INSTANCE_ID must differ between instances");
});

Deno.test("compose: haproxy reaches each API on the port it listens on", () => {
  const lb = service("haproxy");
  const env = envOf(lb);
  assert.equal(env.HAPROXY_BIND, ":9999");
  assert.match(env.HAPROXY_STATS_BIND, /^127\.0\.0\.1:\d+$/, "stats must stay container-local");
  const volumes = ((lb.volumes as unknown[] | undefined) ?? []).map(String);
  assert.ok(
    volumes.some((v) =>
      /^\.\/haproxy\.cfg:\/usr\/local\/etc\/haproxy\/haproxy\.cfg(:ro)?$/.test(v)
    ),
    "haproxy must mount ./haproxy.cfg where the official image reads it",
  );
  const addrs = apiNames.map((_, i) => env[`API${i + 1}_ADDR`]);
  assert.deepEqual(
    addrs.map((a) => a?.split(":")[0]).sort(),
    apiNames,
    "API1_ADDR/API2_ADDR must name the api services",
  );
  for (const addr of addrs) {
    const [host, port] = addr.split(":");
    assert.equal(envOf(service(host)).PORT ?? "8080", port, `${host} listens on another port`);
    assert.ok(
      networksOf(lb).some((n) => networksOf(service(host)).includes(n)),
      `haproxy and ${host} share no network`,
    );
  }
});

Deno.test("compose: every service has an image; APIs are built from this repository", () => {
  for (const name of Object.keys(services)) {
    assert.ok(typeof service(name).image === "string", `${name} needs an image`);
  }
  for (const name of apiNames) {
    assert.ok(service(name).build !== undefined, `${name} needs build: .`);
    assert.equal(service(name).image, service(apiNames[0]).image, "all APIs run one image");
  }
  assert.match(String(service("postgres").image), /^postgres:15(\.|-|$)/);
});

Deno.test("compose: start order waits for health (postgres -> APIs -> haproxy)", () => {
  const pg = service("postgres");
  const check = mapping(pg.healthcheck, "postgres.healthcheck");
  assert.ok(
    JSON.stringify(check.test).includes("pg_isready"),
    "postgres health check uses pg_isready",
  );
  for (const name of apiNames) {
    assert.equal(dependsOn(service(name)).postgres, "service_healthy", `${name} -> postgres`);
    // An API's health check is either in compose or the image's HEALTHCHECK (Dockerfile).
    if (service(name).healthcheck === undefined) {
      assert.ok(finalStage.some((i) => i.keyword === "HEALTHCHECK"), `${name} has no healthcheck`);
    }
  }
  const lbDeps = dependsOn(service("haproxy"));
  for (const name of apiNames) {
    assert.equal(lbDeps[name], "service_healthy", `haproxy -> ${name}`);
  }
});

Deno.test("compose: postgres settings fit the API pools and agree on synchronous_commit", () => {
  const args = ((service("postgres").command as unknown[] | undefined) ?? []).map(String);
  assert.equal(args[0], "postgres");
  const settings = new Map<string, string>();
  for (let i = 1; i < args.length; i++) {
    const text = args[i] === "-c" ? args[++i] : args[i].replace(/^--/, "");
    const eq = text.indexOf("=");
    assert.ok(eq > 0, `cannot read postgres setting "${args[i]}"`);
    settings.set(text.slice(0, eq), text.slice(eq + 1));
  }
  const maxConnections = Number(settings.get("max_connections") ?? 100);
  // Each instance (src/service.ts): DB_POOL_MAX pooled connections (src/config.ts's default
  // 4), INTAKE_MAX_FLUSHES (default 1) for the intake, 2 for settles, 1 for the ledger, 1 for
  // LISTEN and, with SYNCHRONOUS_COMMIT=off, 1 for durable claims; 3 are superuser-reserved.
  const needed = apiNames.reduce((sum, name) => {
    const env = envOf(service(name));
    return sum + Number(env.DB_POOL_MAX ?? 4) + Number(env.INTAKE_MAX_FLUSHES ?? 1) + 2 + 1 + 1 +
      (env.SYNCHRONOUS_COMMIT === "on" ? 0 : 1);
  }, 3);
  assert.ok(needed <= maxConnections, `pools need ${needed} connections, max is ${maxConnections}`);
  const serverDefault = settings.get("synchronous_commit") ?? "on";
  for (const name of apiNames) {
    assert.equal(envOf(service(name)).SYNCHRONOUS_COMMIT, serverDefault, `${name} vs postgres`);
  }
  assert.notEqual(
    settings.get("fsync"),
    "off",
    "fsync=off risks corruption, not just lost commits",
  );
});

// ---- haproxy.cfg -----------------------------------------------------------------------

let haproxyPath: Promise<string> | undefined;

/** Path of a working haproxy binary; fails the test (never skips) when there is none. */
function haproxy(): Promise<string> {
  return haproxyPath ??= (async () => {
    const candidates = [Deno.env.get("HAPROXY_BIN"), "haproxy", "/usr/sbin/haproxy"];
    const tried: string[] = [];
    for (const candidate of candidates) {
      if (!candidate) continue;
      try {
        const out = await new Deno.Command(candidate, { args: ["-v"], stdout: "null" }).output();
        if (out.success) return candidate;
        tried.push(`${candidate}: exit ${out.code}`);
      } catch (err) {
        tried.push(`${candidate}: ${(err as Error).message}`);
      }
    }
    throw new Error(
      "haproxy is not installed, so haproxy.cfg cannot be validated. Install HAProxy 2.6 " +
        "(apt-get install haproxy) or point HAPROXY_BIN at it, then run the tests again.\n" +
        `  tried: ${tried.join("; ")}`,
    );
  })();
}

async function checkHaproxyConfig(env: Record<string, string>, clearEnv = false) {
  const out = await new Deno.Command(await haproxy(), {
    args: ["-c", "-f", new URL("haproxy.cfg", root).pathname],
    env: clearEnv ? { PATH: Deno.env.get("PATH") ?? "", ...env } : env,
    clearEnv,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/** Lines HAProxy flags as warnings or alerts, minus the ones listed as expected. */
function complaints(text: string, expected: RegExp[] = []): string[] {
  return text.split("\n").filter((line) =>
    /\[(WARNING|ALERT)\]/.test(line) && !expected.some((re) => re.test(line))
  );
}

Deno.test("haproxy.cfg: valid with native TCP addresses", async () => {
  const { code, text } = await checkHaproxyConfig({
    HAPROXY_BIND: ":9999",
    HAPROXY_STATS_BIND: "127.0.0.1:9998",
    API1_ADDR: "127.0.0.1:9001",
    API2_ADDR: "127.0.0.1:9002",
  });
  assert.equal(code, 0, text);
  assert.deepEqual(complaints(text), [], text);
});

Deno.test("haproxy.cfg: valid with unix socket addresses", async () => {
  const { code, text } = await checkHaproxyConfig({
    HAPROXY_BIND: "127.0.0.1:9999",
    HAPROXY_STATS_BIND: "127.0.0.1:9998",
    API1_ADDR: "unix@/sockets/api1.sock",
    API2_ADDR: "unix@/sockets/api2.sock",
  });
  assert.equal(code, 0, text);
  assert.deepEqual(complaints(text), [], text);
});

Deno.test("haproxy.cfg: valid with the environment docker-compose.yml gives it", async () => {
  const env = envOf(service("haproxy"));
  const { code, text } = await checkHaproxyConfig(env);
  assert.equal(code, 0, text);
  // Compose service names do not resolve outside Docker; init-addr lets the servers start
  // unresolved, and HAProxy says so. Anything else is a real problem.
  assert.deepEqual(complaints(text, [/could not resolve address 'api\d+'/]), [], text);
});

Deno.test("haproxy.cfg: rejected when the address variables are missing", async () => {
  const { code, text } = await checkHaproxyConfig({}, true);
  assert.notEqual(code, 0, `an unset API1_ADDR must fail loudly, got:\n${text}`);
});

Deno.test("haproxy.cfg: compose runs the same HAProxy branch the config is checked with", async () => {
  const out = await new Deno.Command(await haproxy(), { args: ["-v"], stdout: "piped" }).output();
  const local = /version (\d+\.\d+)/.exec(new TextDecoder().decode(out.stdout))?.[1];
  const tag = /^haproxy:(\d+\.\d+)/.exec(String(service("haproxy").image))?.[1];
  assert.ok(tag, "pin the haproxy image to a version branch, e.g. haproxy:2.6-alpine");
  assert.equal(tag, local, "haproxy.cfg is validated with a different HAProxy branch");
});

Deno.test("haproxy.cfg: health checks on /health, keep-alive to backends, one thread", () => {
  const cfg = readText("haproxy.cfg").split("\n").map((l) => l.replace(/#.*/, "").trim());
  const has = (re: RegExp) => cfg.some((line) => re.test(line));
  assert.ok(has(/^http-check send meth GET uri \/health\b/), "checks must GET /health");
  assert.ok(has(/^http-reuse (safe|aggressive|always)$/), "backend keep-alive (http-reuse)");
  assert.ok(has(/^nbthread 1$/), "nbthread 1");
  assert.ok(has(/^balance (leastconn|roundrobin)$/), "balance algorithm");
  assert.ok(has(/^server api1 "\$\{API1_ADDR\}"/) && has(/^server api2 "\$\{API2_ADDR\}"/));
  assert.ok(has(/^bind "\$\{HAPROXY_BIND\}"$/) && has(/^bind "\$\{HAPROXY_STATS_BIND\}"$/));
});

Deno.test("compose: haproxy's open-file limit covers haproxy.cfg's maxconn", () => {
  const cfg = readText("haproxy.cfg").split("\n").map((l) => l.replace(/#.*/, "").trim());
  const maxconns = cfg.map((l) => /^maxconn (\d+)$/.exec(l)?.[1]).filter((v) => v !== undefined)
    .map(Number);
  assert.ok(maxconns.length > 0, "haproxy.cfg must set maxconn (else HAProxy sizes it by ulimit)");
  const nofile = mapping(mapping(service("haproxy").ulimits, "ulimits").nofile, "nofile");
  // HAProxy refuses to start below about two descriptors per connection plus its listeners
  // and checks: "Cannot raise FD limit to 16401, limit is 16384" for maxconn 8192.
  const needed = 2 * Math.max(...maxconns) + 64;
  for (const kind of ["soft", "hard"]) {
    assert.ok(Number(nofile[kind]) >= needed, `nofile ${kind} ${nofile[kind]} < ${needed}`);
  }
});

Deno.test("haproxy.cfg: refuses declared bodies above the instances' MAX_BODY_BYTES", () => {
  // HAProxy waits for whole bodies, so an oversized one must be refused before that wait (or a
  // client declaring 10 MB would wait 5 s for a 408); the limit is the instances', written twice.
  const rule = readText("haproxy.cfg").split("\n").find((l) =>
    /^\s*http-request return status 413\b/.test(l)
  );
  assert.ok(rule, "haproxy.cfg must refuse oversized declared bodies");
  const { maxBodyBytes } = readConfig({ DATABASE_URL: "postgres://u@localhost/db" });
  for (const name of apiNames) {
    const env = envOf(service(name));
    assert.equal(env.MAX_BODY_BYTES ?? String(maxBodyBytes), String(maxBodyBytes), name);
  }
  assert.equal(/content-length\) gt (\d+)/.exec(rule)?.[1], String(maxBodyBytes));
  assert.equal(/larger than (\d+) bytes/.exec(rule)?.[1], String(maxBodyBytes));
});

// ---- Dockerfile and .dockerignore ------------------------------------------------------

Deno.test("Dockerfile: multi-stage on the Deno version we develop with", () => {
  assert.ok(stages.length >= 2, `expected at least 2 stages, found ${stages.length}`);
  const froms = dockerfile.filter((i) => i.keyword === "FROM").map((i) => i.args.split(" ")[0]);
  for (const image of froms) {
    if (!image.startsWith("denoland/deno:")) continue;
    assert.ok(
      image.endsWith(`-${Deno.version.deno}`) || image === `denoland/deno:${Deno.version.deno}`,
      `${image} differs from the Deno used here (${Deno.version.deno})`,
    );
  }
  assert.ok(froms.some((f) => f.startsWith("denoland/deno:")), "build on the official Deno image");
});

Deno.test("Dockerfile: final stage runs as a non-root user, with a health check", () => {
  const users = finalStage.filter((i) => i.keyword === "USER").map((i) => i.args.split(":")[0]);
  assert.ok(users.length > 0, "the final stage must set USER");
  assert.ok(!["root", "0"].includes(users.at(-1)!), "the final USER must not be root");
  const check = finalStage.find((i) => i.keyword === "HEALTHCHECK");
  assert.ok(check, "the final stage needs a HEALTHCHECK");
  assert.match(check.args, /\/health\b/, "the HEALTHCHECK must probe /health");
});

Deno.test("Dockerfile: dependencies come from deno.lock at build time", () => {
  const copiesLock = dockerfile.some((i) =>
    i.keyword === "COPY" && !i.args.includes("--from") && /(^|\s)deno\.lock(\s|$)/.test(i.args)
  );
  assert.ok(copiesLock, "deno.lock must be copied into the build");
  assert.ok(
    dockerfile.some((i) => i.keyword === "RUN" && /deno (install|cache).*--frozen/.test(i.args)),
    "dependencies must be installed with --frozen",
  );
});

Deno.test("Dockerfile: V8 heap cap sits inside the API memory limit", () => {
  const cmd = finalStage.filter((i) => i.keyword === "CMD").at(-1);
  assert.ok(cmd, "the final stage needs a CMD");
  const heapMb = Number(/--max-old-space-size=(\d+)/.exec(cmd.args)?.[1]);
  assert.ok(heapMb > 0, "CMD must cap the V8 heap with --max-old-space-size");
  assert.match(cmd.args, /main\.ts/);
  for (const name of apiNames) {
    const limits = mapping(
      mapping(mapping(service(name).deploy, "deploy").resources, "resources").limits,
      "limits",
    );
    const limitMb = parseMemory(limits.memory) / 1024 ** 2;
    // Deno needs memory outside the old space too: young generation, buffers, code pages.
    assert.ok(heapMb <= limitMb / 2, `${name}: heap cap ${heapMb} MB vs limit ${limitMb} MB`);
  }
});

Deno.test("the image and `deno task start` run with the V8 flags of src/v8_flags.ts", () => {
  const cmd = finalStage.filter((i) => i.keyword === "CMD").at(-1)!;
  assert.ok(cmd.args.includes(`"--v8-flags=${apiV8Flags}"`), cmd.args);
  const start = JSON.parse(readText("deno.json")).tasks.start as string;
  assert.ok(start.includes(`--v8-flags=${apiV8Flags} `), start);
});

/** Docker's rule: the last pattern matching a path or one of its parent directories wins. */
function dockerIgnored(path: string, patterns: string[]): boolean {
  const toRegExp = (glob: string) =>
    new RegExp(
      "^" + glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\/?|\*|\?/g, (t) =>
        t.startsWith("**") ? ".*" : t === "*" ? "[^/]*" : "[^/]") +
        "$",
    );
  const parts = path.split("/");
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith("!");
    const glob = (negate ? raw.slice(1) : raw).trim().replace(/^\/+|\/+$/g, "");
    if (candidates.some((c) => toRegExp(glob).test(c))) ignored = !negate;
  }
  return ignored;
}

function copySources(): string[] {
  return dockerfile
    .filter((i) => i.keyword === "COPY" && !i.args.includes("--from"))
    .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1))
    .map((src) => src.replace(/\/+$/, ""));
}

Deno.test(".dockerignore: keeps what the Dockerfile copies, drops the rest", () => {
  const patterns = readText(".dockerignore").split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  for (const src of copySources()) {
    assert.ok(!dockerIgnored(src, patterns), `${src} is excluded from the build context`);
    assert.ok(!dockerIgnored(`${src}/inner/file.ts`, patterns), `${src}/… is excluded`);
  }
  for (
    const local of [
      ".git/config",
      ".data/pg/postgresql.conf",
      ".tools/bin/k6",
      "tests/x.ts",
      // The tools (simulator, local stack, status CLI): the service never imports them.
      "tools/simulator/main.ts",
    ]
  ) {
    assert.ok(dockerIgnored(local, patterns), `${local} should stay out of the build context`);
  }
});

Deno.test("Dockerfile: every path it copies exists in the repository", async () => {
  for (const src of copySources()) {
    const stat = await Deno.stat(new URL(src, root)).catch(() => undefined);
    assert.ok(stat, `COPY ${src}: missing, docker build would fail`);
  }
});
