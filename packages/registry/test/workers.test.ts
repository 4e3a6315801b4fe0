/*
 * Runtimes over shared memory: workers that attach to the main thread's runtime and use the RAW
 * domain while the main thread swaps its RAW allocator for hooks and back; what each domain does
 * when called from a worker in every configuration (RAW works everywhere, MEM and OBJ under debug
 * hooks refuse other threads, without hooks they take their locks); and attachRuntime in the same
 * thread, with its errors.
 */
import { DebugAllocator } from "@tsmalloc/debug";
import { ErrorCode, LinearMemory } from "@tsmalloc/memory";
import {
  type AllocatorConfig,
  attachRuntime,
  type AttachRuntimeOptions,
  createRuntime,
  Domain,
  DOMAINS,
  type Runtime,
} from "@tsmalloc/registry";
import { findMismatch, runWorkers } from "@tsmalloc/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import type { AttachWorkerJob, AttachWorkerReport, Outcome } from "./fixtures/attach-worker.ts";
import type { RawWorkerJob, RawWorkerReport } from "./fixtures/raw-domain-worker.ts";
import { SYNC_DONE, SYNC_GATE, SYNC_STOP, SYNC_WORDS } from "./fixtures/worker-sync.ts";
import { CONFIGS, DEBUG_CONFIGS, expectError, expectFilled, expectRuntimeOk, fill, type HookCall, NAME_OF, RecordingHook, SizingRecordingHook } from "./helpers.ts";

const WRONG_THREAD = "tsmalloc memory allocator called from a thread that does not own the heap";

const soak = process.env.TSMALLOC_SOAK === "1";
const WORKERS = 3;
/** Steps each worker runs at least (it goes on until the main thread's loop is over). */
const WORKER_OPERATIONS = soak ? 50_000 : 4000;
/** Rounds of get / set hook / allocate / set back in the main thread. */
const MAIN_ROUNDS = soak ? 50_000 : 4000;
/** Fill byte of the main thread's blocks: above every worker's (1..189). */
const MAIN_FILL = 0xee;

function hex(p: number): string {
  return `0x${p.toString(16)}`;
}

/** Expects no two [p, p + max(n, 1)) intervals to overlap. */
function expectDisjoint(blocks: readonly (readonly [number, number])[]): void {
  const sorted = [...blocks].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) {
    const [p, n] = sorted[i - 1]!;
    const [q] = sorted[i]!;
    if (p + Math.max(n, 1) > q) expect(`${hex(p)} (${n} bytes) overlaps ${hex(q)}`).toBe("disjoint");
  }
}

