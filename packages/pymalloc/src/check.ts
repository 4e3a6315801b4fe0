import { formatAddress as hex, type HeapCheck, HeapKind, type HeapProblem, HeapSlots } from "@tsmalloc/memory";
import {
  type ArenaObjectInfo,
  carvedPools,
  firstPool,
  freeListOf,
  inspectArenas,
  inspectPool,
  inspectState,
  type PoolHeaderInfo,
  type PymallocHeapView,
  usedpoolsHeader,
} from "./inspect.ts";
import { arenaMapBytes, blocksPerPool, classSize } from "./layout.ts";
import {
  ARENA_OBJECT_SIZE,
  STATE_HEAP_SLOTS_WORD,
  STATE_INBOX_DAMAGE_WORD,
  STATE_INBOX_WORD,
  STATE_MAGIC,
  STATE_MAGIC_WORD,
  STATE_SALT_WORD,
  STATE_SLOT_WORD,
  STATE_VERSION,
  STATE_VERSION_WORD,
} from "./structs.ts";

/**
 * Validates every invariant of a pymalloc heap and lists what is broken:
 *
 * - the state block (magic, version) and the arena counters;
 * - the arenas vector: `unused_arena_objects` holds exactly the slots with no arena;
 * - each arena: inside the memory, its pool count after alignment, `pool_address` on a pool
 *   boundary, `nfreepools` = empty pools on `freepools` + never-carved pools;
 * - each carved pool: its `arenaindex`, size class, `nextoffset` / `maxnextoffset`, a free list
 *   of distinct block starts inside the carved part whose length is carved blocks − `ref.count`;
 *   empty pools on their arena's `freepools`, pools with free blocks on `usedpools[szidx]`, full
 *   pools on no list;
 * - every `usedpools` list linked both ways;
 * - `usable_arenas`: linked both ways, sorted by `nfreepools` ascending, holding exactly the arenas
 *   with free pools, and every `nfp2lasta[n]` finger on the last arena with n free pools;
 * - the arena map: exactly the arenas' chunks marked, with the right `tail_hi` / `tail_lo`;
 * - a heap slot's heap (free-threading): recorded as its slot's pymalloc heap, every page of its
 *   arenas marked with its slot in the slot table, every block on its remote-free list a carved
 *   block of one of its pools in use that carries the freed mark and is on no pool's free list,
 *   and no list left damaged by a drain.
 */
