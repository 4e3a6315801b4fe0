/*
 * What the side panel shows for a clicked pool or arena: the structure's fields as CPython names
 * them, decoded from the memory at the moment of drawing, and what they mean.
 */
import { formatAddress as hex } from "@tsmalloc/memory";
import {
  blocksPerPool,
  classSize,
  freeListOf,
  inspectArenaObject,
  inspectPool,
  inspectState,
  type PymallocHeapView,
  usableArenaOrder,
  usedpoolsHeader,
} from "@tsmalloc/pymalloc";
import { formatCount as count } from "@tsmalloc/trace/browser";
import { POOL_STATE_NAMES, poolState } from "./arena-map.ts";

/** One line of a details table: a field's name, its value, and a note on it ("" for none). */
export interface DetailRow {
  readonly field: string;
  readonly value: string;
  readonly note: string;
}

/** A pool's header and free list. */
export interface PoolDetails {
  readonly title: string;
  readonly rows: readonly DetailRow[];
  /** The blocks on the free list, head first (cut at the pool's capacity). */
  readonly freeList: readonly number[];
  /** Blocks never handed out yet, past `nextoffset` (not on the free list). */
  readonly uncarvedBlocks: number;
}

/** Decodes the `struct pool_header` at `pool` (a carved pool of a live arena). */
export function poolDetails(heap: PymallocHeapView, pool: number): PoolDetails {
  const header = inspectPool(heap, pool);
  const size = classSize(heap.layout, header.szidx);
  const capacity = blocksPerPool(heap.layout, header.szidx);
  const state = poolState(heap, header);
  const stateName = POOL_STATE_NAMES[state]!;
  const freeList = state === 1 ? [] : freeListOf(heap, pool);
  const uncarved = header.nextoffset <= header.maxnextoffset ? Math.floor((header.maxnextoffset - header.nextoffset) / size) + 1 : 0;
  const on = state === 1 ? "its arena's freepools" : state === 2 ? `usedpools[${header.szidx}]` : "no list (full pools are on none)";
  // usedpools[i] is a "virtual" pool header inside the state block: a link to it ends the list
  const listHead = usedpoolsHeader(heap, header.szidx);
  const usedLink = (link: number, other: string): string => (link === listHead ? `usedpools[${header.szidx}] itself: ${other}` : "");
  const rows: DetailRow[] = [
    { field: "ref.count", value: count(header.count), note: `blocks in use, of ${count(capacity)}` },
    { field: "freeblock", value: hex(header.freeblock), note: header.freeblock === 0 ? "free list empty" : "head of the free list" },
    {
      field: "nextpool",
      value: hex(header.nextpool),
      note: state === 2 ? usedLink(header.nextpool, "the last pool of its class") || "next pool of the same class" : state === 1 ? (header.nextpool === 0 ? "the arena's last empty pool" : "next empty pool of the arena") : "stale",
    },
    { field: "prevpool", value: hex(header.prevpool), note: state === 2 ? usedLink(header.prevpool, "the first pool of its class") || "previous pool of the same class" : "stale" },
    { field: "arenaindex", value: String(header.arenaindex), note: "slot in the arenas vector" },
    { field: "szidx", value: String(header.szidx), note: `${size}-byte blocks${state === 1 ? " (stale: the pool is empty)" : ""}` },
    { field: "nextoffset", value: count(header.nextoffset), note: uncarved > 0 ? `the next never-used block: ${hex(pool + header.nextoffset)}` : "every block has been carved" },
    { field: "maxnextoffset", value: count(header.maxnextoffset), note: "the last block's offset" },
  ];
  return { title: `pool ${hex(pool)}: ${stateName}, on ${on}`, rows, freeList, uncarvedBlocks: state === 1 ? 0 : uncarved };
}

/** Decodes the `struct arena_object` at `object` (an address in the arenas vector). */
export function arenaDetails(heap: PymallocHeapView, object: number): { readonly title: string; readonly rows: readonly DetailRow[] } {
  const arena = inspectArenaObject(heap, object);
  const state = inspectState(heap);
  const position = usableArenaOrder(heap).findIndex((a) => a.object === object);
  const last = state.nfp2lasta[arena.nfreepools] === object;
  const where =
    arena.address === 0
      ? "released: on unused_arena_objects"
      : position >= 0
        ? `usable_arenas[${position}]${position === 0 ? " (the head: new pools come from here)" : ""}`
        : "full: off usable_arenas";
  const rows: DetailRow[] = [
    { field: "address", value: hex(arena.address), note: arena.address === 0 ? "no arena (given back)" : `${count(heap.layout.arenaSize)} bytes` },
    { field: "pool_address", value: hex(arena.poolAddress), note: arena.address === 0 ? "" : "the next pool to carve" },
    { field: "nfreepools", value: String(arena.nfreepools), note: "empty or never-carved pools" },
    { field: "ntotalpools", value: String(arena.ntotalpools), note: "pools the arena can hold" },
    { field: "freepools", value: hex(arena.freepools), note: arena.freepools === 0 ? "no empty pool" : "head of its empty pools" },
    { field: "nextarena", value: hex(arena.nextarena), note: arena.address === 0 ? "next unused arena object" : "next on usable_arenas" },
    { field: "prevarena", value: hex(arena.prevarena), note: "previous on usable_arenas" },
    { field: "nfp2lasta", value: last ? "this arena" : "–", note: `nfp2lasta[${arena.nfreepools}]: the last usable arena with this many free pools` },
  ];
  return { title: `arena object #${arena.index} at ${hex(object)}: ${where}`, rows };
}
