export {
  ApiId,
  CLEANBYTE,
  DEADBYTE,
  DEBUG_EXTRA_BYTES,
  DEBUG_EXTRA_BYTES_SERIAL,
  ERASED_SIZE,
  FORBIDDENBYTE,
  HEADER_BYTES,
  isApiId,
  SERIAL_BYTES,
  TRAILER_BYTES,
} from "./constants.ts";
export { DebugAllocator, isDebugAllocator, withDebugHooks } from "./debug-allocator.ts";
export { type DebugLayout, type DebugLayoutName, DebugLayouts } from "./debug-layout.ts";
export { dumpDebugBlock } from "./dump.ts";
export { type CorruptionHandler, DebugCorruptionError, type DebugErrorCode, type OnCorruption } from "./errors.ts";
export { isFreed, isPtrFreed } from "./is-freed.ts";
export { checkDebugHookOptions, type DebugHookOptions, type DebugThreadOptions, MAX_TRACEBACK_FRAMES } from "./options.ts";
export { SERIAL_COUNTER_BYTES, SERIAL_COUNTER_ROOT, type SerialCounterChoice } from "./serial-counter.ts";
export type { TracebackFrame } from "./traceback.ts";
export { registerTracebackProvider, type TracebackProvider } from "./traceback-provider.ts";