export function checkHeap(heap: PymallocHeapView): HeapCheck {
  const problems: HeapProblem[] = [];
  const report = (address: number, message: string): void => {
    if (problems.length < 100) problems.push({ address, message });
  };
  const { layout, memory } = heap;
  const u32 = memory.u32;
  const w = heap.address >>> 2;
  if (u32[w + STATE_MAGIC_WORD] !== STATE_MAGIC || u32[w + STATE_VERSION_WORD] !== STATE_VERSION) {
    report(heap.address, "the state block has lost its magic number or version");
    return { ok: false, problems };
  }
  const state = inspectState(heap);
  const arenas = inspectArenas(heap);
  const byObject = new Map<number, ArenaObjectInfo>(arenas.map((a) => [a.object, a]));
  const vectorEnd = state.arenas + state.maxarenas * ARENA_OBJECT_SIZE;

  // unused_arena_objects: every slot with no arena, and nothing else
  const unused = new Set<number>();
  for (let a = state.unusedArenaObjects; a !== 0; ) {
    const info = byObject.get(a);
    if (info === undefined) {
      report(a, `unused_arena_objects links to ${hex(a)}, which is not a slot of the arenas vector [${hex(state.arenas)}, ${hex(vectorEnd)})`);
      break;
    }
    if (unused.has(a)) {
      report(a, "unused_arena_objects has a cycle");
      break;
    }
    if (info.address !== 0) report(a, `arena object ${info.index} is on unused_arena_objects but holds the arena at ${hex(info.address)}`);
    unused.add(a);
    a = info.nextarena;
  }
  const live = arenas.filter((a) => a.address !== 0);
  for (const a of arenas) {
    if (a.address === 0 && !unused.has(a.object)) report(a.object, `arena object ${a.index} holds no arena but is not on unused_arena_objects`);
  }
  if (state.narenasCurrentlyAllocated !== live.length) {
    report(heap.address, `narenas_currently_allocated is ${state.narenasCurrentlyAllocated} but ${live.length} arena objects hold arenas`);
  }
  if (state.narenasHighwater < live.length || state.ntimesArenaAllocated < state.narenasHighwater) {
    report(heap.address, `arena counters disagree: total ${state.ntimesArenaAllocated}, highwater ${state.narenasHighwater}, current ${live.length}`);
  }

  // arenas and their pools
  const usedPoolsOfClass = new Map<number, Set<number>>();
  for (const arena of live) {
    const { address } = arena;
    if (address + layout.arenaSize > memory.byteLength) {
      report(arena.object, `arena ${arena.index} at ${hex(address)} ends beyond the memory`);
      continue;
    }
    const aligned = (address & (layout.poolSize - 1)) === 0;
    const total = layout.maxPoolsInArena - (aligned ? 0 : 1);
    if (arena.ntotalpools !== total) report(arena.object, `arena ${arena.index} has ntotalpools ${arena.ntotalpools}, expected ${total}`);
    const first = firstPool(heap, arena);
    const end = first + total * layout.poolSize;
    if (arena.poolAddress < first || arena.poolAddress > end || (arena.poolAddress - first) % layout.poolSize !== 0) {
      report(arena.object, `arena ${arena.index} has pool_address ${hex(arena.poolAddress)} outside [${hex(first)}, ${hex(end)}] or off a pool boundary`);
      continue;
    }
    const carved = carvedPools(heap, arena);
    const carvedSet = new Set(carved);
    const freepools = new Set<number>();
    for (let p = arena.freepools; p !== 0; p = inspectPool(heap, p).nextpool) {
      if (!carvedSet.has(p)) {
        report(p, `freepools of arena ${arena.index} links to ${hex(p)}, which is not a carved pool of that arena`);
        break;
      }
      if (freepools.has(p)) {
        report(p, `freepools of arena ${arena.index} has a cycle`);
        break;
      }
      freepools.add(p);
    }
    const neverCarved = (end - arena.poolAddress) / layout.poolSize;
    if (arena.nfreepools !== freepools.size + neverCarved) {
      report(arena.object, `arena ${arena.index} has nfreepools ${arena.nfreepools}, but ${freepools.size} empty + ${neverCarved} never-carved pools`);
    }
    for (const address of carved) {
      const pool = inspectPool(heap, address);
      if (pool.arenaindex !== arena.index) report(address, `pool ${hex(address)} has arenaindex ${pool.arenaindex}, but lies in arena ${arena.index}`);
      if (pool.count === 0) {
        if (!freepools.has(address)) report(address, `pool ${hex(address)} is empty but not on its arena's freepools`);
        // a pool reused for its old class keeps its free list, so that list must be sound too
        checkPool(heap, pool, report);
        continue;
      }
      if (freepools.has(address)) report(address, `pool ${hex(address)} is on freepools but has ${pool.count} allocated blocks`);
      checkPool(heap, pool, report);
      if (pool.freeblock !== 0 && pool.szidx < layout.numClasses) {
        let set = usedPoolsOfClass.get(pool.szidx);
        if (set === undefined) usedPoolsOfClass.set(pool.szidx, (set = new Set()));
        set.add(address);
      }
    }
  }

  // usedpools: both ways, exactly the pools with free blocks
  for (let i = 0; i < layout.numClasses; i++) {
    const header = usedpoolsHeader(heap, i);
    const expected = usedPoolsOfClass.get(i) ?? new Set<number>();
    const seen = new Set<number>();
    let prev = header;
    for (let p = inspectPool(heap, header).nextpool; p !== header; ) {
      if (seen.has(p) || seen.size > expected.size) {
        report(p, `usedpools[${i}] has a cycle or links to pools with no free block`);
        break;
      }
      const pool = inspectPool(heap, p);
      if (!expected.has(p)) {
        report(p, `usedpools[${i}] links to ${hex(p)}, which is not a pool of class ${i} with free blocks`);
        break;
      }
      if (pool.prevpool !== prev) report(p, `pool ${hex(p)} has prevpool ${hex(pool.prevpool)}, expected ${hex(prev)}`);
      seen.add(p);
      prev = p;
      p = pool.nextpool;
    }
    if (inspectPool(heap, header).prevpool !== prev && seen.size === expected.size) {
      report(header, `usedpools[${i}]'s header has prevpool ${hex(inspectPool(heap, header).prevpool)}, expected ${hex(prev)}`);
    }
    for (const p of expected) if (!seen.has(p)) report(p, `pool ${hex(p)} of class ${i} has free blocks but is not on usedpools[${i}]`);
  }

  // usable_arenas: sorted, linked both ways, exactly the arenas with free pools; the fingers
  const order: ArenaObjectInfo[] = [];
  for (let a = state.usableArenas, prev = 0; a !== 0; ) {
    const info = byObject.get(a);
    if (info === undefined || info.address === 0 || order.length >= live.length) {
      report(a, `usable_arenas links to ${hex(a)}, which is not a live arena object (or the list has a cycle)`);
      break;
    }
    if (info.prevarena !== prev) report(a, `arena ${info.index} has prevarena ${hex(info.prevarena)}, expected ${hex(prev)}`);
    const last = order.at(-1);
    if (last !== undefined && last.nfreepools > info.nfreepools) {
      report(a, `usable_arenas is not sorted: arena ${last.index} (${last.nfreepools} free pools) comes before arena ${info.index} (${info.nfreepools})`);
    }
    order.push(info);
    prev = a;
    a = info.nextarena;
  }
  const inOrder = new Set(order.map((a) => a.object));
  for (const arena of live) {
    if (arena.nfreepools > 0 && !inOrder.has(arena.object)) report(arena.object, `arena ${arena.index} has ${arena.nfreepools} free pools but is not on usable_arenas`);
    if (arena.nfreepools === 0 && inOrder.has(arena.object)) report(arena.object, `arena ${arena.index} has no free pool but is on usable_arenas`);
  }
  for (let nf = 0; nf < state.nfp2lasta.length; nf++) {
    let expected = 0;
    for (const a of order) if (a.nfreepools === nf) expected = a.object;
    if (state.nfp2lasta[nf] !== expected) report(heap.address, `nfp2lasta[${nf}] is ${hex(state.nfp2lasta[nf]!)}, expected ${hex(expected)}`);
  }

  checkArenaMap(heap, live, state.arenaMap, report);
  if (u32[w + STATE_SLOT_WORD] !== 0) checkSlot(heap, live, report);
  return { ok: problems.length === 0, problems };
}

