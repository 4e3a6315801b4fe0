/* The progress bar on standard error (src/progress.ts), with a capturing io and a fake clock. */
import { describe, expect, it } from "vitest";
import type { CliIo } from "../src/io.ts";
import { ProgressBar } from "../src/progress.ts";

const ERASE = "\r\u001b[2K";

/** An io that keeps what is written to stderr, one entry per write. */
function capture(errIsTerminal: boolean): CliIo & { readonly writes: string[] } {
  const writes: string[] = [];
  return { out: () => undefined, err: (text) => void writes.push(text), errIsTerminal, env: {}, writes };
}

/** A clock the test moves. */
function fakeClock(): { now: () => number; at: (ms: number) => void } {
  let time = 1_000_000;
  return { now: () => time, at: (ms) => void (time = 1_000_000 + ms) };
}

describe("ProgressBar", () => {
  it("draws nothing, and erases nothing, when stderr is not a terminal", () => {
    const io = capture(false);
    const clock = fakeClock();
    const bar = new ProgressBar(io, "reading x", clock.now);
    bar.update(0, 100);
    clock.at(500);
    bar.update(50, 100);
    bar.update(100, 100);
    bar.finish();
    expect(io.writes).toEqual([]);
  });

  it("draws the label, the bar, the percent and the megabytes, in place", () => {
    const io = capture(true);
    const bar = new ProgressBar(io, "reading py_compileall.trace.gz", fakeClock().now);
    bar.update(1_300_000, 2_800_000);
    // 46% of 24 characters is 11.1: 11 filled
    expect(io.writes).toEqual([`\rreading py_compileall.trace.gz  [${"#".repeat(11)}${".".repeat(13)}]  46%  1.3 MB of 2.8 MB`]);
  });

  it("redraws at most every 100 ms, but always at 100%", () => {
    const io = capture(true);
    const clock = fakeClock();
    const bar = new ProgressBar(io, "L", clock.now);
    bar.update(0, 1000); // drawn: the first
    clock.at(50);
    bar.update(100, 1000); // too soon
    clock.at(99);
    bar.update(200, 1000); // too soon
    clock.at(100);
    bar.update(300, 1000); // 100 ms after the first: drawn
    clock.at(150);
    bar.update(400, 1000); // too soon
    bar.update(1000, 1000); // done: drawn at once
    clock.at(151);
    bar.update(1000, 1000); // done again: drawn again
    const percents = io.writes.map((w) => /\] +(\d+)%/.exec(w)?.[1]);
    expect(percents).toEqual(["0", "30", "100", "100"]);
    expect(io.writes[0]).toBe(`\rL  [${".".repeat(24)}]   0%  0.0 MB of 0.0 MB`);
    expect(io.writes[2]).toBe(`\rL  [${"#".repeat(24)}] 100%  0.0 MB of 0.0 MB`);
  });

  it("shows a file of no bytes as done, and never more than 100%", () => {
    const io = capture(true);
    const clock = fakeClock();
    const bar = new ProgressBar(io, "L", clock.now);
    bar.update(0, 0);
    clock.at(1000);
    bar.update(3_000_000, 2_000_000);
    expect(io.writes).toEqual([`\rL  [${"#".repeat(24)}] 100%  0.0 MB of 0.0 MB`, `\rL  [${"#".repeat(24)}] 100%  3.0 MB of 2.0 MB`]);
  });

  it("finish() erases the line once, only when something was drawn", () => {
    const io = capture(true);
    const clock = fakeClock();
    const quiet = new ProgressBar(io, "L", clock.now);
    quiet.finish();
    expect(io.writes).toEqual([]);
    const bar = new ProgressBar(io, "L", clock.now);
    bar.update(5, 10);
    bar.finish();
    bar.finish();
    expect(io.writes).toHaveLength(2);
    expect(io.writes[1]).toBe(ERASE);
  });

  it("uses the wall clock when given none", () => {
    const io = capture(true);
    const bar = new ProgressBar(io, "L");
    bar.update(1, 2);
    bar.update(1, 2); // within 100 ms of the first on any machine that runs this
    expect(io.writes).toHaveLength(1);
    expect(io.writes[0]).toContain("  50%  ");
  });
});
