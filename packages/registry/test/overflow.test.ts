/*
 * Sizes where 32-bit arithmetic breaks (issue 16), everywhere the registry reaches: the entry
 * points of every domain in every configuration, alone, under a hook installed with
 * setAllocator and under setNoMemory's fault hooks; each domain's allocator called directly
 * (pymalloc over the RAW domain, the debug hooks over each, which see sizes the entry points
 * refuse); and the system malloc's memalign. At 2^31 ± k, 2^32 ± k, the memory's limits ± k
 * (minus the hooks' bytes), 2^40 and 2^53 − 1, each call returns 0, a usable block or a
 * TsmallocError, and the runtime's heaps and live blocks survive.
 */
import { DEBUG_EXTRA_BYTES, DEBUG_EXTRA_BYTES_SERIAL } from "@tsmalloc/debug";
import { MAX_ALIGNMENT } from "@tsmalloc/malloc";
import { isTsmallocError, LinearMemory, MAX_MEMORY_BYTES, PAGE_SIZE } from "@tsmalloc/memory";
import { type AllocatorConfig, createRuntime, DOMAINS, MAX_REQUEST_SIZE, type Runtime } from "@tsmalloc/registry";
import { boundarySizes, probeSizes, type SizeProbeTarget } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { CONFIGS, entryPoints, expectRuntimeOk, RecordingHook } from "./helpers.ts";

function runtimeOf(config: AllocatorConfig, serialNumbers = false): Runtime {
  return createRuntime({ allocator: config, memory: new LinearMemory({ maximum: 16 << 20 }), debug: { serialNumbers } });
}

function sizesFor(runtime: Runtime): number[] {
  const max = runtime.memory.maxByteLength;
  const bases = [2 ** 30, MAX_MEMORY_BYTES, 2 ** 32 - 2 ** 24, max, MAX_REQUEST_SIZE];
  for (const extra of [DEBUG_EXTRA_BYTES, DEBUG_EXTRA_BYTES_SERIAL, 2 * DEBUG_EXTRA_BYTES]) {
    bases.push(2 ** 31 - extra, 2 ** 32 - extra, max - extra, MAX_REQUEST_SIZE - extra);
  }
  return boundarySizes(bases);
}

const allowed = (error: unknown): boolean => isTsmallocError(error);

/** The entry points of `domain` as a probe target, checked with the runtime's check(). */
function entryTarget(runtime: Runtime, domain: (typeof DOMAINS)[number], label: string): SizeProbeTarget {
  const api = entryPoints(runtime, domain);
  return { name: `${label} ${api.names.malloc}`, memory: runtime.memory, ...bind(api), check: () => runtime.check() };
}

function bind(api: Pick<SizeProbeTarget, "malloc" | "calloc" | "realloc" | "free">): Pick<SizeProbeTarget, "malloc" | "calloc" | "realloc" | "free"> {
  return { malloc: (n) => api.malloc(n), calloc: (n, e) => api.calloc(n, e), realloc: (p, n) => api.realloc(p, n), free: (p) => api.free(p) };
}

describe.each(CONFIGS)("sizes near 2^31 and 2^32, allocator %s", (config) => {
  it.each([false, true])("the entry points of every domain keep the contract (serial numbers %s)", (serialNumbers) => {
    const runtime = runtimeOf(config, serialNumbers);
    for (const domain of DOMAINS) expect(probeSizes(entryTarget(runtime, domain, `${config}:`), { sizes: sizesFor(runtime), isAllowedError: allowed })).toBeNull();
    expectRuntimeOk(runtime);
  });

  it("each domain's allocator, called directly with sizes the entry points refuse, keeps the contract", () => {
    const runtime = runtimeOf(config);
    for (const domain of DOMAINS) {
      const allocator = runtime.getAllocator(domain);
      const target: SizeProbeTarget = { name: `${config} ${domain}: ${allocator.name}`, memory: runtime.memory, ...bind(allocator), check: () => runtime.check() };
      expect(probeSizes(target, { sizes: sizesFor(runtime), isAllowedError: allowed })).toBeNull();
    }
    expectRuntimeOk(runtime);
  });

  it("the entry points keep it under a hook installed with setAllocator, and under setNoMemory's hooks", () => {
    const runtime = runtimeOf(config);
    for (const domain of DOMAINS) runtime.setAllocator(domain, new RecordingHook(runtime.getAllocator(domain)));
    for (const domain of DOMAINS) expect(probeSizes(entryTarget(runtime, domain, `${config}, hooked:`), { sizes: sizesFor(runtime), isAllowedError: allowed })).toBeNull();
    runtime.setNoMemory(2 ** 31); // counts every call, fails none
    for (const domain of DOMAINS) expect(probeSizes(entryTarget(runtime, domain, `${config}, set_nomemory:`), { sizes: sizesFor(runtime), isAllowedError: allowed })).toBeNull();
    runtime.removeMemHooks();
    expectRuntimeOk(runtime);
  });

  it("the system malloc's memalign keeps it, at every alignment class", () => {
    const runtime = runtimeOf(config);
    const heap = runtime.mallocHeap;
    const alignments = [16, 32, 4096, PAGE_SIZE, 1 << 20, MAX_ALIGNMENT];
    const bases = alignments.flatMap((a) => [2 ** 31 - a, 2 ** 32 - a]);
    const target: SizeProbeTarget = { name: `${config}: mallocHeap`, memory: runtime.memory, ...bind(heap), memalign: (a, n) => heap.memalign(a, n), check: () => runtime.check() };
    expect(probeSizes(target, { sizes: boundarySizes(bases), alignments, isAllowedError: allowed })).toBeNull();
    expectRuntimeOk(runtime);
  });
});