/** The heap-slot part of the check (free-threading); see the list above. */
function checkSlot(heap: PymallocHeapView, live: readonly ArenaObjectInfo[], report: (address: number, message: string) => void): void {
  const { layout, memory } = heap;
  const u32 = memory.u32;
  const w = heap.address >>> 2;
  const slot = u32[w + STATE_SLOT_WORD]!;
  let table: HeapSlots;
  try {
    table = HeapSlots.attach(memory, u32[w + STATE_HEAP_SLOTS_WORD]!);
  } catch (error) {
    report(heap.address, `the heap names a heap-slot table that cannot be opened: ${(error as Error).message}`);
    return;
  }
  if (slot > table.count || table.heap(slot, HeapKind.Pymalloc) !== heap.address) report(heap.address, `the slot table does not record this heap as slot ${slot}'s pymalloc heap`);
  const carved = new Map<number, Set<number>>();
  for (const arena of live) {
    for (let page = arena.address; page < arena.address + layout.arenaSize; page += 65536) {
      const marked = table.slotOf(page);
      if (marked !== slot) report(page, `page of arena ${arena.index} is marked for slot ${marked} in the slot table, not ${slot}`);
    }
    for (const address of carvedPools(heap, arena)) {
      const pool = inspectPool(heap, address);
      if (pool.count !== 0 && pool.szidx < layout.numClasses) carved.set(address, new Set(freeListOf(heap, address)));
    }
  }
  const salt = u32[w + STATE_SALT_WORD]!;
  const seen = new Set<number>();
  for (let p = u32[w + STATE_INBOX_WORD]!; p !== 0; p = u32[p >>> 2]!) {
    if (seen.has(p)) {
      report(p, "the remote-free list loops");
      break;
    }
    seen.add(p);
    const pool = p - (p & (layout.poolSize - 1));
    const free = carved.get(pool);
    const info = free === undefined ? null : inspectPool(heap, pool);
    const offset = p - pool - layout.poolOverhead;
    if (free === undefined || info === null || offset < 0 || offset % classSize(layout, info.szidx) !== 0 || offset + layout.poolOverhead >= info.nextoffset) {
      report(p, "the remote-free list holds something that is not a carved block of a pool of this heap in use");
      break;
    }
    if (free.has(p)) report(p, "a block on the remote-free list is also on its pool's free list");
    if (u32[(p >>> 2) + 1] !== ((p ^ salt) >>> 0)) report(p, "a block on the remote-free list lost its freed mark (written after it was freed?)");
  }
  const damaged = u32[w + STATE_INBOX_DAMAGE_WORD]!;
  if (damaged !== 0) report(heap.address, `${damaged} remote-free list(s) were found damaged while being drained (a block written after it was freed); their blocks were left alone`);
}

