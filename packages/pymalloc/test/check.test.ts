/*
 * check() against deliberate corruption: one test per invariant, each writing a few words of a
 * known-good heap through memory.u32 (offsets from structs.ts), expecting check() to report the
 * broken structure by name, assertHeapValid() to throw ERR_TSMALLOC_CORRUPTION, and, once the
 * words are put back, the heap to check clean again (so that each test sees exactly its own
 * corruption).
 */
import { assertHeapValid, ErrorCode } from "@tsmalloc/memory";
import {
  type ArenaObjectInfo,
  carvedPools,
  freeListOf,
  inspectArenas,
  inspectPool,
  inspectState,
  usableArenaOrder,
  usedpoolsHeader,
} from "@tsmalloc/pymalloc";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ARENA_FREEPOOLS_WORD,
  ARENA_NEXTARENA_WORD,
  ARENA_NFREEPOOLS_WORD,
  ARENA_NTOTALPOOLS_WORD,
  ARENA_POOL_ADDRESS_WORD,
  ARENA_PREVARENA_WORD,
  nfp2lastaOffset,
  POOL_HEADER_64,
  STATE_ARENA_MAP_WORD,
  STATE_MAGIC_WORD,
  STATE_NARENAS_CURRENTLY_ALLOCATED_WORD,
  STATE_NARENAS_HIGHWATER_WORD,
  STATE_UNUSED_ARENA_OBJECTS_WORD,
  STATE_USABLE_ARENAS_WORD,
  STATE_VERSION_WORD,
} from "../src/structs.ts";

// the pool header's words on the 64-bit layouts these tests use
const {
  count: POOL_COUNT_WORD,
  freeblock: POOL_FREEBLOCK_WORD,
  nextpool: POOL_NEXTPOOL_WORD,
  prevpool: POOL_PREVPOOL_WORD,
  arenaindex: POOL_ARENAINDEX_WORD,
  szidx: POOL_SZIDX_WORD,
  nextoffset: POOL_NEXTOFFSET_WORD,
  maxnextoffset: POOL_MAXNEXTOFFSET_WORD,
} = POOL_HEADER_64;
import { expectError, expectHeapOk, type Heap, hex, makeHeap } from "./helpers.ts";

/** 16 pools of 4 KiB per arena: 7 blocks of 512 bytes per pool, 112 per arena. */
const LAYOUT = { poolSize: 4096, arenaSize: 65536 } as const;
const PER_POOL = 7;
const POOLS = 16;
/** The size class of 512-byte blocks and of 64-byte blocks. */
const BIG = 31;
const SMALL = 3;

/**
 * A heap with every kind of structure:
 *
 * - arena 0: full (on no list); its pools 0 and 1 have one free block each (both on
 *   usedpools[31]), pool 2 is full;
 * - arena 1: 5 empty pools on its freepools (nfreepools 5);
 * - arena 2: 2 empty pools, then one taken by a class-3 pool whose free list has 3 entries
 *   (nfreepools 1);
 * - usable_arenas: arena 2, arena 1; nfp2lasta[1] and [5] set; 13 unused arena objects.
 */
interface Scene extends Heap {
  arenas: ArenaObjectInfo[];
  /** Pools of 512-byte blocks of arena 0, in address order. */
  used: [number, number];
  full: number;
  /** The class-3 pool, and its free list. */
  small: number;
  smallFree: number[];
}

