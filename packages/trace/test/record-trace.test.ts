/*
 * recordTrace and domainTarget on a runtime-shaped stand-in (fixtures/fake-runtime.ts). The round
 * trip on a real runtime (record a program, replay it with `tsmalloc replay --verify`, the same
 * statistics) is in apps/cli's tests, the first package that has both this one and the registry.
 */
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  createTraceFile,
  domainTarget,
  isTraceError,
  readTrace,
  recordTrace,
  replayVerified,
  TimedReplay,
  TRACE_DOMAINS,
  TraceErrorCode,
  traceProfile,
  type TraceRuntime,
} from "@tsmalloc/trace";
import { describe, expect, it } from "vitest";
import { thrown } from "./helpers.ts";
import { type BumpAllocator, FakeRuntime } from "./fixtures/fake-runtime.ts";


/** A small program on MEM: a few blocks, a realloc, frees, a free(NULL), a refused request. */
function program(runtime: TraceRuntime): void {
  const a = runtime.memMalloc(100);
  const b = runtime.memCalloc(10, 10);
  const c = runtime.memRealloc(a, 300);
  runtime.memFree(b);
  runtime.getAllocator("mem").free(0); // free(NULL), straight to the allocator
  runtime.getAllocator("mem").malloc(5 << 20); // more than the memory holds: NULL
  const d = runtime.memMalloc(0);
  runtime.memFree(c);
  void d;
}

