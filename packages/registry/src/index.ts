export {
  ALLOCATOR_CONFIGS,
  type AllocatorConfig,
  type AllocatorName,
  isAllocatorConfig,
  parseAllocatorConfig,
  RESERVED_ALLOCATOR_CONFIGS,
} from "./config-name.ts";
export {
  allocatorName,
  debugMallocStats,
  defaultRuntime,
  getAllocator,
  getArenaAllocator,
  memCalloc,
  memFree,
  memMalloc,
  memRealloc,
  objCalloc,
  objFree,
  objMalloc,
  objRealloc,
  rawCalloc,
  rawFree,
  rawMalloc,
  rawRealloc,
  removeMemHooks,
  setAllocator,
  setArenaAllocator,
  setDefaultRuntime,
  setNoMemory,
  setupDebugHooks,
} from "./default-runtime.ts";
export { Domain, DOMAINS, isDomain } from "./domain.ts";
export { createRuntimeFromEnv, type Environment, processEnvironment, TSMALLOC_ENV, TSMALLOCSTATS_ENV } from "./environment.ts";
export { MAX_REQUEST_SIZE } from "./limits.ts";
export { isRuntimePlatform, PLATFORMS, type RuntimePlatform } from "./platform.ts";
export { attachRuntime, type AttachRuntimeOptions, createRuntime, Runtime, type RuntimeOptions } from "./runtime.ts";
export { WrappingAllocator } from "./wrapping-allocator.ts";
