import { type LinearMemory, lockMutex, unlockMutex } from "@tsmalloc/memory";
import type { PymallocLayoutOptions } from "@tsmalloc/pymalloc";
import { ALLOCATOR_CONFIGS, type AllocatorConfig } from "./config-name.ts";
import type { Domain } from "./domain.ts";
import { PLATFORMS, type RuntimePlatform } from "./platform.ts";

/*
 * A runtime records what it is made of in the memory, so that `attachRuntime` in another worker
 * (or on a buffer saved and loaded again) opens the same heaps and hooks. The record is a block of
 * the runtime's system malloc, found through the root table under ROOT_TAG:
 *
 *   word 0  magic "tsrt"          word 5  pymalloc state address (0: none)
 *   word 1  layout version        word 6  RAW debug hooks state address (0: not hooked)
 *   word 2  configuration index,  word 7  MEM debug hooks state address
 *           platform index << 8
 *   word 3  lock (futex word)     word 8  OBJ debug hooks state address
 *   word 4  malloc heap address   word 9  serial counter of the runtime's hooks (0: none yet)
 *
 * The hook words change when setupDebugHooks() hooks a domain later, and word 9 when the first
 * hooks with serial numbers are made; readers and that writer take the lock on shared memory.
 * The serial counter is the one the runtime's first hooks started in their state block, which all
 * its later hooks share: one sequence per runtime (CPython's one `serialno`). A record written
 * before word 9 was used reads 0 there, which means just that.
 *
 * A free-threaded runtime (`freeThreading: true`) shares no heap: every thread has heaps of its
 * own in a slot of a HeapSlots table. Its record is layout version 2, 64 bytes, a block of the
 * creating thread's malloc heap, written once, and says how each thread makes its heaps:
 *
 *   word 0  magic "tsrt"          word 5  malloc mmapThreshold   word 9   pymalloc pool size
 *   word 1  layout version (2)    word 6  malloc segmentSize     word 10  pymalloc arena size
 *   word 2  configuration index,  word 7  pymalloc alignment     word 11  flags (bit 0: pymalloc
 *           platform index << 8                                           checks off, bit 1: serial
 *   word 3  reserved (0)          word 8  pymalloc threshold              numbers)
 *   word 4  HeapSlots table address                              word 12  pymalloc pointer size
 *   word 13 serial counter of the runtime's hooks (0: none)      words 14, 15 reserved (0)
 *
 * The serial counter is the one the creating thread's RAW hooks started (the record is written
 * after the creating thread's heaps are made); every thread's hooks draw from it, atomically: one
 * sequence per runtime, as in a runtime whose heaps the threads share.
 */

/** The root-table tag of the first runtime made in a memory. @internal */
export const RUNTIME_ROOT_TAG = "tsrt";
/** Bytes of the record. @internal */
export const RECORD_BYTES = 40;
/** Bytes of a free-threaded runtime's record. @internal */
export const THREADED_RECORD_BYTES = 64;

const MAGIC = 0x7472_7374; // "tsrt" little-endian
const VERSION = 1;
const VERSION_THREADED = 2;
const W_MAGIC = 0;
const W_VERSION = 1;
const W_CONFIG = 2;
const W_LOCK = 3;
const W_MALLOC = 4;
const W_PYMALLOC = 5;
const W_HOOK_RAW = 6;
const W_HOOK_MEM = 7;
const W_HOOK_OBJ = 8;
const W_SERIAL_COUNTER = 9;
const W_TABLE = 4;
const W_MMAP_THRESHOLD = 5;
const W_SEGMENT_SIZE = 6;
const W_ALIGNMENT = 7;
const W_THRESHOLD = 8;
const W_POOL_SIZE = 9;
const W_ARENA_SIZE = 10;
const W_FLAGS = 11;
const W_POINTER_SIZE = 12;
const W_THREADED_SERIAL_COUNTER = 13;
const FLAG_NO_CHECKS = 1;
const FLAG_SERIALS = 2;

