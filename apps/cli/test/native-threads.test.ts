/*
 * The native columns of `tsmalloc bench --workers` as the command drives them (native-threads.ts):
 * the program's arguments for each shape, its output read back (and refused when it is not what
 * the case asked for), the runner over a real build and over stand-in programs (a failure, a run
 * past its budget, a missing build), and the builds' notes without a compiler or without mimalloc.
 * Nothing here is timed.
 */
import { chmodSync } from "node:fs";
import { churn, scalingCases, type ThreadShape } from "@tsmalloc/trace/bench";
import { afterAll, describe, expect, it } from "vitest";
import { churnHash } from "../src/native-replayer.ts";
import { ensureThreadPrograms, nativeThreadRunner, threadProgramArguments, threadProgramOutcome } from "../src/native-threads.ts";
import { TempDir } from "./helpers.ts";

const temp = new TempDir();
afterAll(() => temp.remove());

const small = churn("small", 8, 512, 100, 2000, 3);
const churnShape: ThreadShape = { kind: "churn", name: "small churn", churn: small };
const pipeline: ThreadShape = { kind: "pipeline", name: "pipe", blocks: 5000, minSize: 16, maxSize: 512 };
const remote: ThreadShape = { kind: "remote free", name: "remote", blocks: 500, rounds: 21, minSize: 16, maxSize: 512 };

