/*
 * `pnpm bench:remote-free`: what a remote free costs the allocator itself, with no second core.
 * One thread holds two heap slots of one shared memory (as two workers would) and frees blocks
 * of slot A's heap through slot B's heap (a remote free: the check, the mark, one compareExchange
 * onto A's list), against B freeing its own blocks (a local free), round after round, in
 * alternating order. Nothing crosses cores, so no cache line moves between them: the difference
 * is the software's. `tsmalloc bench --workers 2` measures the same with two workers, where the
 * blocks come from the other core's cache.
 *
 * Each round, A and B each make `blocks` blocks of 16..512 B; the figure is the median over
 * the rounds of ns per free. 500 blocks a side stay in a core's L2; 5,000 do not, and then both
 * frees are mostly cache misses.
 *
 *   pnpm bench:remote-free            3 runs of 4,000 rounds of 500 blocks, then of 400 of 5,000
 */
import { loadavg } from "node:os";
import { Malloc } from "@tsmalloc/malloc";
import { type Allocator, HeapSlots, LinearMemory } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";

/** The two slots' heaps of one configuration: pymalloc over malloc (`default`), or malloc alone. */
function slotHeaps(config: "default" | "malloc"): [Allocator, Allocator] {
  const memory = new LinearMemory({ shared: true });
  const table = HeapSlots.create(memory, 4);
  const open = (): Allocator => {
    const heapSlot = { table, slot: table.claim() };
    const raw = new Malloc(memory, { heapSlot });
    return config === "default" ? new Pymalloc(raw, { heapSlot }) : raw;
  };
  return [open(), open()];
}

function sizeOf(i: number): number {
  return 16 + (((i * 2654435761) >>> 0) % 497);
}

function freeAll(heap: Allocator, blocks: Float64Array): number {
  const t0 = performance.now();
  for (let i = 0; i < blocks.length; i++) heap.free(blocks[i]!);
  return performance.now() - t0;
}

function median(values: Float64Array): number {
  const sorted = values.slice().sort();
  return sorted[sorted.length >> 1]!;
}

/** One run: the median ns of a local and of a remote free, and of their difference by round. */
function run(config: "default" | "malloc", blocks: number, rounds: number): { local: number; remote: number; difference: number } {
  const [a, b] = slotHeaps(config);
  const theirs = new Float64Array(blocks);
  const mine = new Float64Array(blocks);
  // a quarter of the rounds compiles the code and is not counted
  const skip = rounds >> 2;
  const local = new Float64Array(rounds - skip);
  const remote = new Float64Array(rounds - skip);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < blocks; i++) theirs[i] = a.malloc(sizeOf(i + round));
    for (let i = 0; i < blocks; i++) mine[i] = b.malloc(sizeOf(i + round + 1));
    let l: number;
    let r: number;
    if (round % 2 === 0) {
      l = freeAll(b, mine);
      r = freeAll(b, theirs);
    } else {
      r = freeAll(b, theirs);
      l = freeAll(b, mine);
    }
    if (round >= skip) {
      local[round - skip] = (l * 1e6) / blocks;
      remote[round - skip] = (r * 1e6) / blocks;
    }
  }
  return { local: median(local), remote: median(remote), difference: median(remote.map((r, i) => r - local[i]!)) };
}

const started = Date.now();
const load = loadavg().map((n) => n.toFixed(2)).join(", ");
process.stdout.write("| configuration | blocks a side | local free, ns | remote free, ns | remote - local, ns (median by round) |\n|---|---:|---:|---:|---:|\n");
for (const [blocks, rounds] of [[500, 4000], [5000, 400]] as const) {
  for (const config of ["default", "malloc"] as const) {
    const results = [0, 1, 2].map(() => run(config, blocks, rounds));
    const mid = (pick: (r: (typeof results)[number]) => number): string => {
      const values = results.map(pick).sort((x, y) => x - y);
      return `${values[1]!.toFixed(1)} (${values[0]!.toFixed(1)}..${values[2]!.toFixed(1)})`;
    };
    process.stdout.write(`| ${config} | ${blocks} | ${mid((r) => r.local)} | ${mid((r) => r.remote)} | ${mid((r) => r.difference)} |\n`);
  }
}
process.stdout.write(`\nmedian of 3 runs (their range in brackets), one thread, two heap slots; ${((Date.now() - started) / 1000).toFixed(0)} s; node ${process.version}; load average ${load} at the start, ${loadavg().map((n) => n.toFixed(2)).join(", ")} at the end\n`);
