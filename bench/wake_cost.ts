// What one turn of an idle event loop costs on this machine: a chain of timers at a fixed rate,
// nothing else, and the process's CPU time (every thread) per wake-up. A payment costs each
// process on its path a few such turns (bench/README.md, "the floor per event"), so this is
// the part of a payment's CPU that no change to our own code can remove.
//
//   deno run -A bench/wake_cost.ts [rate per second, default 500] [seconds, default 10]
import { ownCpuMs } from "./machine.ts";

const rate = Number(Deno.args[0] ?? 500);
const seconds = Number(Deno.args[1] ?? 10);

const before = ownCpuMs();
const start = performance.now();
let wakes = 0;
await new Promise<void>((done) => {
  const tick = () => {
    wakes++;
    if (performance.now() - start >= seconds * 1000) return done();
    setTimeout(tick, 1000 / rate);
  };
  tick();
});
const used = ownCpuMs() - before;
console.log(
  `${wakes} wake-ups at ${rate}/s: ${used} ms of CPU, ${(used / wakes * 1000).toFixed(1)} µs each`,
);