function build(): Scene {
  const heap = makeHeap({ layout: LAYOUT });
  const { obj } = heap;
  const poolOf = (p: number): number => p - (p % LAYOUT.poolSize);
  const byPool = new Map<number, number[]>();
  for (let i = 0; i < 3 * POOLS * PER_POOL; i++) {
    const p = obj.malloc(512);
    const list = byPool.get(poolOf(p)) ?? [];
    list.push(p);
    byPool.set(poolOf(p), list);
  }
  const pools = [...byPool.keys()].sort((a, b) => a - b);
  expect(pools).toHaveLength(3 * POOLS);
  const release = (pool: number): void => {
    for (const p of byPool.get(pool)!) obj.free(p);
  };
  for (const pool of pools.slice(POOLS, POOLS + 5)) release(pool);
  for (const pool of pools.slice(2 * POOLS, 2 * POOLS + 2)) release(pool);
  obj.free(byPool.get(pools[0]!)![3]!);
  obj.free(byPool.get(pools[1]!)![5]!);
  const small = Array.from({ length: 10 }, () => obj.malloc(64));
  obj.free(small[2]!);
  obj.free(small[6]!);
  const arenas = inspectArenas(obj).filter((a) => a.address !== 0);
  expect(arenas.map((a) => a.nfreepools)).toEqual([0, 5, 1]);
  expect(usableArenaOrder(obj).map((a) => a.index)).toEqual([2, 1]);
  const smallPool = poolOf(small[0]!);
  const smallFree = freeListOf(obj, smallPool);
  expect(smallFree).toHaveLength(3);
  expect(inspectState(obj).usedpools[BIG]).toBe(pools[1]); // most recently freed first
  expectHeapOk(obj);
  return { ...heap, arenas, used: [pools[0]!, pools[1]!], full: pools[2]!, small: smallPool, smallFree };
}

/** The byte address of word `word` of the struct at `base`. */
function at(base: number, word: number): number {
  return base + word * 4;
}

/**
 * Writes `writes` ([byte address, value] pairs), expects check() to fail with a problem matching
 * `pattern` and assertHeapValid() to throw ERR_TSMALLOC_CORRUPTION, then puts the words back and
 * expects the heap clean again.
 */
function expectCaught(s: Scene, writes: readonly (readonly [number, number])[], pattern: RegExp): void {
  const u32 = s.memory.u32;
  const saved = writes.map(([address]) => [address, u32[address >>> 2]!] as const);
  for (const [address, value] of writes) u32[address >>> 2] = value;
  const result = s.obj.check();
  expect(result.ok).toBe(false);
  const messages = result.problems.map((p) => p.message);
  expect(messages, messages.join("\n")).toContainEqual(expect.stringMatching(pattern));
  const error = expectError(() => assertHeapValid(s.obj), ErrorCode.Corruption);
  expect(error.message).toMatch(pattern);
  expect(error.message).toMatch(/^pymalloc: heap check found \d+ problem/);
  for (const [address, value] of saved.reverse()) u32[address >>> 2] = value;
  expectHeapOk(s.obj);
}