/** A stand-in for the program: a shell script. */
function script(name: string, body: string): string {
  const path = temp.writePlain(name, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe("the program's command line and output", () => {
  it("asks for each shape with the case's own parameters, and the churn by the sequence's hash", () => {
    expect(threadProgramArguments("glibc", churnShape, 2)).toEqual(["--allocator", "libc", "--threads", "2", "--churn", "8,512,100,2000,3", "--churn-hash", String(churnHash(small))]);
    expect(threadProgramArguments("mimalloc", pipeline, 2)).toEqual(["--allocator", "mimalloc", "--threads", "2", "--pipeline", "5000,16,512"]);
    expect(threadProgramArguments("glibc", remote, 2)).toEqual(["--allocator", "libc", "--threads", "2", "--remote-free", "500,21,16,512"]);
    // a churn that does not say how it was drawn cannot be drawn again in C
    const { draw: _, ...undrawn } = small;
    expect(() => threadProgramArguments("glibc", { kind: "churn", name: "x", churn: undrawn }, 1)).toThrow('the churn "small" does not say how it was drawn');
  });

  it("reads each shape's figures, and refuses output that is not the case's", () => {
    expect(threadProgramOutcome('{"workload":"churn","units":4000,"ns":12.5,"failures":0}\n', churnShape, 2)).toEqual({ ns: 12.5, local: null, failures: 0 });
    expect(threadProgramOutcome('{"workload":"pipeline","units":5000,"ns":80,"busyNs":61.5,"failures":1}', pipeline, 2)).toEqual({ ns: 80, local: 61.5, failures: 1 });
    expect(threadProgramOutcome('{"workload":"remote free","units":500,"remoteNs":40,"localNs":12,"failures":0}', remote, 2)).toEqual({ ns: 40, local: 12, failures: 0 });
    expect(() => threadProgramOutcome('{"workload":"pipeline","units":4000,"ns":1,"failures":0}', churnShape, 2)).toThrow('it ran "pipeline", not "churn"');
    expect(() => threadProgramOutcome('{"workload":"churn","units":2000,"ns":1,"failures":0}', churnShape, 2)).toThrow("it did 2000 units, not the 4000 of the case");
    expect(() => threadProgramOutcome('{"workload":"pipeline","units":5000,"ns":1,"failures":0}', pipeline, 2)).toThrow('its "busyNs" is undefined');
    expect(() => threadProgramOutcome('{"workload":"remote free","units":500,"remoteNs":-1,"localNs":1,"failures":0}', remote, 2)).toThrow('its "remoteNs" is -1');
    expect(() => threadProgramOutcome("not json", remote, 2)).toThrow();
  });
});

describe("the runner", () => {
  it("runs every shape through a real build, both allocators, and the program accepts the churn's hash", async () => {
    const { paths, notes } = ensureThreadPrograms({ XDG_CACHE_HOME: temp.file("cache") });
    expect(notes).toEqual([]);
    const run = nativeThreadRunner(paths);
    const cases = scalingCases(2, true);
    const shapes = [cases[0]!.shape, cases[2]!.shape, cases[4]!.shape, cases[6]!.shape];
    for (const allocator of ["glibc", "mimalloc"] as const) {
      for (const shape of shapes) {
        for (const threads of shape.kind === "churn" ? [1, 3] : [2]) {
          const outcome = await run(shape, allocator, threads, 60_000);
          expect(outcome, `${allocator} ${shape.name} ${threads}`).toMatchObject({ failures: 0 });
          if (typeof outcome === "object" && "ns" in outcome) {
            expect(outcome.ns).toBeGreaterThan(0);
            if (shape.kind !== "churn") expect(outcome.local).toBeGreaterThan(0);
          }
        }
      }
    }
    // a churn drawn otherwise than the program draws it: its hash is refused, in the program's words
    const forged = { ...small, sizes: small.sizes.map((size) => size + 1) };
    const refused = await run({ kind: "churn", name: "forged", churn: forged }, "glibc", 1, 60_000);
    expect(refused).toMatchObject({ error: expect.stringMatching(/^tsmalloc-threads: .*8,512,100,2000,3/) });
  }, 240_000);

  it("gives the program's first line of error, stops a run past its budget, and says when a build is missing", async () => {
    const failing = script("failing", 'echo "tsmalloc-threads: out of memory in round 3" >&2\necho "more" >&2\nexit 1');
    const slow = script("slow", "sleep 5");
    const garbled = script("garbled", "echo '{\"workload\":\"churn\"}'");
    const run = nativeThreadRunner(new Map([["glibc", failing], ["mimalloc", slow]]));
    expect(await run(churnShape, "glibc", 1, 10_000)).toEqual({ error: "tsmalloc-threads: out of memory in round 3" });
    expect(await run(churnShape, "mimalloc", 1, 200)).toBe("over budget");
    expect(await nativeThreadRunner(new Map([["glibc", garbled]]))(churnShape, "glibc", 1, 10_000)).toEqual({
      error: "the native threads program's output is not what it should be: it did undefined units, not the 2000 of the case",
    });
    expect(await nativeThreadRunner(new Map())(churnShape, "mimalloc", 2, 10_000)).toEqual({ error: "no mimalloc build of the native threads program" });
  });
});

describe("the builds' notes", () => {
  it("without a C compiler: one line, and no build", () => {
    const { paths, notes } = ensureThreadPrograms({ XDG_CACHE_HOME: temp.file("no-compiler"), CC: "/nonexistent/cc" });
    expect(paths.size).toBe(0);
    expect(notes).toEqual([
      "bench: no C compiler: CC=/nonexistent/cc cannot be run (the native threads program is C, built on first use; set CC to a compiler, or unset it to use cc); no glibc or mimalloc column",
    ]);
  });

  it("without mimalloc's files: one line says how to get them, and the glibc build is there", () => {
    const compiler = script("cc-without-mimalloc", 'case "$*" in *-lmimalloc*) echo "x.c:1:10: fatal error: mimalloc.h: No such file or directory" >&2; exit 1;; esac\nexec cc "$@"');
    const { paths, notes } = ensureThreadPrograms({ XDG_CACHE_HOME: temp.file("no-mimalloc"), CC: compiler });
    expect([...paths.keys()]).toEqual(["glibc"]);
    expect(notes).toEqual(["bench: no mimalloc column: mimalloc's development files are not installed (install them: sudo apt-get install libmimalloc-dev)"]);
  });
});