/** What a record says. @internal */
export interface RuntimeRecord {
  readonly config: AllocatorConfig;
  readonly platform: RuntimePlatform;
  readonly malloc: number;
  readonly pymalloc: number;
  readonly hooks: { readonly raw: number; readonly mem: number; readonly obj: number };
  /** Address of the serial counter the runtime's debug hooks share, 0 when none has been made. */
  readonly serialCounter: number;
  /** How threads make their heaps in a free-threaded runtime; null for one whose heaps they share. */
  readonly threads: ThreadRecord | null;
}

/** What a free-threaded runtime's record says: where the slots are, how heaps are made. @internal */
export interface ThreadRecord {
  /** Address of the HeapSlots table. */
  readonly table: number;
  readonly mmapThreshold: number;
  readonly segmentSize: number;
  /** pymalloc's layout (every thread's pymalloc heap has the same). */
  readonly layout: PymallocLayoutOptions;
  /** pymalloc's `checks`. */
  readonly checks: boolean;
  /** The debug hooks' `serialNumbers`. */
  readonly serialNumbers: boolean;
}

function hookWord(domain: Domain): number {
  return domain === "raw" ? W_HOOK_RAW : domain === "mem" ? W_HOOK_MEM : W_HOOK_OBJ;
}

/**
 * Writes a new record at `address`: a block of RECORD_BYTES, or of THREADED_RECORD_BYTES for a
 * free-threaded runtime's. @internal
 */
export function writeRecord(memory: LinearMemory, address: number, record: RuntimeRecord): void {
  const u32 = memory.u32;
  const w = address >>> 2;
  const threads = record.threads;
  u32.fill(0, w, w + (threads === null ? RECORD_BYTES : THREADED_RECORD_BYTES) / 4);
  u32[w + W_MAGIC] = MAGIC;
  u32[w + W_CONFIG] = ALLOCATOR_CONFIGS.indexOf(record.config) | (PLATFORMS.indexOf(record.platform) << 8);
  if (threads !== null) {
    u32[w + W_TABLE] = threads.table;
    u32[w + W_MMAP_THRESHOLD] = threads.mmapThreshold;
    u32[w + W_SEGMENT_SIZE] = threads.segmentSize;
    u32[w + W_ALIGNMENT] = threads.layout.alignment;
    u32[w + W_THRESHOLD] = threads.layout.smallRequestThreshold;
    u32[w + W_POOL_SIZE] = threads.layout.poolSize;
    u32[w + W_ARENA_SIZE] = threads.layout.arenaSize;
    u32[w + W_POINTER_SIZE] = threads.layout.pointerSize;
    u32[w + W_FLAGS] = (threads.checks ? 0 : FLAG_NO_CHECKS) | (threads.serialNumbers ? FLAG_SERIALS : 0);
    u32[w + W_THREADED_SERIAL_COUNTER] = record.serialCounter;
    u32[w + W_VERSION] = VERSION_THREADED;
    return;
  }
  u32[w + W_VERSION] = VERSION;
  u32[w + W_MALLOC] = record.malloc;
  u32[w + W_PYMALLOC] = record.pymalloc;
  u32[w + W_HOOK_RAW] = record.hooks.raw;
  u32[w + W_HOOK_MEM] = record.hooks.mem;
  u32[w + W_HOOK_OBJ] = record.hooks.obj;
  u32[w + W_SERIAL_COUNTER] = record.serialCounter;
}

/**
 * Reads the record at `address`.
 * @returns the record, or a sentence saying why there is none there
 * @internal
 */
