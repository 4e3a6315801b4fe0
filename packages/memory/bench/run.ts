/*
 * `pnpm bench` for @tsmalloc/memory: what a view getter (`memory.u32`) costs on each backing, as
 * the allocators call it on their hot paths, against a typed array held in a local variable.
 * Every contender runs the same loop (one getter call and one load per step); runs alternate
 * between contenders and each cell is the median of the runs.
 *
 *   pnpm bench                    7 runs of 20 M steps each
 *   pnpm bench --runs 9           more runs
 *   pnpm bench --quick            1 run of 1 M steps (a smoke test)
 */
import { LinearMemory } from "@tsmalloc/memory";
import { median, parseBenchArgs } from "@tsmalloc/testkit";

const { runs, quick } = parseBenchArgs();
const steps = quick ? 1_000_000 : 20_000_000;

interface Contender {
  readonly name: string;
  /** One timed loop: `steps` reads of a word, through the getter or not. */
  readonly loop: () => number;
}

/** Steps through the memory's words through its `u32` getter, once per step. */
function getterLoop(memory: LinearMemory): () => number {
  // reading a word under the header page, whatever the memory's size
  return () => {
    let sum = 0;
    for (let i = 0; i < steps; i++) sum = (sum + memory.u32[i & 4095]!) | 0;
    return sum;
  };
}

/** The same loop over a Uint32Array in a local variable: the floor. */
function localLoop(memory: LinearMemory): () => number {
  return () => {
    const u32 = memory.u32;
    let sum = 0;
    for (let i = 0; i < steps; i++) sum = (sum + u32[i & 4095]!) | 0;
    return sum;
  };
}

const memories: [string, LinearMemory][] = [
  ["WebAssembly.Memory", new LinearMemory({ maximum: 64 << 20 })],
  ["shared WebAssembly.Memory", new LinearMemory({ shared: true, maximum: 64 << 20 })],
  ["fixed ArrayBuffer", new LinearMemory({ buffer: new ArrayBuffer(4 << 20) })],
  ["growable SharedArrayBuffer", new LinearMemory({ buffer: new SharedArrayBuffer(1 << 20, { maxByteLength: 64 << 20 }) })],
];
const contenders: Contender[] = [];
for (const [name, memory] of memories) {
  contenders.push({ name: `${name}: memory.u32 per step`, loop: getterLoop(memory) });
  contenders.push({ name: `${name}: local Uint32Array`, loop: localLoop(memory) });
}

const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
let sink = 0;
// one untimed pass each, so that every loop is compiled before it is timed
for (const c of contenders) sink ^= c.loop();
for (let run = 0; run < runs; run++) {
  for (const c of contenders) {
    const start = process.hrtime.bigint();
    sink ^= c.loop();
    times.get(c.name)!.push(Number(process.hrtime.bigint() - start) / steps);
  }
}
const lines = ["| backing | view | ns per step |", "|---|---|---:|"];
for (const c of contenders) {
  const [backing, view] = c.name.split(": ");
  lines.push(`| ${backing} | ${view} | ${median(times.get(c.name)!)!.toFixed(2)} |`);
}
process.stdout.write(`${lines.join("\n")}\n\nmedian of ${runs} run(s) of ${steps} steps, contenders alternating; node ${process.version} (checksum ${sink})\n`);