describe.each(["default", "pymalloc_debug"] as const)("get/set are safe while other workers use the RAW domain (%s)", (config) => {
  it(
    `${WORKERS} workers run rawMalloc / rawRealloc / rawFree while the main thread installs and removes RAW hooks ${MAIN_ROUNDS} times`,
    { timeout: soak ? 1_800_000 : 120_000 },
    async () => {
      const memory = new LinearMemory({ shared: true });
      expect(memory.shared).toBe(true);
      const rt = createRuntime({ memory, allocator: config });
      // under the debug hooks, a hook that passes usableSize through (so the MEM/OBJ hooks still
      // ask pymalloc, and through it RAW, about a large block before freeing it); "a RAW hook
      // without usableSize" below covers the other kind
      const Hook = config === "default" ? RecordingHook : SizingRecordingHook;
      const original = rt.getAllocator(Domain.RAW);
      const mallocBlocks = rt.mallocHeap.stats().allocatedBlocks;
      const pymallocBlocks = rt.pymallocHeap!.allocatedBlocks();

      const sync = new SharedArrayBuffer(SYNC_WORDS * 4);
      const words = new Int32Array(sync);
      const jobs = Array.from({ length: WORKERS }, (_, worker): RawWorkerJob => ({
        source: memory.source,
        worker,
        operations: WORKER_OPERATIONS,
        seed: 9001 + worker,
        parties: WORKERS + 1,
        sync,
      }));
      let failed = false;
      const running = runWorkers<RawWorkerReport>(new URL("./fixtures/raw-domain-worker.ts", import.meta.url), jobs);
      running.catch(() => {
        failed = true;
      });
      // wait (without blocking this thread's event loop, so that a worker that dies is noticed)
      // until every worker has attached, then open the gate for them and for this thread
      while (Atomics.load(words, SYNC_GATE) < WORKERS && !failed) await new Promise((resolve) => setTimeout(resolve, 5));
      Atomics.add(words, SYNC_GATE, 1);
      Atomics.notify(words, SYNC_GATE);

      // the workers cannot stop before SYNC_STOP: every round below overlaps their RAW calls
      let hookCalls = 0;
      let rounds = 0;
      let mistake: string | null = null;
      try {
        for (; rounds < MAIN_ROUNDS && !failed && mistake === null; rounds++) {
          const previous = rt.getAllocator(Domain.RAW);
          if (previous !== original) mistake = `round ${rounds}: getAllocator(RAW) is not the original allocator`;
          const hook = new Hook(previous);
          rt.setAllocator(Domain.RAW, hook);
          // now and then a second hook on top of the first, removed first
          const outer = rounds % 8 === 0 ? new Hook(hook) : null;
          if (outer !== null) rt.setAllocator(Domain.RAW, outer);
          if (rt.getAllocator(Domain.RAW) !== (outer ?? hook)) mistake = `round ${rounds}: getAllocator(RAW) is not the hook just installed`;

          const n = 1 + ((rounds * 37) % 2000);
          const p = rt.rawMalloc(n);
          if (p === 0) throw new Error(`round ${rounds}: rawMalloc(${n}) returned NULL`);
          memory.u8.fill(MAIN_FILL, p, p + n);
          // more than 512 bytes: pymalloc's raw fallback, which goes through the RAW domain's hook
          const m = 600 + (rounds % 1000);
          const q = rt.memMalloc(m);
          if (q === 0) throw new Error(`round ${rounds}: memMalloc(${m}) returned NULL`);
          memory.u8.fill(MAIN_FILL, q, q + m);
          if (findMismatch(memory.u8, p, n, MAIN_FILL) >= 0 || findMismatch(memory.u8, q, m, MAIN_FILL) >= 0) {
            mistake = `round ${rounds}: a block of the main thread was overwritten`;
          }
          rt.memFree(q);
          rt.rawFree(p);

          if (outer !== null) rt.setAllocator(Domain.RAW, hook);
          rt.setAllocator(Domain.RAW, previous);
          if (rt.getAllocator(Domain.RAW) !== previous) mistake = `round ${rounds}: setAllocator(RAW, previous) did not put it back`;

          // exactly these calls reached the hook (and the outer one saw the same)
          const calls = hook.calls;
          const raw = calls[0];
          const fallback = calls[1];
          const expected: HookCall[] = [
            { op: "malloc", size: n, result: p },
            { op: "malloc", size: fallback?.op === "malloc" ? fallback.size : -1, result: fallback?.op === "malloc" ? fallback.result : -1 },
            { op: "free", ptr: fallback?.op === "malloc" ? fallback.result : -1 },
            { op: "free", ptr: p },
          ];
          const fallbackOk = fallback?.op === "malloc" && fallback.size >= m && fallback.result <= q && q - fallback.result <= 16;
          if (raw === undefined || JSON.stringify(calls) !== JSON.stringify(expected) || !fallbackOk) {
            mistake = `round ${rounds}: the hook saw ${JSON.stringify(calls)}`;
          }
          if (outer !== null && JSON.stringify(outer.calls) !== JSON.stringify(calls)) mistake = `round ${rounds}: the outer hook saw ${JSON.stringify(outer.calls)}`;
          hookCalls += calls.length + (outer?.calls.length ?? 0);
        }
      } finally {
        Atomics.store(words, SYNC_STOP, 1);
        Atomics.notify(words, SYNC_GATE);
      }
      const reports = await running;
      expect(mistake).toBeNull();
      expect(rounds).toBe(MAIN_ROUNDS);
      expect(hookCalls).toBe(4 * MAIN_ROUNDS + 4 * Math.ceil(MAIN_ROUNDS / 8));
      expect(Atomics.load(words, SYNC_DONE)).toBe(WORKERS);
      expect(rt.getAllocator(Domain.RAW)).toBe(original);
      expect(rt.allocatorName()).toBe(NAME_OF[config]);

      expect(reports.map((r) => r.worker)).toEqual([0, 1, 2]);
      for (const report of reports) {
        expect(report.error).toBeNull();
        expect(report.config).toBe(config);
        expect(report.operations).toBeGreaterThanOrEqual(WORKER_OPERATIONS);
        expect(report.reallocated).toBeGreaterThan(WORKER_OPERATIONS / 10);
        expect(report.live.length).toBeGreaterThan(0);
      }
      // every block the workers still hold is intact and apart from the others
      const live = reports.flatMap((r) => r.live);
      for (const [p, n, byte] of live) {
        const at = findMismatch(memory.u8, p, n, byte);
        expect(at < 0 ? "intact" : `${hex(p)} (${n} bytes) overwritten at +${at - p}`).toBe("intact");
      }
      expectDisjoint(live.map(([p, n]) => [p, n] as const));
      expectRuntimeOk(rt);
      for (const d of DOMAINS) expect(rt.getAllocator(d).check?.().ok).toBe(true);

      // blocks made in the workers are freed here
      for (const [p] of live) rt.rawFree(p);
      expectRuntimeOk(rt);
      expect(rt.mallocHeap.stats().allocatedBlocks).toBe(mallocBlocks);
      expect(rt.pymallocHeap!.allocatedBlocks()).toBe(pymallocBlocks);
    },
  );
});

