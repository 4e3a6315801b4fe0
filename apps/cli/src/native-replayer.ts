/*
 * The native columns of `tsmalloc bench`: c/tsmalloc-replay.c, built with the system's C compiler
 * on first use into the cache folder (c-build.ts), twice:
 *
 *   replay-glibc-<hash>-x64      -lz -lm              columns glibc (the C library's malloc) and empty-c
 *   replay-mimalloc-<hash>-x64   -lz -lm -lmimalloc   column mimalloc (where libmimalloc-dev is installed)
 *
 * Each run of a native column is one run of that program, in the contenders' turn: it reads the
 * same trace file (the same number of events) or draws the same churn, replays it once untimed,
 * then once timed, and prints the time as one JSON line (the C file's comment says how).
 */
import { fileURLToPath } from "node:url";
import type { BenchCase, BenchReply, Churn, ExternalContender } from "@tsmalloc/trace/bench";
import { cachedName } from "./c-build.ts";
import { NATIVE_NAMES } from "./contenders.ts";
import { buildNativeVariants, lastJsonLine, type NativeBuilds, runNativeProgram } from "./native-program.ts";

/** The replayer's C source, beside src/ and dist/ in this package. */
export const REPLAYER_SOURCE: string = fileURLToPath(new URL("../c/tsmalloc-replay.c", import.meta.url));

/** The two builds of the replayer. */
export type ReplayerBuild = "glibc" | "mimalloc";

/** The build and the replayer's allocator (`--allocator`) of each of contenders.ts's NATIVE_NAMES. */
export const NATIVE_CONTENDERS: Readonly<Record<string, { readonly build: ReplayerBuild; readonly allocator: string }>> = {
  glibc: { build: "glibc", allocator: "libc" },
  mimalloc: { build: "mimalloc", allocator: "mimalloc" },
  "empty-c": { build: "glibc", allocator: "empty" },
};

/** The compiler's flags and libraries of each build. */
const BUILDS: Readonly<Record<ReplayerBuild, { readonly flags: readonly string[]; readonly libraries: readonly string[] }>> = {
  glibc: { flags: ["-O2"], libraries: ["-lz", "-lm"] },
  mimalloc: { flags: ["-O2", "-DTSMALLOC_REPLAY_MIMALLOC"], libraries: ["-lz", "-lm", "-lmimalloc"] },
};

/** The cached program's name for this build and the text that names it (cSourceText(REPLAYER_SOURCE)). */
export function replayerName(build: ReplayerBuild, source: string): string {
  return cachedName(`replay-${build}`, source);
}

/** The builds of the replayer `names` need: each one's path, or why it is not there (one line each). */
export type NativeReplayers = NativeBuilds<ReplayerBuild>;

/**
 * Finds or builds the replayer builds the native columns among `names` need. Never throws: a
 * build that cannot be made (no compiler, no zlib or mimalloc headers, not Linux with glibc) is
 * left out with a note.
 */
export function ensureReplayers(env: Readonly<Record<string, string | undefined>>, names: readonly string[]): NativeReplayers {
  const builds = [...new Set(names.filter((name) => NATIVE_NAMES.includes(name)).map((name) => NATIVE_CONTENDERS[name]!.build))].sort();
  const columns = (build: ReplayerBuild): string => NATIVE_NAMES.filter((name) => NATIVE_CONTENDERS[name]!.build === build && names.includes(name)).join(", ");
  const program = { what: "the native replayer", sourcePath: REPLAYER_SOURCE, prefix: "replay", columns: NATIVE_NAMES.filter((name) => names.includes(name)).join(", ") };
  return buildNativeVariants(env, program, builds.map((build) => ({ key: build, ...BUILDS[build], columns: columns(build) })));
}

/** The parameters of a churn, as @tsmalloc/trace's churn() takes them. */
export interface ChurnSpec {
  readonly minSize: number;
  readonly maxSize: number;
  readonly live: number;
  readonly seed: number;
}

/** @tsmalloc/trace's smallChurn(): 8..512 B, 10,000 live, seed 7. */
export const SMALL_CHURN: ChurnSpec = { minSize: 8, maxSize: 512, live: 10_000, seed: 7 };
/** @tsmalloc/trace's largeChurn(): 16..64 KiB, 1,000 live, seed 11. */
export const LARGE_CHURN: ChurnSpec = { minSize: 16 << 10, maxSize: 64 << 10, live: 1_000, seed: 11 };

/**
 * The fingerprint of a churn's sequence: FNV-1a over its sizes, then its slots, one 32-bit word
 * at a time (the replayer's churn_hash). Never throws.
 */
export function churnHash(churn: Churn): number {
  let h = 2166136261;
  for (const size of churn.sizes) h = Math.imul(h ^ size, 16777619) >>> 0;
  for (const slot of churn.slots) h = Math.imul(h ^ slot, 16777619) >>> 0;
  return h;
}

/** What a native run of one case replays. */
export type NativeWorkload =
  | { readonly kind: "replay"; readonly path: string; readonly events: number }
  /** The churn's parameters and the sequence @tsmalloc/trace drew for them: the replayer refuses any other. */
  | { readonly kind: "churn"; readonly spec: ChurnSpec; readonly churn: Churn };

/** The replayer's arguments for `workload` (`--limit` is the events the JavaScript side read). */
export function replayerArguments(allocator: string, workload: NativeWorkload): string[] {
  if (workload.kind === "replay") return ["--allocator", allocator, "--limit", String(workload.events), workload.path];
  const { spec, churn } = workload;
  return ["--allocator", allocator, "--churn", [spec.minSize, spec.maxSize, spec.live, churn.pairs, spec.seed].join(","), "--churn-hash", String(churnHash(churn))];
}

/** What the replayer prints for a timed run. */
interface ReplayerOutput {
  readonly units: number;
  readonly nsPerUnit: readonly number[];
  readonly failures: number;
}

/**
 * A native column as a contender of the bench harness: one run of `binary` per run, for the
 * cases `workloads` has (keyed by case name; another case is "unavailable"). The run is stopped
 * after the budget. A run whose event count is not the case's fails, as does any error the
 * replayer prints (its line is the cell's error). Never rejects.
 */
export function nativeContender(binary: string, allocator: string, workloads: ReadonlyMap<string, NativeWorkload>): ExternalContender {
  return async (benchCase: BenchCase, budgetMs: number): Promise<BenchReply | "over budget"> => {
    const workload = workloads.get(benchCase.name);
    if (workload === undefined) return { ok: false, unavailable: true };
    const run = await runNativeProgram("the native replayer", binary, replayerArguments(allocator, workload), budgetMs, (stdout) => {
      const output = lastJsonLine(stdout) as ReplayerOutput;
      const expected = workload.kind === "replay" ? workload.events : workload.churn.pairs;
      if (output.units !== expected) throw new Error(`the native replayer replayed ${output.units} units, not the ${expected} of the case`);
      return output;
    });
    if (run === "over budget" || !run.ok) return run;
    const output = run.value;
    return { ok: true, nanoseconds: output.nsPerUnit[0]! * output.units, units: output.units, failures: output.failures };
  };
}
