/*
 * The command's streams as a shell gives them. The progress bar on a real terminal: `script`
 * (util-linux) runs the command on a pseudo-terminal, so stderr is a TTY there, as it is for a
 * user (without a terminal the bar is never drawn: the other end-to-end tests check that stderr
 * stays empty). And a pipe whose reader stops early.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { childEnv, GCC_CC1, MAIN_JS } from "./helpers.ts";

const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

describe.skipIf(!hasScript)("on a terminal", () => {
  it("draws the progress bar while the trace is read, then erases it before the summary", () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN_JS)} replay ${JSON.stringify(GCC_CC1)} --runs 1 --limit 700000 >/dev/null`;
    const run = spawnSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8", env: childEnv() });
    expect(run.status).toBe(0);
    const frames = run.stdout.split("\r").filter((frame) => frame.startsWith("reading "));
    expect(frames.length).toBeGreaterThanOrEqual(1);
    for (const frame of frames) expect(frame).toMatch(/^reading gcc_cc1_wrapt\.trace\.gz {2}\[[#.]{24}\] +\d+% {2}\d+\.\d MB of 4\.2 MB$/);
    // percentages never go down, and the bar is erased once the trace is read
    const percents = frames.map((frame) => Number(/(\d+)%/.exec(frame)![1]));
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(run.stdout.endsWith("\r\u001b[2K")).toBe(true);
  });
});

describe("in a pipe whose reader stops early", () => {
  it("ends quietly with exit code 0, as `tsmalloc demo | head -1` should", () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN_JS)} demo | head -1; echo "status \${PIPESTATUS[0]}" >&2`;
    const run = spawnSync("bash", ["-c", command], { encoding: "utf8", env: childEnv() });
    expect(run.stdout).toBe("tsmalloc demo: CPython's allocators on a real program's allocations\n");
    expect(run.stderr).toBe("status 0\n");
  });
});