describe.each(["debug", "pymalloc_debug"] as const)("a RAW hook without usableSize (CPython's PyMemAllocatorEx shape), allocator %s", (config) => {
  // pymalloc's blocks over 512 bytes come from the RAW domain; the MEM / OBJ debug hooks check a
  // block with pymalloc's usableSize before freeing or resizing it, and pymalloc asks the RAW
  // domain's allocator, which may be a hook with only malloc / calloc / realloc / free
  it.each([Domain.MEM, Domain.OBJ])("does not stop %s from freeing and resizing pymalloc's large blocks", (domain) => {
    const rt = createRuntime({ allocator: config });
    const previous = rt.getAllocator(Domain.RAW);
    const hook = new RecordingHook(previous);
    rt.setAllocator(Domain.RAW, hook);
    const [malloc, realloc, free] =
      domain === Domain.MEM
        ? [(n: number) => rt.memMalloc(n), (p: number, n: number) => rt.memRealloc(p, n), (p: number) => rt.memFree(p)]
        : [(n: number) => rt.objMalloc(n), (p: number, n: number) => rt.objRealloc(p, n), (p: number) => rt.objFree(p)];
    const p = malloc(600);
    expect(p).not.toBe(0);
    fill(rt.memory, p, 600, 0x44);
    expect(hook.calls.map((c) => c.op)).toEqual(["malloc"]);
    const q = realloc(p, 5000);
    expect(q).not.toBe(0);
    expectFilled(rt.memory, q, 600, 0x44);
    free(q);
    expect(hook.calls.map((c) => c.op)).toEqual(["malloc", "realloc", "free"]);
    rt.setAllocator(Domain.RAW, previous);
    expectRuntimeOk(rt);
    expect(rt.pymallocHeap!.stats().rawAllocatedBlocks).toBe(0);
  });
});

interface AttachCase {
  readonly label: string;
  readonly config: AllocatorConfig;
  readonly options: AttachRuntimeOptions;
  /** MEM and OBJ refuse the worker. */
  readonly refuses: boolean;
}

const ATTACH_CASES: readonly AttachCase[] = [
  ...CONFIGS.map((config): AttachCase => ({ label: config, config, options: {}, refuses: DEBUG_CONFIGS.has(config) })),
  { label: "pymalloc_debug, attached with debug.checkThread false", config: "pymalloc_debug", options: { debug: { checkThread: false } }, refuses: false },
  { label: "malloc_debug, attached with debug.checkThread false", config: "malloc_debug", options: { debug: { checkThread: false } }, refuses: false },
];

interface AttachRun {
  readonly rt: Runtime;
  readonly mainMem: number;
  readonly mainObj: number;
  /** Blocks right after creation (before mainMem and mainObj). */
  readonly mallocBlocks: number;
  readonly pymallocBlocks: number | null;
  readonly report: AttachWorkerReport;
}