/** One pool in use: its class, offsets and free list. */
function checkPool(heap: PymallocHeapView, pool: PoolHeaderInfo, report: (address: number, message: string) => void): void {
  const { layout } = heap;
  const at = pool.address;
  if (pool.szidx >= layout.numClasses) {
    report(at, `pool ${hex(at)} is in use with size class ${pool.szidx}`);
    return;
  }
  const size = classSize(layout, pool.szidx);
  const capacity = blocksPerPool(layout, pool.szidx);
  if (pool.maxnextoffset !== layout.poolSize - size) report(at, `pool ${hex(at)} has maxnextoffset ${pool.maxnextoffset}, expected ${layout.poolSize - size}`);
  const carvedBytes = pool.nextoffset - layout.poolOverhead;
  const carved = carvedBytes / size;
  if (!Number.isInteger(carved) || carved < 1 || carved > capacity) {
    report(at, `pool ${hex(at)} has nextoffset ${pool.nextoffset}, not a block boundary of its ${capacity} blocks`);
    return;
  }
  if (pool.count > carved) report(at, `pool ${hex(at)} counts ${pool.count} allocated blocks but only ${carved} were carved`);
  const list = freeListOf(heap, at);
  const seen = new Set<number>();
  for (const block of list) {
    const offset = block - at - layout.poolOverhead;
    if (offset < 0 || offset % size !== 0 || block - at >= pool.nextoffset) {
      report(block, `the free list of pool ${hex(at)} holds ${hex(block)}, which is not a carved block start`);
      return;
    }
    if (seen.has(block)) {
      report(block, `the free list of pool ${hex(at)} has a cycle at ${hex(block)}`);
      return;
    }
    seen.add(block);
  }
  if (list.length !== carved - pool.count) {
    report(at, `pool ${hex(at)} has ${list.length} blocks on its free list, expected ${carved} carved - ${pool.count} allocated = ${carved - pool.count}`);
  }
  if (list.length === 0 && carved < capacity) report(at, `pool ${hex(at)} has no free block listed but ${capacity - carved} never carved`);
}

/** The arena map holds exactly the live arenas' marks. */
function checkArenaMap(heap: PymallocHeapView, live: readonly ArenaObjectInfo[], map: number, report: (address: number, message: string) => void): void {
  const { layout } = heap;
  const entries = arenaMapBytes(layout) / 8;
  const expected = new Int32Array(entries * 2);
  for (const arena of live) {
    const chunk = arena.address >>> layout.arenaBits;
    const tail = arena.address & (layout.arenaSize - 1);
    if (tail === 0) {
      expected[chunk * 2] = -1;
    } else {
      expected[chunk * 2] = tail;
      expected[(chunk + 1) * 2 + 1] = tail;
    }
  }
  const i32 = heap.memory.i32;
  const base = map >>> 2;
  for (let i = 0; i < entries * 2; i++) {
    if (i32[base + i] !== expected[i]) {
      const chunk = i >>> 1;
      report(map + i * 4, `arena map entry ${chunk} (${hex(chunk * layout.arenaSize)}) has ${i % 2 === 0 ? "tail_hi" : "tail_lo"} ${i32[base + i]}, expected ${expected[i]}`);
    }
  }
}
