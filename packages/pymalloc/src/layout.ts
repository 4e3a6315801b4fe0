/**
 * The geometry of a pymalloc heap: CPython's tunables (`ALIGNMENT`, `SMALL_REQUEST_THRESHOLD`,
 * `POOL_SIZE`, `ARENA_SIZE`) and the platform's pointer size (which sets the pool header's size)
 * as a validated, frozen value, with presets for the layouts CPython has shipped on 64-bit
 * platforms and on 32-bit WebAssembly.
 *
 *     arena (ARENA_SIZE, 1 MiB)
 *     +--------+--------+--------+-- ... --+--------+
 *     | pool 0 | pool 1 | pool 2 |         | pool 63|      MAX_POOLS_IN_ARENA pools
 *     +--------+--------+--------+-- ... --+--------+
 *     pool (POOL_SIZE, 16 KiB)
 *     +--------+-------+-------+-------+-- ... --+-------+------+
 *     | header | block | block | block |         | block | tail |  blocks of one size class
 *     +--------+-------+-------+-------+-- ... --+-------+------+
 *      48 bytes (POOL_OVERHEAD)                  NUMBLOCKS blocks; the tail is quantization loss
 *      (32 on wasm32)
 */
import { describeValue, isPowerOfTwo } from "@tsmalloc/memory";
import { optionError } from "./errors.ts";
import { poolHeaderFields } from "./structs.ts";

/** The tunables a pymalloc heap is built with. */
export interface PymallocLayoutOptions {
  /** Block alignment and size-class step: 16 (CPython 3.8+ on 64-bit) or 8. */
  readonly alignment: number;
  /** Largest request served from pools; larger ones go to the raw allocator. At most 512. */
  readonly smallRequestThreshold: number;
  /** Bytes per pool: a power of two from 4 KiB up to the arena size. */
  readonly poolSize: number;
  /** Bytes per arena: a power of two from 64 KiB to 256 MiB, holding at least 4 pools. */
  readonly arenaSize: number;
  /**
   * Bytes in a pointer of the platform the layout follows (`SIZEOF_VOID_P`): 8 (64-bit) or 4
   * (32-bit, such as wasm32). It sets the pool header: 48 bytes with 8, 32 with 4.
   */
  readonly pointerSize: number;
}

/** A validated layout with every number derived from it, as `obmalloc.c`'s macros compute them. */
export interface PymallocLayout extends PymallocLayoutOptions {
  /** log2(alignment): `ALIGNMENT_SHIFT`. */
  readonly alignmentShift: number;
  /** `NB_SMALL_SIZE_CLASSES` = threshold / alignment. */
  readonly numClasses: number;
  /** log2(poolSize): `POOL_BITS`. */
  readonly poolBits: number;
  /** log2(arenaSize): `ARENA_BITS`. */
  readonly arenaBits: number;
  /** `MAX_POOLS_IN_ARENA` = arenaSize / poolSize. */
  readonly maxPoolsInArena: number;
  /** `POOL_OVERHEAD`: the pool header (48 bytes, 32 with 4-byte pointers) rounded up to the alignment. */
  readonly poolOverhead: number;
}

/**
 * The layouts CPython has used (the package README says which platform model each follows).
 *
 * - `default`: CPython 3.10 and later on 64-bit: 16-byte alignment, 32 classes, 16 KiB pools,
 *   1 MiB arenas, 48-byte pool headers.
 * - `python38`: CPython 3.8 and 3.9 on 64-bit: 16-byte alignment, 32 classes, 4 KiB pools,
 *   256 KiB arenas.
 * - `align8`: 8-byte alignment (CPython 3.7 and older on 64-bit): 64 classes of 8..512 bytes,
 *   4 KiB pools, 256 KiB arenas.
 * - `wasm32`: CPython with pymalloc on a 32-bit platform (`SIZEOF_VOID_P` 4), such as a
 *   WebAssembly build: 8-byte alignment, 64 classes, 4 KiB pools, 256 KiB arenas, 32-byte pool
 *   headers.
 */
export const PymallocLayouts: {
  readonly default: PymallocLayoutOptions;
  readonly python38: PymallocLayoutOptions;
  readonly align8: PymallocLayoutOptions;
  readonly wasm32: PymallocLayoutOptions;
} = Object.freeze({
  default: Object.freeze({ alignment: 16, smallRequestThreshold: 512, poolSize: 16 << 10, arenaSize: 1 << 20, pointerSize: 8 }),
  python38: Object.freeze({ alignment: 16, smallRequestThreshold: 512, poolSize: 4 << 10, arenaSize: 256 << 10, pointerSize: 8 }),
  align8: Object.freeze({ alignment: 8, smallRequestThreshold: 512, poolSize: 4 << 10, arenaSize: 256 << 10, pointerSize: 8 }),
  wasm32: Object.freeze({ alignment: 8, smallRequestThreshold: 512, poolSize: 4 << 10, arenaSize: 256 << 10, pointerSize: 4 }),
});