describe("attachRuntime in a worker, for each configuration", () => {
  const runs = new Map<string, AttachRun>();

  beforeAll(async () => {
    const made = ATTACH_CASES.map((c) => {
      const memory = new LinearMemory({ shared: true });
      const rt = createRuntime({ memory, allocator: c.config });
      const mallocBlocks = rt.mallocHeap.stats().allocatedBlocks;
      const pymallocBlocks = rt.pymallocHeap?.allocatedBlocks() ?? null;
      const mainMem = rt.memMalloc(64);
      const mainObj = rt.objMalloc(64);
      fill(memory, mainMem, 64, 0x11);
      fill(memory, mainObj, 64, 0x12);
      return { c, rt, mainMem, mainObj, mallocBlocks, pymallocBlocks };
    });
    const jobs = made.map(({ c, rt, mainMem, mainObj }): AttachWorkerJob => ({
      source: rt.memory.source,
      // the first case of each configuration lets attachRuntime find the runtime in the root table
      address: c.label === c.config ? undefined : rt.address,
      options: c.options,
      mainMem,
      mainObj,
    }));
    const reports = await runWorkers<AttachWorkerReport>(new URL("./fixtures/attach-worker.ts", import.meta.url), jobs);
    made.forEach(({ c, ...rest }, i) => runs.set(c.label, { ...rest, report: reports[i]! }));
  }, 120_000);

  it.each(ATTACH_CASES)("$label: the worker opens the same runtime, and RAW works from it", ({ label, config }) => {
    const { rt, report } = runs.get(label)!;
    expect(report.config).toBe(config);
    expect(report.address).toBe(rt.address);
    expect(report.mallocAddress).toBe(rt.mallocHeap.address);
    expect(report.pymallocAddress).toBe(rt.pymallocHeap?.address ?? null);
    expect(report.allocatorName).toBe(NAME_OF[config]);
    expect(rt.allocatorName()).toBe(NAME_OF[config]);
    // the worker's RAW block: realloc'd to 5000 bytes and filled; this thread frees it
    expect(report.raw).toMatchObject({ ok: true });
    const p = (report.raw as { value: number }).value;
    expect(p).not.toBe(0);
    expectFilled(rt.memory, p, 5000, 0x5b);
    rt.rawFree(p);
    expectRuntimeOk(rt);
  });

  const refusing = ATTACH_CASES.filter((c) => c.refuses);
  it.each(refusing)("$label: MEM and OBJ refuse the worker with ERR_TSMALLOC_WRONG_THREAD and change nothing", ({ label }) => {
    const { rt, report, mainMem, mainObj, mallocBlocks, pymallocBlocks } = runs.get(label)!;
    const refused = (func: string): Outcome => ({
      ok: false,
      name: "DebugCorruptionError",
      code: ErrorCode.WrongThread,
      message: `${func}: ${WRONG_THREAD}`,
      isDebugCorruptionError: true,
      func,
    });
    expect(report.memMalloc).toEqual(refused("debugMalloc"));
    expect(report.memCalloc).toEqual(refused("debugCalloc"));
    expect(report.objMalloc).toEqual(refused("debugMalloc"));
    expect(report.objRealloc).toEqual(refused("debugRealloc"));
    expect(report.memFree).toEqual(refused("debugFree"));
    expect(report.objFree).toEqual(refused("debugFree"));
    // the main thread's blocks were not freed: intact, and this thread frees them
    expectFilled(rt.memory, mainMem, 64, 0x11);
    expectFilled(rt.memory, mainObj, 64, 0x12);
    rt.memFree(mainMem);
    rt.objFree(mainObj);
    expectRuntimeOk(rt);
    if (pymallocBlocks !== null) expect(rt.pymallocHeap!.allocatedBlocks()).toBe(pymallocBlocks);
    else expect(rt.mallocHeap.stats().allocatedBlocks).toBe(mallocBlocks);
  });

  const working = ATTACH_CASES.filter((c) => !c.refuses);
  it.each(working)("$label: MEM and OBJ work from the worker, and this thread frees what it made", ({ label, config }) => {
    const { rt, report, mallocBlocks, pymallocBlocks } = runs.get(label)!;
    expect(report.memCalloc).toEqual({ ok: true, value: 0 });
    expect(report.objRealloc).toMatchObject({ ok: true });
    expect((report.objRealloc as { value: number }).value).not.toBe(0);
    // the worker freed the main thread's blocks
    expect(report.memFree).toEqual({ ok: true, value: 0 });
    expect(report.objFree).toEqual({ ok: true, value: 0 });
    expect(report.memMalloc).toMatchObject({ ok: true });
    expect(report.objMalloc).toMatchObject({ ok: true });
    const mem = (report.memMalloc as { value: number }).value;
    const obj = (report.objMalloc as { value: number }).value;
    expect(mem).not.toBe(0);
    expect(obj).not.toBe(0);
    expectFilled(rt.memory, mem, 64, 0x6a);
    expectFilled(rt.memory, obj, 200, 0x6b);
    // a pool block of the shared pymalloc heap (under the hooks' 16-byte header in the debug case)
    if (rt.pymallocHeap !== null) {
      expect(rt.pymallocHeap.owns(mem)).toBe(true);
      expect(rt.pymallocHeap.owns(obj)).toBe(true);
      expect(rt.pymallocHeap.allocatedBlocks()).toBe(pymallocBlocks! + 2);
    }
    rt.memFree(mem);
    rt.objFree(obj);
    expectRuntimeOk(rt);
    if (pymallocBlocks !== null) expect(rt.pymallocHeap!.allocatedBlocks()).toBe(pymallocBlocks);
    else expect(rt.mallocHeap.stats().allocatedBlocks).toBe(mallocBlocks);
    expect(rt.allocatorName()).toBe(NAME_OF[config]);
  });
});

