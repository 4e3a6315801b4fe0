/*
 * Sizes where 32-bit arithmetic breaks (issue 16), everywhere the registry reaches: the entry
 * points of every domain in every configuration and on both platforms, alone and under hooks (one
 * installed with setAllocator, and setNoMemory's fault hooks over it); each domain's allocator
 * called directly (pymalloc over the RAW domain, the debug hooks over each, which see sizes the
 * entry points refuse); and the system malloc's memalign. At 2^31 ± k, 2^32 ± k, the memory's
 * limit ± k (also minus two layers of the hooks' bytes), 2^40 and 2^53 − 1, each call returns 0,
 * a usable block or a TsmallocError, and the runtime's heaps and live blocks survive. The limits
 * of each allocator alone (2^30, the largest memories) are its own package's overflow test.
 */
import { DebugLayouts } from "@tsmalloc/debug";
import { MAX_ALIGNMENT } from "@tsmalloc/malloc";
import { type Allocator, isTsmallocError, LinearMemory, PAGE_SIZE } from "@tsmalloc/memory";
import { type AllocatorConfig, createRuntime, type Domain, DOMAINS, type Runtime, type RuntimePlatform } from "@tsmalloc/registry";
import { BOUNDARY_REACH, boundarySizes, probeSizes, type SizeProbeTarget } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { CONFIGS, DEBUG_CONFIGS, entryPoints, expectRuntimeOk, RecordingHook } from "./helpers.ts";

function runtimeOf(config: AllocatorConfig, platform: RuntimePlatform, serialNumbers = false): Runtime {
  return createRuntime({ allocator: config, platform, memory: new LinearMemory({ maximum: 16 << 20 }), debug: { serialNumbers } });
}

function sizesFor(runtime: Runtime): number[] {
  const max = runtime.memory.maxByteLength;
  const bases = [max];
  // two layers of hooks (pymalloc's RAW requests under debug) reach past the boundaries' own reach
  const extras = Object.values(DebugLayouts).flatMap((l) => [2 * l.extraBytes, 2 * l.extraBytesSerial]);
  for (const extra of new Set(extras.filter((e) => e > BOUNDARY_REACH))) bases.push(2 ** 31 - extra, 2 ** 32 - extra, max - extra);
  return boundarySizes(bases);
}

const allowed = (error: unknown): boolean => isTsmallocError(error);

function bind(api: Pick<Allocator, "malloc" | "calloc" | "realloc" | "free">): Pick<SizeProbeTarget, "malloc" | "calloc" | "realloc" | "free"> {
  return { malloc: (n) => api.malloc(n), calloc: (n, e) => api.calloc(n, e), realloc: (p, n) => api.realloc(p, n), free: (p) => api.free(p) };
}

/** Probes the entry points of every domain; with `direct`, each domain's allocator as well. */
function probeDomains(runtime: Runtime, label: string, direct: boolean): void {
  const sizes = sizesFor(runtime);
  const check = (): ReturnType<Runtime["check"]> => runtime.check();
  for (const domain of DOMAINS) {
    const api = entryPoints(runtime, domain);
    expect(probeSizes({ name: `${label} ${api.names.malloc}`, memory: runtime.memory, ...bind(api), check }, { sizes, isAllowedError: allowed })).toBeNull();
    if (!direct) continue;
    const allocator = runtime.getAllocator(domain as Domain);
    expect(probeSizes({ name: `${label} ${domain}: ${allocator.name}`, memory: runtime.memory, ...bind(allocator), check }, { sizes, isAllowedError: allowed })).toBeNull();
  }
  expectRuntimeOk(runtime);
}

describe.each(["64-bit", "wasm32"] as const)("sizes near 2^31 and 2^32, %s platform", (platform) => {
  it.each(CONFIGS)("%s: the entry points and each domain's allocator keep the contract", (config) => {
    probeDomains(runtimeOf(config, platform), `${config}, ${platform}:`, true);
  });

  it.each([...DEBUG_CONFIGS])("%s with serial numbers: the same, with the hooks' larger blocks", (config) => {
    probeDomains(runtimeOf(config, platform, true), `${config}, ${platform}, serial numbers:`, true);
  });

  it.each(CONFIGS)("%s: the entry points keep it under a setAllocator hook with setNoMemory's hooks over it", (config) => {
    const runtime = runtimeOf(config, platform);
    for (const domain of DOMAINS) runtime.setAllocator(domain, new RecordingHook(runtime.getAllocator(domain)));
    runtime.setNoMemory(2 ** 31); // counts every call, fails none
    probeDomains(runtime, `${config}, ${platform}, hooked:`, false);
    runtime.removeMemHooks();
  });
});

describe("the system malloc's memalign in a runtime", () => {
  it.each(CONFIGS)("%s: keeps the contract at every alignment class", (config) => {
    const runtime = runtimeOf(config, "64-bit");
    const heap = runtime.mallocHeap;
    const alignments = [16, 32, 4096, PAGE_SIZE, 1 << 20, MAX_ALIGNMENT];
    const bases = alignments.flatMap((a) => [2 ** 31 - a, 2 ** 32 - a]);
    const target: SizeProbeTarget = { name: `${config}: mallocHeap`, memory: runtime.memory, ...bind(heap), memalign: (a, n) => heap.memalign(a, n), check: () => runtime.check() };
    expect(probeSizes(target, { sizes: boundarySizes(bases), alignments, isAllowedError: allowed })).toBeNull();
    expectRuntimeOk(runtime);
  });
});
