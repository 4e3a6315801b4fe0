/*
 * What a traced malloc+free pair allocates on the JavaScript heap, beside the same pair untraced:
 * bytes of V8's heap used after 2,000 pairs minus before, with a garbage collection before each
 * measure and a young generation large enough (--max-semi-space-size=64) that none happens
 * during it; the median of 9 measures. Run by bench/run.ts as
 *
 *   node --expose-gc --max-semi-space-size=64 --import tsx --conditions=@tsmalloc/source bench/allocation.ts
 *
 * The pairs are those of contenders.ts: 8..512 bytes through ten nested functions, so that 10
 * frames are ten frames of this package's bench code.
 */
import { median, smallChurn } from "@tsmalloc/testkit";
import { contenders } from "./contenders.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const PAIRS = 2000;
const work = smallChurn(100_000);
const rows: string[] = [];
for (const name of ["untraced", "traced, 1 frame", "traced, 10 frames"]) {
  const target = contenders[name]!({ kind: "churn", churn: work })!;
  const live = new Float64Array(work.live);
  for (let i = 0; i < work.live; i++) live[i] = target.malloc(work.sizes[i]!);
  let step = work.live;
  const pairs = (n: number): void => {
    for (let k = 0; k < n; k++, step++) {
      const slot = work.slots[step % work.slots.length]!;
      target.free(live[slot]!);
      live[slot] = target.malloc(work.sizes[step % work.sizes.length]!);
    }
  };
  pairs(20_000); // compile, and see every allocation site once
  const measures: number[] = [];
  for (let m = 0; m < 9; m++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    pairs(PAIRS);
    measures.push((process.memoryUsage().heapUsed - before) / PAIRS);
  }
  rows.push(`| ${name} | ${median(measures)!.toFixed(0)} |`);
}
process.stdout.write(`| pair | JS heap bytes allocated per pair |\n|---|---:|\n${rows.join("\n")}\n`);