describe("attachRuntime in the same thread", () => {
  it.each(CONFIGS)("%s: opens the same heaps, hooks and name, and shares their blocks", (config) => {
    const rt = createRuntime({ allocator: config });
    const held = [rt.rawMalloc(40), rt.memMalloc(40), rt.objMalloc(40)];
    held.forEach((p, i) => fill(rt.memory, p, 40, 0x21 + i));
    const attached = attachRuntime(rt.memory);
    expect(attached).not.toBe(rt);
    expect(attached.memory).toBe(rt.memory);
    expect(attached.config).toBe(config);
    expect(attached.address).toBe(rt.address);
    expect(attached.mallocHeap.address).toBe(rt.mallocHeap.address);
    expect(attached.pymallocHeap?.address).toBe(rt.pymallocHeap?.address);
    expect(attached.pymallocHeap === null).toBe(rt.pymallocHeap === null);
    expect(attached.allocatorName()).toBe(rt.allocatorName());
    expect(attached.allocatorName()).toBe(NAME_OF[config]);
    for (const d of DOMAINS) {
      expect(attached.getAllocator(d).name).toBe(rt.getAllocator(d).name);
      expect(attached.getAllocator(d) instanceof DebugAllocator).toBe(DEBUG_CONFIGS.has(config));
    }
    // blocks of one handle are freed through the other, and the other way round
    attached.rawFree(held[0]!);
    attached.memFree(held[1]!);
    attached.objFree(held[2]!);
    const again = [attached.rawMalloc(24), attached.memMalloc(24), attached.objMalloc(24)];
    rt.rawFree(again[0]!);
    rt.memFree(again[1]!);
    rt.objFree(again[2]!);
    expectRuntimeOk(rt);
    expectRuntimeOk(attached);
    // by its address too
    expect(attachRuntime(rt.memory, rt.address).allocatorName()).toBe(NAME_OF[config]);
  });

  it.each([
    ["pymalloc", "pymalloc_debug"],
    ["default", "pymalloc_debug"],
    ["malloc", "malloc_debug"],
  ] as const)("%s: hooks that setupDebugHooks() adds after creation are seen by a runtime attached afterwards (%s)", (config, name) => {
    const rt = createRuntime({ allocator: config });
    const before = attachRuntime(rt.memory);
    rt.setupDebugHooks();
    expect(rt.allocatorName()).toBe(name);
    const after = attachRuntime(rt.memory);
    expect(after.allocatorName()).toBe(name);
    // a runtime attached before keeps what it opened
    expect(before.allocatorName()).toBe(NAME_OF[config]);
    for (const d of DOMAINS) {
      const hooks = after.getAllocator(d);
      expect(hooks).toBeInstanceOf(DebugAllocator);
      expect((hooks as DebugAllocator).stateAddress).toBe((rt.getAllocator(d) as DebugAllocator).stateAddress);
    }
    // blocks carry the hooks: made by one handle, freed by the other
    const p = rt.memMalloc(10);
    expect(rt.memory.u8[p + 10]).toBe(0xfd); // the trailing pad byte
    after.memFree(p);
    const q = after.objMalloc(10);
    rt.objFree(q);
    expectRuntimeOk(rt);
  });

  it("opens the runtime at the address it is given when a memory holds two", () => {
    const memory = new LinearMemory();
    const first = createRuntime({ memory, allocator: "malloc" });
    const second = createRuntime({ memory, allocator: "pymalloc_debug" });
    expect(second.address).not.toBe(first.address);
    expect(attachRuntime(memory).config).toBe("malloc");
    expect(attachRuntime(memory).address).toBe(first.address);
    const attached = attachRuntime(memory, second.address);
    expect(attached.config).toBe("pymalloc_debug");
    expect(attached.allocatorName()).toBe("pymalloc_debug");
    expect(attached.mallocHeap.address).toBe(second.mallocHeap.address);
    expect(attached.pymallocHeap?.address).toBe(second.pymallocHeap?.address);
    const p = second.objMalloc(100);
    attached.objFree(p);
    expectRuntimeOk(second);
    expectRuntimeOk(first);
  });

  it("refuses a memory with no runtime with ERR_TSMALLOC_INCOMPATIBLE", () => {
    const error = expectError(() => attachRuntime(new LinearMemory()), ErrorCode.Incompatible);
    expect(error.message).toMatch(/^attachRuntime: /);
    expectError(() => attachRuntime(new LinearMemory({ shared: true })), ErrorCode.Incompatible);
  });

  it("refuses an address where there is no runtime record with ERR_TSMALLOC_INCOMPATIBLE", () => {
    const rt = createRuntime();
    const { memory } = rt;
    const garbage = rt.rawMalloc(64);
    for (let i = 0; i < 64; i++) memory.u8[garbage + i] = (i * 97 + 13) & 0xff;
    for (const address of [3, 0x10, garbage, rt.mallocHeap.address, rt.address + 4, memory.byteLength - 8, memory.byteLength + 4096, 0xffff_fff0, -4, 1.5]) {
      expectError(() => attachRuntime(memory, address), ErrorCode.Incompatible);
    }
    // nothing was harmed: the runtime's own record still opens
    expect(attachRuntime(memory, rt.address).allocatorName()).toBe("pymalloc");
    expectRuntimeOk(rt);
  });

  it("refuses what is not a LinearMemory with ERR_TSMALLOC_INVALID_OPTION", () => {
    const rt = createRuntime();
    for (const value of [undefined, null, {}, rt, rt.memory.source, new ArrayBuffer(65536), "memory"]) {
      expectError(() => attachRuntime(value as unknown as LinearMemory), ErrorCode.InvalidOption);
    }
  });

  it("refuses unknown and creator-only options with ERR_TSMALLOC_INVALID_OPTION", () => {
    const rt = createRuntime({ allocator: "debug" });
    for (const options of [{ bogus: 1 }, { allocator: "malloc" }, { memory: rt.memory }, { malloc: {} }, { pymalloc: {} }]) {
      const error = expectError(() => attachRuntime(rt.memory, undefined, options as AttachRuntimeOptions), ErrorCode.InvalidOption);
      expect(error.message).toContain("unknown option");
    }
    expectError(() => attachRuntime(rt.memory, undefined, { stats: "yes" as unknown as boolean }), ErrorCode.InvalidOption);
    expectError(() => attachRuntime(rt.memory, undefined, { statsOutput: 1 as unknown as () => void }), ErrorCode.InvalidOption);
    expectError(() => attachRuntime(rt.memory, undefined, { debug: { api: "m" } as AttachRuntimeOptions["debug"] }), ErrorCode.InvalidOption);
    expectError(() => attachRuntime(rt.memory, undefined, null as unknown as AttachRuntimeOptions), ErrorCode.InvalidOption);
    // the runtime is untouched
    expect(attachRuntime(rt.memory).allocatorName()).toBe("pymalloc_debug");
    expectRuntimeOk(rt);
  });

  it.each(CONFIGS)("%s: refuses bad debug options with ERR_TSMALLOC_INVALID_OPTION, as createRuntime does", (config) => {
    const rt = createRuntime({ allocator: config });
    for (const debug of [{ tracebacks: -1 }, { onCorruption: "ignore" }, { checkThread: "no" }]) {
      expectError(() => createRuntime({ allocator: config, debug: debug as AttachRuntimeOptions["debug"] }), ErrorCode.InvalidOption);
      expectError(() => attachRuntime(rt.memory, undefined, { debug: debug as AttachRuntimeOptions["debug"] }), ErrorCode.InvalidOption);
    }
  });
});
