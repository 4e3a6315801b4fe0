/*
 * The arena map's rows, read from pymalloc's structures in the memory each time the page draws.
 * Nothing is remembered between frames: what the map shows follows from the heap alone, so it is
 * the same however many events each frame applied.
 *
 *   full         arenas with no free pool: CPython takes them off usable_arenas
 *   usable       usable_arenas, head first: fewest free pools first, the head is where the next
 *                pool comes from
 *   released     slots whose arena was given back (free(arena) once all its pools were empty);
 *                the arena object is on unused_arena_objects again
 *
 * A released slot and a slot never used both have `address` 0. They differ in what `new_arena`
 * wrote: pymalloc zeroes the slots it adds to the arenas vector, and giving an arena back clears
 * only `address` (and relinks `nextarena`), so a slot that has held an arena keeps its
 * `ntotalpools` (and `pool_address`) until it holds the next one.
 *
 *   arena object     address   ntotalpools   on
 *   holds an arena   ≠ 0       ≠ 0           usable_arenas, or no list (full)
 *   released         0         ≠ 0           unused_arena_objects
 *   never used       0         0             unused_arena_objects
 */
import {
  type ArenaObjectInfo,
  blocksPerPool,
  firstPool,
  inspectArenas,
  type PoolHeaderInfo,
  type PymallocHeapView,
  usableArenaOrder,
} from "@tsmalloc/pymalloc";

/** Which part of the map a row is in. */
export type ArenaSection = "full" | "usable" | "released";

/** One row of the map: an arena-object slot. */
export interface ArenaRow {
  readonly section: ArenaSection;
  /** The slot's arena object (its `address` is 0 for a released arena). */
  readonly arena: ArenaObjectInfo;
  /** Its position on usable_arenas (0 = the head), -1 off the list. */
  readonly position: number;
}

/** What a pool cell shows. */
export const PoolState = {
  /** Past the arena's `pool_address`: not carved yet. */
  Uncarved: 0,
  /** Carved, no block in use: on the arena's `freepools`. */
  Empty: 1,
  /** Some blocks in use: on `usedpools[szidx]`. */
  Used: 2,
  /** Every block in use: on no list. */
  Full: 3,
} as const;
export type PoolState = (typeof PoolState)[keyof typeof PoolState];

/** The names the page shows for each {@link PoolState}. */
export const POOL_STATE_NAMES: readonly string[] = ["never carved", "empty", "used", "full"];

/**
 * True when the slot has held an arena and holds none now: its arena was given back (see the
 * module comment).
 */
export function isReleased(arena: ArenaObjectInfo): boolean {
  return arena.address === 0 && arena.ntotalpools !== 0;
}

/**
 * The map's rows from the heap as it is now: full arenas by slot, then usable_arenas in list
 * order, then the released slots by slot.
 */
export function arenaRows(heap: PymallocHeapView): ArenaRow[] {
  const slots = inspectArenas(heap);
  const rows: ArenaRow[] = [];
  for (const arena of slots) if (arena.address !== 0 && arena.nfreepools === 0) rows.push({ section: "full", arena, position: -1 });
  usableArenaOrder(heap).forEach((arena, position) => rows.push({ section: "usable", arena, position }));
  for (const arena of slots) if (isReleased(arena)) rows.push({ section: "released", arena, position: -1 });
  return rows;
}

/** The address of pool `column` (0-based) of an arena that holds memory. */
export function poolAddress(heap: PymallocHeapView, arena: ArenaObjectInfo, column: number): number {
  return firstPool(heap, arena) + column * heap.layout.poolSize;
}

/** Whether the pool at `pool` of `arena` has been carved (lies before `pool_address`). */
export function isCarved(arena: ArenaObjectInfo, pool: number): boolean {
  return arena.address !== 0 && pool < arena.poolAddress;
}

/** A carved pool's state from its header: empty, used or full. */
export function poolState(heap: PymallocHeapView, header: PoolHeaderInfo): PoolState {
  if (header.count === 0) return PoolState.Empty;
  return header.count >= blocksPerPool(heap.layout, header.szidx) ? PoolState.Full : PoolState.Used;
}

/** How full a carved pool is, 0..1: blocks in use over the blocks it can hold. */
export function poolFullness(heap: PymallocHeapView, header: PoolHeaderInfo): number {
  return header.count === 0 ? 0 : Math.min(1, header.count / blocksPerPool(heap.layout, header.szidx));
}

/**
 * The map in words, for the line under it (and for screen readers, which cannot read a canvas):
 * `6 arenas: 5 full (#0 #1 #2 #3 #4), 1 on usable_arenas (#5), 0 released`.
 */
export function describeRows(rows: readonly ArenaRow[]): string {
  const part = (section: ArenaSection, label: string): string => {
    const slots = rows.filter((row) => row.section === section).map((row) => `#${row.arena.index}`);
    return `${slots.length} ${label}${slots.length === 0 ? "" : ` (${slots.join(" ")})`}`;
  };
  const held = rows.filter((row) => row.section !== "released").length;
  return `${held} arena${held === 1 ? "" : "s"}: ${part("full", "full")}, ${part("usable", "on usable_arenas")}, ${part("released", "released")}`;
}
