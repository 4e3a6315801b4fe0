/*
 * `pnpm bench` in apps/cli: what `tsmalloc record` costs a program. The program is the one the
 * bundled py_compileall trace was recorded from: `python3 -m compileall -q -f` over copies of
 * CPython's json, email and http packages, under PYTHONMALLOC=malloc. Three ways, taking turns,
 * each the median wall time of --runs runs (default 5):
 *
 *   native      the interpreter alone
 *   recorder    the interpreter with the recorder preloaded: the program's own slowdown
 *   record      `tsmalloc record -o FILE -- python3 ...`: the command from start to end (Node's
 *               start, the program under the recorder, the trace written)
 *
 *   pnpm bench [--runs N]
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatCount, formatRatio } from "@tsmalloc/trace";
import { median, parseBenchArgs } from "@tsmalloc/trace/bench";
import { readRecords, recordFiles } from "../src/record-file.ts";
import { ensureShim } from "../src/record-shim.ts";

const { runs } = parseBenchArgs(process.argv.slice(2));
const MAIN_JS = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** The interpreter itself (not a shim such as pyenv's, whose own start is not the program's), and its standard library. */
const probe = spawnSync("python3", ["-c", "import sys, sysconfig; print(sys.executable); print(sysconfig.get_paths()['stdlib'])"], { encoding: "utf8" });
if (probe.status !== 0) throw new Error(`python3 is needed: ${probe.stderr}`);
const [python, stdlib] = probe.stdout.trim().split("\n") as [string, string];

const scratch = mkdtempSync(join(tmpdir(), "tsmalloc-record-bench-"));
const sources = ["json", "email", "http"].map((name) => {
  cpSync(join(stdlib, name), join(scratch, "src", name), { recursive: true });
  return join(scratch, "src", name);
});
const program = [python, "-m", "compileall", "-q", "-f", ...sources];
const shim = ensureShim(process.env);
const env = { ...process.env, PYTHONMALLOC: "malloc" };

/** Wall milliseconds of one run of `command`; throws when it fails. */
function timed(command: readonly string[], extra: Record<string, string>): number {
  const started = performance.now();
  const run = spawnSync(command[0]!, command.slice(1), { env: { ...env, ...extra }, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${command.join(" ")} failed (${run.status}): ${run.stderr}`);
  return ms;
}

const recordDir = join(scratch, "records");
const ways: Record<string, () => number> = {
  native: () => timed(program, {}),
  recorder: () => {
    rmSync(recordDir, { recursive: true, force: true });
    mkdirSync(recordDir);
    return timed(program, { LD_PRELOAD: shim.path, TSMALLOC_RECORD_DIR: recordDir, TSMALLOC_RECORD_PARENT: String(process.pid) });
  },
  record: () => timed([process.execPath, MAIN_JS, "record", "-o", join(scratch, "bench.trace.gz"), "--", ...program], {}),
};

const times: Record<string, number[]> = { native: [], recorder: [], record: [] };
const load = loadavg()[0]!;
ways.native!(); // the first run of anything fills the page cache
for (let run = 0; run < runs; run++) for (const [name, way] of Object.entries(ways)) times[name]!.push(way());
const [file] = await recordFiles(recordDir);
const calls = file === undefined ? 0 : await readRecords(file.path, () => {});
rmSync(scratch, { recursive: true, force: true });

const native = median(times["native"]!)!;
console.log(`python3 -m compileall -q -f over json, email and http (PYTHONMALLOC=malloc): ${formatCount(calls)} calls recorded`);
console.log(`median wall time of ${runs} runs each, taking turns; load average ${load.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end\n`);
console.log("| way | ms | × native | ns per call over native |");
console.log("|---|---:|---:|---:|");
for (const name of Object.keys(ways)) {
  const ms = median(times[name]!)!;
  const extra = name === "native" || calls === 0 ? "" : ((ms - native) * 1e6 / calls).toFixed(0);
  console.log(`| ${name} | ${ms.toFixed(0)} | ${formatRatio(ms / native)} | ${extra} |`);
}