describe("recordTrace", () => {
  it("records a program's calls on a domain, in the format, and stops with exactly the allocator that was there", () => {
    const runtime = new FakeRuntime();
    const before = runtime.getAllocator("mem");
    const recording = recordTrace(runtime, "mem", { name: "mine" });
    expect(recording.recording).toBe(true);
    expect(runtime.getAllocator("mem")).not.toBe(before);
    expect(runtime.getAllocator("mem").name).toBe("recording(mem bump)");
    expect(runtime.getAllocator("mem").memory).toBe(runtime.memory);
    program(runtime);
    const { trace, counts, liveBlocks } = recording.stop();
    expect(runtime.getAllocator("mem")).toBe(before);
    expect(recording.recording).toBe(false);
    expect(trace!.name).toBe("mine");
    expect([...trace!.op]).toEqual([0, 1, 2, 3, 0, 3]);
    expect([...trace!.id]).toEqual([0, 1, 2, 1, 3, 2]);
    expect([...trace!.size]).toEqual([100, 10, 300, 0, 0, 0]);
    expect(counts).toMatchObject({ events: 6, nullReturns: 1, freeNull: 1 });
    expect(liveBlocks).toBe(1);
    // the calls went on to the wrapped allocator, as the program made them
    expect((before as BumpAllocator).calls).toEqual(["malloc(100) = 1048576", "calloc(10, 10) = 1048688", "realloc(1048576, 300) = 1048800", "free(1048688)", "free(0)", "malloc(5242880) = 0", "malloc(0) = 1049104", "free(1048800)"]);
  });

  it("records only the domain it wraps, and each domain of the three", () => {
    for (const domain of TRACE_DOMAINS) {
      const runtime = new FakeRuntime();
      const recording = recordTrace(runtime, domain);
      runtime.rawFree(runtime.rawMalloc(8));
      runtime.memFree(runtime.memMalloc(16));
      runtime.objFree(runtime.objMalloc(24));
      const { trace } = recording.stop();
      expect([...trace!.size], domain).toEqual([{ raw: 8, mem: 16, obj: 24 }[domain], 0]);
    }
  });

  it("replays what it recorded with the same calls and statistics (a round trip on the stand-in runtime)", () => {
    const first = new FakeRuntime();
    const recording = recordTrace(first, "mem");
    program(first);
    const { trace } = recording.stop();
    const second = new FakeRuntime();
    const result = replayVerified(trace!, domainTarget(second, "mem"));
    expect(result.failures).toBe(0);
    const live = (runtime: FakeRuntime): [number, number][] => [...(runtime.getAllocator("mem") as BumpAllocator).live.entries()];
    expect(live(second)).toEqual(live(first));
    expect(traceProfile(trace!)).toMatchObject({ liveAtEndBlocks: 1, liveAtEndBytes: 0, peakLiveBytes: 400 });
  });

  it("writes to a sink: a trace file with a comment at each end", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "tsmalloc-record-")), "mine.trace.gz");
    const file = createTraceFile(path);
    const runtime = new FakeRuntime();
    const recording = recordTrace(runtime, "mem", { sink: file });
    program(runtime);
    const result = recording.stop();
    expect(result.trace).toBeNull();
    expect(await file.close()).toBe(6);
    const text = gunzipSync(readFileSync(path)).toString("utf8").split("\n");
    expect(text[0]).toBe("# recorded by @tsmalloc/trace from the mem domain (its allocator: mem bump)");
    expect(text).toContain("# malloc(5242880) returned NULL");
    expect(text.at(-2)).toBe("# 6 events; left out: 1 NULL returns, 1 free(NULL), 0 frees of blocks from before the recording");
    expect((await readTrace(path)).length).toBe(6);
  });

  it("leaves out the frees of blocks made before it began, and records a realloc of one as a new block", () => {
    const runtime = new FakeRuntime();
    const old = runtime.memMalloc(10);
    const older = runtime.memMalloc(20);
    const recording = recordTrace(runtime, "mem");
    runtime.memFree(old);
    runtime.memRealloc(older, 40);
    const { trace, counts } = recording.stop();
    expect([...trace!.op]).toEqual([0]);
    expect(counts).toMatchObject({ unknownFrees: 1, unknownReallocs: 1, events: 1 });
  });

  it("passes calls through unrecorded once stopped, when made through a reference taken meanwhile", () => {
    const runtime = new FakeRuntime();
    const recording = recordTrace(runtime, "mem");
    const held = runtime.getAllocator("mem");
    const p = held.malloc(8);
    const { trace } = recording.stop();
    held.free(p);
    expect(held.malloc(8)).toBeGreaterThan(0);
    expect(trace!.length).toBe(1);
    expect(recording.counts.events).toBe(1);
  });

  it("refuses to stop twice, or when another allocator was installed over it (and goes on recording)", () => {
    const runtime = new FakeRuntime();
    const recording = recordTrace(runtime, "mem");
    const mine = runtime.getAllocator("mem");
    const other = { ...mine, name: "another hook", memory: runtime.memory, malloc: (n: number) => mine.malloc(n), calloc: () => 0, realloc: () => 0, free: (p: number) => mine.free(p) };
    runtime.setAllocator("mem", other);
    expect(thrown(() => recording.stop())).toMatchObject({ code: TraceErrorCode.State, message: expect.stringMatching(/no longer the recording's/) });
    expect(recording.recording).toBe(true);
    runtime.memMalloc(8);
    runtime.setAllocator("mem", mine);
    expect(recording.stop().trace!.length).toBe(1);
    expect(isTraceError(thrown(() => recording.stop()), TraceErrorCode.State)).toBe(true);
  });

  it("records nothing of a call the allocator refuses by throwing", () => {
    const runtime = new FakeRuntime();
    const recording = recordTrace(runtime, "mem");
    expect(() => runtime.memFree(12345)).toThrow(RangeError);
    expect(recording.stop().trace!.length).toBe(0);
  });

  it("refuses what is not a runtime, a domain or options", () => {
    const runtime = new FakeRuntime();
    for (const bad of [
      () => recordTrace({} as never, "mem"),
      () => recordTrace(null as never, "mem"),
      () => recordTrace({ ...runtime, memory: runtime.memory } as never, "mem"),
      () => recordTrace(runtime, "MEM" as never),
      () => recordTrace(runtime, "mem", { name: 5 as never }),
      () => recordTrace(runtime, "mem", { sink: {} as never }),
      () => recordTrace(runtime, "mem", null as never),
    ]) {
      expect(isTraceError(thrown(bad), TraceErrorCode.InvalidArgument)).toBe(true);
    }
    // nothing was installed by the refused calls
    expect(runtime.getAllocator("mem").name).toBe("mem bump");
  });
});

describe("domainTarget", () => {
  it("calls the domain's entry points, and its memory is the runtime's", () => {
    for (const domain of TRACE_DOMAINS) {
      const runtime = new FakeRuntime();
      const target = domainTarget(runtime, domain);
      expect(target.memory).toBe(runtime.memory);
      const p = target.malloc(16);
      const q = target.calloc(2, 8);
      const r = target.realloc(p, 32);
      target.free(q);
      target.free(0);
      expect(target.memalign!(16, 8)).toBeGreaterThan(0);
      const calls = (runtime.getAllocator(domain) as BumpAllocator).calls;
      // the entry point dropped free(0) before the allocator
      expect(calls.map((call) => call.replace(/ = \d+/, ""))).toEqual(["malloc(16)", "calloc(2, 8)", `realloc(${p}, 32)`, `free(${q})`, "malloc(8)"]);
      expect(r).toBeGreaterThan(0);
      // a size over the entry points' limit returns NULL without reaching the allocator
      expect(target.malloc(runtime.maxRequest + 1)).toBe(0);
      expect(calls.length).toBe(5);
    }
  });

  it("fails (NULL) an alignment beyond the domain's, which a replay counts as such", () => {
    const runtime = new FakeRuntime();
    const target = domainTarget(runtime, "mem");
    expect(target.memalign!(64, 8)).toBe(0);
    expect((runtime.getAllocator("mem") as BumpAllocator).calls).toEqual([]);
    expect(domainTarget(runtime, "mem", { alignment: 64 }).memalign!(64, 8)).toBeGreaterThan(0);
    const replay = new TimedReplay({ name: "m", length: 1, ids: 1, op: new Uint8Array([4]), id: new Uint32Array([0]), arg: new Uint32Array([64]), size: new Float64Array([8]) }, target);
    expect(replay.run()).toBe(1);
    expect(replay.failedEvents).toEqual([1]);
  });

  it("refuses what is not a runtime, a domain or an alignment", () => {
    const runtime = new FakeRuntime();
    for (const bad of [
      () => domainTarget({} as never, "mem"),
      () => domainTarget(runtime, "heap" as never),
      () => domainTarget(runtime, "mem", { alignment: 24 }),
      () => domainTarget(runtime, "mem", { alignment: 0 }),
    ]) {
      expect(isTraceError(thrown(bad), TraceErrorCode.InvalidArgument)).toBe(true);
    }
  });
});