describe("check() finds", () => {
  let s: Scene;
  let state: number;
  beforeEach(() => {
    s = build();
    state = s.obj.address;
  });

  it("nothing wrong in a valid heap, and assertHeapValid() passes", () => {
    expectHeapOk(s.obj);
    expect(() => assertHeapValid(s.obj)).not.toThrow();
  });

  describe("in a pool", () => {
    it("a count one too high or one too low", () => {
      const count = inspectPool(s.obj, s.used[0]).count;
      expect(count).toBe(PER_POOL - 1);
      const word = at(s.used[0], POOL_COUNT_WORD);
      expectCaught(s, [[word, count + 1]], new RegExp(`pool ${hex(s.used[0])} has 1 blocks on its free list, expected ${PER_POOL} carved - ${count + 1} allocated = 0`));
      expectCaught(s, [[word, count - 1]], new RegExp(`pool ${hex(s.used[0])} has 1 blocks on its free list, expected ${PER_POOL} carved - ${count - 1} allocated = 2`));
      // a full pool counting one more block than it has
      expectCaught(s, [[at(s.full, POOL_COUNT_WORD), PER_POOL + 1]], new RegExp(`pool ${hex(s.full)} counts ${PER_POOL + 1} allocated blocks but only ${PER_POOL} were carved`));
    });

    it("a free-list cycle", () => {
      const [, second] = s.smallFree;
      // the second free block links back to the first
      expectCaught(s, [[second!, s.smallFree[0]!]], new RegExp(`the free list of pool ${hex(s.small)} has a cycle at ${hex(s.smallFree[0]!)}`));
      // a block linking to itself
      expectCaught(s, [[s.smallFree[0]!, s.smallFree[0]!]], /free list of pool .* has a cycle/);
    });

    it("a free-list entry that is not a carved block start", () => {
      const head = at(s.small, POOL_FREEBLOCK_WORD);
      const [first] = s.smallFree;
      for (const bad of [first! + 8, first! + 16, first! + 63, s.small + 16]) {
        expectCaught(s, [[head, bad]], new RegExp(`the free list of pool ${hex(s.small)} holds ${hex(bad)}, which is not a carved block start`));
      }
      // a block boundary past nextoffset (never carved)
      const never = s.small + inspectPool(s.obj, s.small).nextoffset + 64;
      expectCaught(s, [[head, never]], /not a carved block start/);
      // a link leaving the pool
      expectCaught(s, [[s.smallFree[1]!, s.small + LAYOUT.poolSize + 48]], /not a carved block start/);
    });

    it("a wrong nextoffset, maxnextoffset, size class or arena index", () => {
      const pool = s.small;
      const nextoffset = inspectPool(s.obj, pool).nextoffset;
      expectCaught(s, [[at(pool, POOL_NEXTOFFSET_WORD), nextoffset + 8]], new RegExp(`pool ${hex(pool)} has nextoffset ${nextoffset + 8}, not a block boundary`));
      expectCaught(s, [[at(pool, POOL_NEXTOFFSET_WORD), LAYOUT.poolSize + 48]], /has nextoffset/);
      expectCaught(s, [[at(pool, POOL_MAXNEXTOFFSET_WORD), 4000]], new RegExp(`pool ${hex(pool)} has maxnextoffset 4000, expected ${LAYOUT.poolSize - 64}`));
      expectCaught(s, [[at(pool, POOL_SZIDX_WORD), 40]], new RegExp(`pool ${hex(pool)} is in use with size class 40`));
      expectCaught(s, [[at(pool, POOL_ARENAINDEX_WORD), 1]], new RegExp(`pool ${hex(pool)} has arenaindex 1, but lies in arena 2`));
    });
  });

  describe("in usedpools", () => {
    it("a broken prevpool link", () => {
      const [first, second] = [s.used[1], s.used[0]];
      expect(inspectPool(s.obj, first).nextpool).toBe(second);
      const header = usedpoolsHeader(s.obj, BIG);
      // the second pool's back link skips the first
      expectCaught(s, [[at(second, POOL_PREVPOOL_WORD), header]], new RegExp(`pool ${hex(second)} has prevpool ${hex(header)}, expected ${hex(first)}`));
      // the header's back link (the list's last pool) is wrong
      expectCaught(s, [[at(header, POOL_PREVPOOL_WORD), first]], new RegExp(`usedpools\\[${BIG}\\]'s header has prevpool ${hex(first)}, expected ${hex(second)}`));
    });

    it("a full pool left on the list", () => {
      const header = usedpoolsHeader(s.obj, BIG);
      const first = s.used[1];
      // link the full pool in at the front, both ways
      expectCaught(
        s,
        [
          [at(header, POOL_NEXTPOOL_WORD), s.full],
          [at(s.full, POOL_NEXTPOOL_WORD), first],
          [at(s.full, POOL_PREVPOOL_WORD), header],
          [at(first, POOL_PREVPOOL_WORD), s.full],
        ],
        new RegExp(`usedpools\\[${BIG}\\] links to ${hex(s.full)}, which is not a pool of class ${BIG} with free blocks`),
      );
    });

    it("a pool with free blocks missing from the list, or on the list of another class", () => {
      const header = usedpoolsHeader(s.obj, BIG);
      const [second, first] = s.used;
      // unlink the first pool: the header points straight at the second
      expectCaught(
        s,
        [
          [at(header, POOL_NEXTPOOL_WORD), second],
          [at(second, POOL_PREVPOOL_WORD), header],
        ],
        new RegExp(`pool ${hex(first)} of class ${BIG} has free blocks but is not on usedpools\\[${BIG}\\]`),
      );
      // the class-3 list made to point at a class-31 pool
      const smallHeader = usedpoolsHeader(s.obj, SMALL);
      expectCaught(s, [[at(smallHeader, POOL_NEXTPOOL_WORD), first]], new RegExp(`usedpools\\[${SMALL}\\] links to ${hex(first)}, which is not a pool of class ${SMALL}`));
    });

    it("a cycle", () => {
      const [second, first] = s.used;
      expectCaught(s, [[at(second, POOL_NEXTPOOL_WORD), first]], new RegExp(`usedpools\\[${BIG}\\] has a cycle`));
    });
  });

  describe("in an arena", () => {
    it("a wrong nfreepools", () => {
      const arena = s.arenas[1]!;
      expectCaught(s, [[at(arena.object, ARENA_NFREEPOOLS_WORD), 6]], /arena 1 has nfreepools 6, but 5 empty \+ 0 never-carved pools/);
      expectCaught(s, [[at(arena.object, ARENA_NFREEPOOLS_WORD), 4]], /arena 1 has nfreepools 4/);
      // the full arena claiming a free pool
      expectCaught(s, [[at(s.arenas[0]!.object, ARENA_NFREEPOOLS_WORD), 1]], /arena 0 has nfreepools 1, but 0 empty/);
    });

    it("a freepools list with a cycle, a foreign pool, or a pool that is not empty", () => {
      const arena = s.arenas[1]!;
      const first = arena.freepools;
      const second = inspectPool(s.obj, first).nextpool;
      expect(second).not.toBe(0);
      expectCaught(s, [[at(second, POOL_NEXTPOOL_WORD), first]], /freepools of arena 1 has a cycle/);
      // a pool of another arena
      expectCaught(s, [[at(arena.object, ARENA_FREEPOOLS_WORD), s.full]], new RegExp(`freepools of arena 1 links to ${hex(s.full)}, which is not a carved pool of that arena`));
      // the head dropped: that empty pool is on no list
      expectCaught(s, [[at(arena.object, ARENA_FREEPOOLS_WORD), second]], new RegExp(`pool ${hex(first)} is empty but not on its arena's freepools`));
      // an empty pool made to look used
      expectCaught(s, [[at(first, POOL_COUNT_WORD), 1]], new RegExp(`pool ${hex(first)} is on freepools but has 1 allocated blocks`));
    });

    it("an empty pool whose free list is broken (its class takes the pool back with that list as it is)", () => {
      // allocate_from_new_pool reuses an empty pool's free list when the pool's szidx matches, so
      // the free list of a pool on freepools is live state: all its carved blocks, each once
      const pool = s.arenas[1]!.freepools;
      const list = freeListOf(s.obj, pool);
      expect(inspectPool(s.obj, pool).count).toBe(0);
      expect(list).toHaveLength(PER_POOL);
      expectCaught(s, [[list[1]!, list[0]!]], new RegExp(`the free list of pool ${hex(pool)} has a cycle`));
      expectCaught(s, [[list[3]!, 0]], new RegExp(`pool ${hex(pool)} has 4 blocks on its free list, expected ${PER_POOL} carved - 0 allocated = ${PER_POOL}`));
      expectCaught(s, [[at(pool, POOL_FREEBLOCK_WORD), list[0]! + 8]], /not a carved block start/);
    });

    it("a pool_address off a pool boundary or outside the arena, and a wrong ntotalpools", () => {
      const arena = s.arenas[2]!;
      expectCaught(s, [[at(arena.object, ARENA_POOL_ADDRESS_WORD), arena.poolAddress + 16]], /arena 2 has pool_address .* off a pool boundary/);
      expectCaught(s, [[at(arena.object, ARENA_POOL_ADDRESS_WORD), arena.address + 2 * LAYOUT.arenaSize]], /arena 2 has pool_address/);
      expectCaught(s, [[at(arena.object, ARENA_NTOTALPOOLS_WORD), POOLS - 1]], new RegExp(`arena 2 has ntotalpools ${POOLS - 1}, expected ${POOLS}`));
    });
  });

  describe("in usable_arenas and nfp2lasta", () => {
    it("arenas out of order", () => {
      const [head, next] = [s.arenas[2]!, s.arenas[1]!];
      // swap them: arena 1 (5 free pools) first, then arena 2 (1)
      expectCaught(
        s,
        [
          [at(state, STATE_USABLE_ARENAS_WORD), next.object],
          [at(next.object, ARENA_PREVARENA_WORD), 0],
          [at(next.object, ARENA_NEXTARENA_WORD), head.object],
          [at(head.object, ARENA_PREVARENA_WORD), next.object],
          [at(head.object, ARENA_NEXTARENA_WORD), 0],
        ],
        /usable_arenas is not sorted: arena 1 \(5 free pools\) comes before arena 2 \(1\)/,
      );
    });

    it("a broken prevarena link, a cycle, a missing arena, a full arena on the list", () => {
      const [head, next] = [s.arenas[2]!, s.arenas[1]!];
      expectCaught(s, [[at(next.object, ARENA_PREVARENA_WORD), 0]], new RegExp(`arena 1 has prevarena 0x0, expected ${hex(head.object)}`));
      expectCaught(s, [[at(next.object, ARENA_NEXTARENA_WORD), head.object]], /usable_arenas links to .* \(or the list has a cycle\)|usable_arenas is not sorted/);
      expectCaught(s, [[at(head.object, ARENA_NEXTARENA_WORD), 0]], /arena 1 has 5 free pools but is not on usable_arenas/);
      // the full arena 0 linked in after arena 1
      const full = s.arenas[0]!;
      expectCaught(
        s,
        [
          [at(next.object, ARENA_NEXTARENA_WORD), full.object],
          [at(full.object, ARENA_PREVARENA_WORD), next.object],
          [at(full.object, ARENA_NEXTARENA_WORD), 0],
        ],
        /arena 0 has no free pool but is on usable_arenas/,
      );
      // a link to something that is not an arena object
      expectCaught(s, [[at(state, STATE_USABLE_ARENAS_WORD), s.full]], new RegExp(`usable_arenas links to ${hex(s.full)}, which is not a live arena object`));
    });

    it("a wrong nfp2lasta finger", () => {
      const fingers = state + nfp2lastaOffset(s.obj.layout.numClasses);
      expect(inspectState(s.obj).nfp2lasta[1]).toBe(s.arenas[2]!.object);
      expect(inspectState(s.obj).nfp2lasta[5]).toBe(s.arenas[1]!.object);
      // a finger cleared, a finger on the wrong arena, a finger where no arena has that count
      expectCaught(s, [[fingers + 4 * 1, 0]], new RegExp(`nfp2lasta\\[1\\] is 0x0, expected ${hex(s.arenas[2]!.object)}`));
      expectCaught(s, [[fingers + 4 * 5, s.arenas[2]!.object]], new RegExp(`nfp2lasta\\[5\\] is ${hex(s.arenas[2]!.object)}, expected ${hex(s.arenas[1]!.object)}`));
      expectCaught(s, [[fingers + 4 * 3, s.arenas[1]!.object]], new RegExp(`nfp2lasta\\[3\\] is ${hex(s.arenas[1]!.object)}, expected 0x0`));
      expectCaught(s, [[fingers + 4 * POOLS, s.arenas[1]!.object]], new RegExp(`nfp2lasta\\[${POOLS}\\]`));
    });
  });

  describe("in the arena map", () => {
    it("an arena's entry cleared", () => {
      const map = s.memory.u32[(state >>> 2) + STATE_ARENA_MAP_WORD]!;
      const arena = s.arenas[1]!;
      const chunk = arena.address / LAYOUT.arenaSize;
      expectCaught(s, [[map + chunk * 8, 0]], new RegExp(`arena map entry ${chunk} \\(${hex(arena.address)}\\) has tail_hi 0, expected -1`));
      expectCaught(s, [[map + chunk * 8, 16]], new RegExp(`arena map entry ${chunk} .* has tail_hi 16, expected -1`));
    });

    it("an entry set where there is no arena", () => {
      const map = s.memory.u32[(state >>> 2) + STATE_ARENA_MAP_WORD]!;
      // the memory's header page, the raw heap's segment, the top of the address space
      const rawBlock = s.obj.malloc(2000);
      for (const address of [0, rawBlock, 2 ** 32 - LAYOUT.arenaSize]) {
        const chunk = Math.floor(address / LAYOUT.arenaSize);
        expectCaught(s, [[map + chunk * 8, 0xffffffff]], new RegExp(`arena map entry ${chunk} \\(${hex(chunk * LAYOUT.arenaSize)}\\) has tail_hi -1, expected 0`));
        expectCaught(s, [[map + chunk * 8 + 4, 4096]], new RegExp(`arena map entry ${chunk} .* has tail_lo 4096, expected 0`));
      }
      s.obj.free(rawBlock);
    });
  });

  describe("in the arenas vector and the state block", () => {
    it("unused_arena_objects holding a live arena", () => {
      const live = s.arenas[0]!;
      expectCaught(s, [[at(state, STATE_UNUSED_ARENA_OBJECTS_WORD), live.object]], new RegExp(`arena object 0 is on unused_arena_objects but holds the arena at ${hex(live.address)}`));
      // linked in behind the first unused slot
      const unused = inspectState(s.obj).unusedArenaObjects;
      expectCaught(
        s,
        [
          [at(unused, ARENA_NEXTARENA_WORD), live.object],
          [at(live.object, ARENA_NEXTARENA_WORD), 0],
        ],
        /arena object 0 is on unused_arena_objects but holds the arena/,
      );
    });

    it("an unused arena object missing from unused_arena_objects, a cycle, a foreign link", () => {
      const unused = inspectState(s.obj).unusedArenaObjects;
      expect(unused).toBe(s.arenas[2]!.object + 48);
      expectCaught(s, [[at(state, STATE_UNUSED_ARENA_OBJECTS_WORD), 0]], /arena object 3 holds no arena but is not on unused_arena_objects/);
      expectCaught(s, [[at(unused + 48, ARENA_NEXTARENA_WORD), unused]], /unused_arena_objects has a cycle/);
      expectCaught(s, [[at(state, STATE_UNUSED_ARENA_OBJECTS_WORD), unused + 8]], /unused_arena_objects links to .* which is not a slot of the arenas vector/);
    });

    it("arena counters that disagree with the arenas", () => {
      expectCaught(s, [[at(state, STATE_NARENAS_CURRENTLY_ALLOCATED_WORD), 2]], /narenas_currently_allocated is 2 but 3 arena objects hold arenas/);
      expectCaught(s, [[at(state, STATE_NARENAS_HIGHWATER_WORD), 1]], /arena counters disagree/);
    });

    it("the state magic or version overwritten", () => {
      expectCaught(s, [[at(state, STATE_MAGIC_WORD), 0]], /the state block has lost its magic number or version/);
      expectCaught(s, [[at(state, STATE_MAGIC_WORD), 0x706d6c64]], /lost its magic/);
      expectCaught(s, [[at(state, STATE_VERSION_WORD), 2]], /lost its magic number or version/);
    });
  });
});

