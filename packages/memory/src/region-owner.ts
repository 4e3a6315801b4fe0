/**
 * Who a mapped region belongs to. The region allocator records an owner for every region so that
 * statistics and the visualizer can tell heaps, arenas and the host apart, and so that an allocator
 * can cheaply refuse a pointer into somebody else's pages.
 *
 * Values 1..15 are tsmalloc's own; programs that map regions for themselves may use any integer
 * from {@link RegionOwner.User} (16) to {@link MAX_REGION_OWNER} (63).
 */
export const RegionOwner = {
  /** The memory's own header: its fields, root table and page map. */
  Memory: 1,
  /** Pages below the memory's `base`: the host's (a WASM module's data and stack, say). */
  Host: 2,
  /** A segment of a `@tsmalloc/malloc` heap. */
  Malloc: 3,
  /** One large block of a `@tsmalloc/malloc` heap, in a region of its own. */
  MallocLarge: 4,
  /** An arena of `@tsmalloc/pymalloc`. */
  Arena: 5,
  /** The heap-slot table of a free-threaded runtime (`HeapSlots`). */
  HeapSlots: 6,
  /** The first owner value free for programs; the default of `map()`. */
  User: 16,
} as const;

/** A region owner: one of {@link RegionOwner}'s values or a program's own in 16..63. */
export type RegionOwner = number;

/** The largest owner value a region can carry. */
export const MAX_REGION_OWNER = 63;

const ownerNames: Readonly<Record<number, string>> = {
  1: "memory",
  2: "host",
  3: "malloc",
  4: "malloc-large",
  5: "arena",
  6: "heap-slots",
};

/** A short name for an owner (`"malloc"`, `"arena"`, `"user-17"`), for reports. Never throws. */
export function regionOwnerName(owner: number): string {
  return ownerNames[owner] ?? (owner >= RegionOwner.User ? `user-${owner}` : `owner-${owner}`);
}
