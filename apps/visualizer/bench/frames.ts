/*
 * Is the page responsive on a full trace? In Debian's Chromium (headless), for each trace and
 * configuration: the time between animation frames while playing at a given speed (the page
 * applies events for at most 10 ms per frame, then draws), and how long a seek across the whole
 * trace takes. Several runs; medians.
 *
 *   pnpm --filter @tsmalloc/visualizer bench [-- --runs N]
 */
import type { Page } from "playwright-core";
import { idle, scrubTo, startRig } from "../test/browser-harness.ts";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be a positive integer, got ${process.argv[runsArg + 1]}`);

const CASES: readonly { readonly trace: string; readonly config: string; readonly speed: number }[] = [
  { trace: "py_compileall", config: "default", speed: 1 },
  { trace: "py_compileall", config: "default", speed: 10_000 },
  { trace: "py_compileall", config: "default", speed: 100_000 },
  { trace: "py_compileall", config: "debug", speed: 100_000 },
  { trace: "gcc_cc1_wrapt", config: "default", speed: 100_000 },
  { trace: "gcc_cc1_wrapt", config: "debug", speed: 100_000 },
];

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const percentile = (values: readonly number[], p: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

/** Plays from event 0 for at most `frames` frames; returns the intervals between frames (ms) and the events done. */
async function play(page: Page, speed: number, frames: number): Promise<{ intervals: number[]; draws: number[]; events: number; ms: number }> {
  await page.selectOption("#speed", String(speed));
  // (a string, not a function: tsx's transform would add helpers the page does not have)
  const script = `new Promise((resolve) => {
    const intervals = [];
    const draws = [];
    const start = performance.now();
    let last = start;
    const position = () => Number(document.getElementById("position").textContent.split(" of ")[0].replaceAll(",", ""));
    const tick = (now) => {
      intervals.push(now - last);
      draws.push(Number(document.body.dataset.drawMs));
      last = now;
      if (intervals.length >= ${frames} || (document.body.dataset.busy === "false" && intervals.length > 2)) {
        if (document.body.dataset.busy === "true") document.getElementById("play").click();
        resolve({ intervals: intervals.slice(1), draws: draws.slice(1), events: position(), ms: now - start });
      } else requestAnimationFrame(tick);
    };
    document.getElementById("play").click();
    requestAnimationFrame(tick);
  })`;
  return page.evaluate(script) as Promise<{ intervals: number[]; draws: number[]; events: number; ms: number }>;
}

const rig = await startRig();
try {
  console.log(`Chromium (headless), ${RUNS} runs per row; frame interval = time between animation frames while playing\n`);
  console.log("| trace | config | events/frame | frames | frame interval median | p95 | max | draw median | events/s | seek end→0→end |");
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const c of CASES) {
    const medians: number[] = [];
    const p95s: number[] = [];
    const maxes: number[] = [];
    const rates: number[] = [];
    const draws: number[] = [];
    const seeks: number[] = [];
    let frameCount = 0;
    for (let run = 0; run < RUNS; run++) {
      const page = await rig.newPage();
      await page.goto(`${rig.url}?trace=${c.trace}&config=${c.config}&event=0`);
      await idle(page);
      const length = Number(((await page.textContent("#position")) ?? "").split(" of ")[1]!.split(" ")[0]!.replaceAll(",", ""));
      const result = await play(page, c.speed, c.speed === 1 ? 300 : 100_000);
      await idle(page);
      frameCount = result.intervals.length;
      medians.push(median(result.intervals));
      p95s.push(percentile(result.intervals, 0.95));
      maxes.push(Math.max(...result.intervals));
      rates.push((result.events / result.ms) * 1000);
      draws.push(median(result.draws));
      const t0 = performance.now();
      await scrubTo(page, length);
      await scrubTo(page, 0);
      await scrubTo(page, length);
      seeks.push(performance.now() - t0);
      await page.close();
    }
    console.log(
      `| ${c.trace} | ${c.config} | ${c.speed.toLocaleString("en-US")} | ${frameCount} | ${median(medians).toFixed(1)} ms | ${median(p95s).toFixed(1)} ms | ${median(maxes).toFixed(1)} ms | ${median(draws).toFixed(1)} ms | ${Math.round(median(rates)).toLocaleString("en-US")} | ${(median(seeks) / 1000).toFixed(2)} s |`,
    );
  }
} finally {
  await rig.close();
}
