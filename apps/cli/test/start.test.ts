/*
 * `npm start` (the root package.json's start script): the build's output is held back, because
 * turbo prints a banner and a summary on every run that no option of its leaves out, and shown
 * only when the build fails (scripts/quietly.sh); then the demo runs (demo.test.ts).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { TempDir } from "./helpers.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const quietly = `${root}scripts/quietly.sh`;
const temp = new TempDir();
afterAll(() => temp.remove());

function runQuietly(log: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync("bash", [quietly, log, "bash", "-c", script], { encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("scripts/quietly.sh", () => {
  it("prints nothing when the command succeeds, and keeps its output in the log", () => {
    const log = temp.file("logs/ok.log");
    const run = runQuietly(log, "echo '   • Remote caching disabled'; echo 'Time: 1s >>> FULL TURBO' >&2");
    expect(run).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(readFileSync(log, "utf8")).toBe("   • Remote caching disabled\nTime: 1s >>> FULL TURBO\n");
  });

  it("prints the output on stderr when the command fails, and exits with its status", () => {
    const log = temp.file("failed.log");
    const run = runQuietly(log, "echo 'src/x.ts(1,1): error TS2304'; exit 3");
    expect(run.status).toBe(3);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`src/x.ts(1,1): error TS2304\nquietly: 'bash -c echo 'src/x.ts(1,1): error TS2304'; exit 3' failed with exit status 3; its output is above, and in ${log}\n`);
  });
});

describe("npm start", () => {
  it("builds quietly, then runs the demo", () => {
    const start = (JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { scripts: { start: string } }).scripts.start;
    expect(start).toMatch(/^bash scripts\/quietly\.sh \S+ bash scripts\/bootstrap\.sh turbo run build .* && node apps\/cli\/dist\/main\.js demo$/);
  });
});