/** The name of a preset in {@link PymallocLayouts}. */
export type PymallocLayoutName = keyof typeof PymallocLayouts;

const MIN_POOL_SIZE = 4 << 10;
const MIN_ARENA_SIZE = 64 << 10;
const MAX_ARENA_SIZE = 256 << 20;
const MIN_POOLS_IN_ARENA = 4;
const MAX_THRESHOLD = 512;

/**
 * Validates a layout (a preset name, or the four tunables with any omitted ones taken from the
 * default preset) and derives the rest.
 *
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` naming the first rule broken:
 *   alignment not 8 or 16, a pointer size not 8 or 4, a size that is not a power of two, a threshold that is not a multiple
 *   of the alignment or is above 512, a pool smaller than 4 KiB or larger than the arena, an arena
 *   outside 64 KiB..256 MiB or holding fewer than 4 pools
 */
export function resolveLayout(layout: PymallocLayoutName | Partial<PymallocLayoutOptions> | undefined): PymallocLayout {
  let options: PymallocLayoutOptions;
  if (layout === undefined) {
    options = PymallocLayouts.default;
  } else if (typeof layout === "string") {
    if (!Object.hasOwn(PymallocLayouts, layout)) {
      throw optionError(`layout must be one of ${Object.keys(PymallocLayouts).join(", ")}, got ${describeValue(layout)}`);
    }
    options = PymallocLayouts[layout];
  } else if (typeof layout === "object" && layout !== null) {
    for (const key of Object.keys(layout)) {
      if (!Object.hasOwn(PymallocLayouts.default, key)) throw optionError(`layout has no option ${JSON.stringify(key)}`);
    }
    // keys set to undefined fall back to the default, like omitted ones
    options = { ...PymallocLayouts.default, ...Object.fromEntries(Object.entries(layout).filter(([, value]) => value !== undefined)) };
  } else {
    throw optionError(`layout must be a preset name or an object, got ${describeValue(layout)}`);
  }
  const { alignment, smallRequestThreshold, poolSize, arenaSize, pointerSize } = options;
  for (const [key, value] of Object.entries(options)) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      throw optionError(`layout.${key} must be a positive integer, got ${describeValue(value)}`);
    }
  }
  if (alignment !== 8 && alignment !== 16) throw optionError(`layout.alignment must be 8 or 16, got ${alignment}`);
  if (pointerSize !== 8 && pointerSize !== 4) throw optionError(`layout.pointerSize must be 8 (64-bit) or 4 (32-bit, wasm32), got ${pointerSize}`);
  if (smallRequestThreshold % alignment !== 0 || smallRequestThreshold > MAX_THRESHOLD) {
    throw optionError(`layout.smallRequestThreshold must be a multiple of the alignment (${alignment}) and at most ${MAX_THRESHOLD}, got ${smallRequestThreshold}`);
  }
  if (!isPowerOfTwo(poolSize) || poolSize < MIN_POOL_SIZE) throw optionError(`layout.poolSize must be a power of two of at least ${MIN_POOL_SIZE}, got ${poolSize}`);
  if (!isPowerOfTwo(arenaSize) || arenaSize < MIN_ARENA_SIZE || arenaSize > MAX_ARENA_SIZE) {
    throw optionError(`layout.arenaSize must be a power of two from ${MIN_ARENA_SIZE} to ${MAX_ARENA_SIZE}, got ${arenaSize}`);
  }
  if (arenaSize / poolSize < MIN_POOLS_IN_ARENA) {
    throw optionError(`layout.poolSize (${poolSize}) must divide layout.arenaSize (${arenaSize}) at least ${MIN_POOLS_IN_ARENA} times`);
  }
  const poolOverhead = Math.ceil(poolHeaderFields(pointerSize).size / alignment) * alignment;
  return Object.freeze({
    alignment,
    smallRequestThreshold,
    poolSize,
    arenaSize,
    pointerSize,
    alignmentShift: Math.log2(alignment),
    numClasses: smallRequestThreshold / alignment,
    poolBits: Math.log2(poolSize),
    arenaBits: Math.log2(arenaSize),
    maxPoolsInArena: arenaSize / poolSize,
    poolOverhead,
  });
}

/** `INDEX2SIZE(i)`: the block size of size class `i`. */
export function classSize(layout: PymallocLayout, index: number): number {
  return (index + 1) << layout.alignmentShift;
}

/** `NUMBLOCKS(i)`: how many blocks of class `i` one pool holds. */
export function blocksPerPool(layout: PymallocLayout, index: number): number {
  return Math.floor((layout.poolSize - layout.poolOverhead) / classSize(layout, index));
}

/**
 * Bytes of the arena map: one `(tail_hi, tail_lo)` pair of 32-bit words per arena-sized chunk of
 * the 32-bit address space (32 KiB for 1 MiB arenas).
 */
export function arenaMapBytes(layout: PymallocLayout): number {
  return 2 ** (32 - layout.arenaBits) * 8;
}
