// The V8 flags every API instance runs with: `deno task start`, the dev and bench stack, the
// tests' instance processes and the Docker image (tests/deploy_test.ts checks that deno.json
// and the Dockerfile carry this exact string).
//
// --max-old-space-size=48: a clean V8 out-of-memory exit (and a restart) well before the
//   container's 120 MB limit, rather than a kernel OOM kill mid-request; the live heap under
//   the official scenario is 9–11 MB.
// --max-semi-space-size=8: without it, V8 sizes the young generation from the small old space,
//   objects that live for one processor call (~100 ms) get promoted, and the old space fills
//   with garbage: measured ~21 full mark-compacts per second per instance from the backlog's
//   drain on (469–484 in 22 s), ~1.8 ms of GC-thread CPU per payment. With 8 MB: 5 full GCs
//   in the whole run, RSS 101 → 88 MB (../shared/design-notes.md; bench/README.md has ours).
export const apiV8Flags = "--max-old-space-size=48,--max-semi-space-size=8";
