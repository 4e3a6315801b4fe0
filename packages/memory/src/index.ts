export { type Allocator, type AllocatorStats, assertHeapValid, type HeapCheck, type HeapProblem } from "./allocator.ts";
export { DEFAULT_MAX_PAGES, MAX_MEMORY_BYTES, MAX_PAGES, NULL, PAGE_SHIFT, PAGE_SIZE } from "./constants.ts";
export { ErrorCode, isTsmallocError, TsmallocError, type TsmallocErrorOptions } from "./errors.ts";
export { HEAP_KINDS, HeapKind, type HeapSlot, HeapSlots, HeapSlotState, MAX_HEAP_SLOTS } from "./heap-slots.ts";
export { LinearMemory } from "./linear-memory.ts";
export type {
  AttachMemoryOptions,
  LinearMemoryOptions,
  MapOptions,
  MemorySource,
  MemoryStats,
  Region,
  TypedArrayConstructorOf,
  WasmMemoryLike,
} from "./memory-types.ts";
export { lockMutex, tryLockMutex, unlockMutex } from "./lock.ts";
export { MAX_REGION_OWNER, RegionOwner, regionOwnerName } from "./region-owner.ts";
export {
  checkOversize,
  describeValue,
  formatAddress,
  isAddress,
  isPowerOfTwo,
  isValidSize,
  requireAddress,
  requireSize,
} from "./validate.ts";