export function readRecord(memory: LinearMemory, address: number): RuntimeRecord | string {
  if (address % 4 !== 0 || address + RECORD_BYTES > memory.byteLength) return `no runtime record fits at 0x${address.toString(16)}`;
  const u32 = memory.u32;
  const w = address >>> 2;
  if (u32[w + W_MAGIC] !== MAGIC) return `no runtime record at 0x${address.toString(16)}`;
  const version = u32[w + W_VERSION]!;
  if (version !== VERSION && version !== VERSION_THREADED) {
    return `the runtime record at 0x${address.toString(16)} has layout version ${version}, this build reads ${VERSION} and ${VERSION_THREADED}`;
  }
  // a record written before the platform was recorded reads platform 0, "64-bit"
  const config = ALLOCATOR_CONFIGS[u32[w + W_CONFIG]! & 0xff];
  const platform = PLATFORMS[u32[w + W_CONFIG]! >>> 8];
  if (config === undefined || platform === undefined) return `the runtime record at 0x${address.toString(16)} is damaged`;
  if (version === VERSION_THREADED) {
    if (address + THREADED_RECORD_BYTES > memory.byteLength) return `no runtime record fits at 0x${address.toString(16)}`;
    const flags = u32[w + W_FLAGS]!;
    const serialNumbers = (flags & FLAG_SERIALS) !== 0;
    const layout = {
      alignment: u32[w + W_ALIGNMENT]!,
      smallRequestThreshold: u32[w + W_THRESHOLD]!,
      poolSize: u32[w + W_POOL_SIZE]!,
      arenaSize: u32[w + W_ARENA_SIZE]!,
      pointerSize: u32[w + W_POINTER_SIZE]!,
    };
    return {
      config,
      platform,
      malloc: 0,
      pymalloc: 0,
      hooks: { raw: 0, mem: 0, obj: 0 },
      serialCounter: u32[w + W_THREADED_SERIAL_COUNTER]!,
      threads: {
        table: u32[w + W_TABLE]!,
        mmapThreshold: u32[w + W_MMAP_THRESHOLD]!,
        segmentSize: u32[w + W_SEGMENT_SIZE]!,
        layout,
        checks: (flags & FLAG_NO_CHECKS) === 0,
        serialNumbers,
      },
    };
  }
  lock(memory, w);
  try {
    return {
      config,
      platform,
      malloc: u32[w + W_MALLOC]!,
      pymalloc: u32[w + W_PYMALLOC]!,
      hooks: { raw: u32[w + W_HOOK_RAW]!, mem: u32[w + W_HOOK_MEM]!, obj: u32[w + W_HOOK_OBJ]! },
      serialCounter: u32[w + W_SERIAL_COUNTER]!,
      threads: null,
    };
  } finally {
    unlock(memory, w);
  }
}

/** Records that `domain` now has the debug hooks whose state block is at `state`. @internal */
export function recordHooks(memory: LinearMemory, address: number, domain: Domain, state: number): void {
  const w = address >>> 2;
  lock(memory, w);
  try {
    memory.u32[w + hookWord(domain)] = state;
  } finally {
    unlock(memory, w);
  }
}

/** The serial counter the runtime's hooks share, 0 when none has been made yet. @internal */
export function recordedSerialCounter(memory: LinearMemory, address: number): number {
  const w = address >>> 2;
  lock(memory, w);
  try {
    return memory.u32[w + W_SERIAL_COUNTER]!;
  } finally {
    unlock(memory, w);
  }
}

/** Records the serial counter the runtime's hooks share, unless one is recorded already. @internal */
export function recordSerialCounter(memory: LinearMemory, address: number, counter: number): void {
  const w = address >>> 2;
  lock(memory, w);
  try {
    if (memory.u32[w + W_SERIAL_COUNTER] === 0) memory.u32[w + W_SERIAL_COUNTER] = counter;
  } finally {
    unlock(memory, w);
  }
}

function lock(memory: LinearMemory, w: number): void {
  if (memory.shared) lockMutex(memory.i32, w + W_LOCK);
}

function unlock(memory: LinearMemory, w: number): void {
  if (memory.shared) unlockMutex(memory.i32, w + W_LOCK);
}
