# API image: `deno run main.ts` on the official Deno image, dependencies baked in at build time.
#
# Base: denoland/deno:alpine-2.9.6, the same Deno version as our dev machines (the deploy test
# checks that the tag matches), in both stages.
# - Not distroless: its only program is deno, so a container health check would have to start
#   a second Deno process. Measured: ~60 ms of CPU and ~40 MB RSS per probe, charged to the
#   API's own 0.45-CPU / 110 MB cgroup; every probe would throttle the instance for most of a
#   100 ms CPU-quota period and show up in the p99 latency. Alpine's busybox `wget` costs ~1 ms.
# - Not debian: bigger, with nothing we need beyond what Alpine's busybox already has.
#
# Why not `deno compile`: the binary embeds the same runtime, so it saves neither memory nor
# CPU once running; the migrations read sql/*.sql from disk and would need `--include`; and
# keeping `deno run main.ts` makes the container run exactly what the native stack runs.

# ---- build: resolve and download dependencies exactly as deno.lock records them ----
FROM denoland/deno:alpine-2.9.6 AS build
ENV DENO_DIR=/deno-dir/ \
    DENO_NO_UPDATE_CHECK=1
WORKDIR /app
COPY deno.json deno.lock ./
# The patched postgres.js that deno.json links in place of the registry copy (it needs a
# node_modules folder, made by the install below and copied with /app).
COPY vendor/ ./vendor/
COPY main.ts ./
COPY src/ ./src/
COPY sql/ ./sql/
# --frozen: fail the build if deno.lock does not already pin everything main.ts needs, instead
# of quietly resolving other versions. --entrypoint walks main.ts's module graph, so every
# local module is also transpiled into Deno's cache and containers start without compiling
# TypeScript. (Deno fetches every npm package the lockfile records, test-only ones included:
# a few MB, not worth a second lockfile.)
RUN deno install --frozen --entrypoint main.ts

# ---- runtime: base image + dependency cache + sources, nothing else from the build ----
FROM denoland/deno:alpine-2.9.6
# BIND_HOST 0.0.0.0: HAProxy connects on the private network, the health check on loopback.
ENV DENO_DIR=/deno-dir/ \
    DENO_NO_UPDATE_CHECK=1 \
    BIND_HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# Owned by root and read-only for the app user: the process cannot alter its own code or
# dependencies. Deno runs fine with a read-only DENO_DIR once everything is cached.
COPY --from=build /deno-dir/ /deno-dir/
COPY --from=build /app/ /app/
# The health check relies on busybox wget and USER on the image's `deno` account: if a future
# base image lacked either, fail the build here rather than the container at runtime.
RUN command -v wget && id deno

# Unprivileged user shipped by the official image.
USER deno
EXPOSE 8080

# /health answers 200 only when the instance can reach Postgres; compose waits on it before
# starting HAProxy. TCP only: with SOCKET_PATH set, override the check.
HEALTHCHECK --interval=5s --timeout=2s --start-period=30s --retries=3 \
    CMD wget -q -T 2 -O /dev/null "http://127.0.0.1:${PORT:-8080}/health" || exit 1

# deno itself is the entrypoint; compose adds `init: true` so a tiny init reaps and forwards
# signals (SIGTERM reaches Deno's graceful shutdown).
ENTRYPOINT ["deno"]
# --cached-only/--frozen: never reach the network for code at runtime; everything was fetched
# above. -A: the service needs net, env, read (sql/) and more; the container is the boundary.
# The V8 flags are src/v8_flags.ts's (why each one is there), the same as `deno task start`
# and the bench stack, so what is measured is what ships.
CMD ["run", "-A", "--cached-only", "--frozen", "--v8-flags=--max-old-space-size=48,--max-semi-space-size=8", "main.ts"]