describe("check() on a wildly broken heap", () => {
  it("reports problems instead of throwing", () => {
    const s = build();
    const u32 = s.memory.u32;
    const wild = [0xfffffff0, 0x7ffffff0, 0x10, s.memory.byteLength + 4096];
    const targets = [
      at(s.obj.address, STATE_USABLE_ARENAS_WORD),
      at(s.obj.address, STATE_UNUSED_ARENA_OBJECTS_WORD),
      at(s.small, POOL_FREEBLOCK_WORD),
      at(s.used[1], POOL_NEXTPOOL_WORD),
      at(usedpoolsHeader(s.obj, BIG), POOL_NEXTPOOL_WORD),
      at(s.arenas[1]!.object, ARENA_FREEPOOLS_WORD),
      at(s.arenas[1]!.object, ARENA_NEXTARENA_WORD),
      s.smallFree[1]!,
    ];
    for (const target of targets) {
      for (const value of wild) {
        const old = u32[target >>> 2]!;
        u32[target >>> 2] = value;
        let result: ReturnType<typeof s.obj.check> | undefined;
        expect(() => (result = s.obj.check()), `${hex(target)} = ${hex(value)}`).not.toThrow();
        expect(result!.ok, `${hex(target)} = ${hex(value)}`).toBe(false);
        u32[target >>> 2] = old;
      }
    }
    expectHeapOk(s.obj);
    // and the problem list stays bounded however much is broken
    for (const arena of s.arenas) for (const pool of carvedPools(s.obj, arena)) u32[(pool >>> 2) + POOL_MAXNEXTOFFSET_WORD] = 1;
    const result = s.obj.check();
    expect(result.ok).toBe(false);
    expect(result.problems.length).toBeGreaterThan(1);
    expect(result.problems.length).toBeLessThanOrEqual(100);
  });
});
