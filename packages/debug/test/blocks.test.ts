/*
 * The block layout, byte for byte as CPython's on 64-bit, and what each call writes: malloc's
 * 0xCD, calloc's zeros, free's 0xDD, 0-byte blocks, serial numbers; plus the pass-through calls
 * (usableSize, owns, check, stats) and blocks made while the memory grows.
 */
import {
  ApiId,
  CLEANBYTE,
  DEADBYTE,
  DEBUG_EXTRA_BYTES,
  DEBUG_EXTRA_BYTES_SERIAL,
  DebugAllocator,
  dumpDebugBlock,
  FORBIDDENBYTE,
  isDebugAllocator,
  SERIAL_COUNTER_ROOT,
  withDebugHooks,
} from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { Pymalloc } from "@tsmalloc/pymalloc";
import { formatAddress, LinearMemory } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { ENABLE_TRACEMALLOC, expectBlock, expectFilled, expectHeapOk, hooked, leadingLines, lines, readBigEndian, trailingLines } from "./helpers.ts";

describe("the block layout", () => {
  it("is CPython's: big-endian size, API id, 7 x 0xFD, the data in 0xCD, 8 x 0xFD", () => {
    const { hooks } = hooked({ api: "m" });
    const p = hooks.malloc(1000);
    expect(p % 16).toBe(0);
    // the bytes at p-16 .. p, as CPython 3.11 has them for PyMem_Malloc(1000)
    expect([...hooks.memory.u8.subarray(p - 16, p)]).toEqual([0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0x6d, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd]);
    expectFilled(hooks.memory, p, 1000, CLEANBYTE);
    expectFilled(hooks.memory, p + 1000, 8, FORBIDDENBYTE);
    expect(hooks.usableSize(p)).toBe(1000);
  });

  it("nests when hooks wrap hooks, as a large PyMem_Malloc block does under PYTHONMALLOC=debug", () => {
    const heap = new Malloc(new LinearMemory());
    const raw = withDebugHooks(heap, { api: "r" });
    const mem = withDebugHooks(raw, { api: "m" });
    expect(mem.name).toBe("malloc_debug_debug");
    const p = mem.malloc(1000);
    // the outer 'm' header for 1000 bytes, inside the inner 'r' block of 1024
    expect([...mem.memory.u8.subarray(p - 32, p)]).toEqual([
      0, 0, 0, 0, 0, 0, 0x04, 0x00, 0x72, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd,
      0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0x6d, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd,
    ]);
    expect(raw.usableSize(p - 16)).toBe(1024);
    mem.free(p);
    expectHeapOk(heap);
  });

  it("keeps the wrapped allocator's 16-byte alignment for every size", () => {
    const { hooks } = hooked();
    for (let n = 0; n < 300; n++) expect(hooks.malloc(n) % 16).toBe(0);
    for (let n = 0; n < 50; n++) expect(hooks.calloc(n, 3) % 16).toBe(0);
  });

  it("holds a size as large as the memory allows, in the low bytes of the big-endian size", () => {
    const { hooks } = hooked();
    const n = 40 << 20;
    const p = hooks.malloc(n);
    expect(readBigEndian(hooks.memory, p - 16)).toBe(BigInt(n));
    expectBlock(hooks.memory, p, n, "r");
    hooks.free(p);
  });
});

describe("malloc, calloc and free", () => {
  it("calloc leaves the data zeroed (no 0xCD) and computes the product", () => {
    const { hooks } = hooked({ api: "o" });
    const dirty = hooks.malloc(4000);
    hooks.memory.u8.fill(0xab, dirty, dirty + 4000);
    hooks.free(dirty);
    const p = hooks.calloc(100, 37);
    expectBlock(hooks.memory, p, 3700, "o");
    expectFilled(hooks.memory, p, 3700, 0);
    for (const [nelem, elsize] of [[0, 5], [5, 0], [0, 0]] as const) {
      const z = hooks.calloc(nelem, elsize);
      expect(z).not.toBe(0);
      expectBlock(hooks.memory, z, 0, "o");
    }
  });

  it("calloc returns 0 when the product exceeds the memory, also when it is not exact in a double", () => {
    const { hooks } = hooked();
    expect(hooks.calloc(65536, 65536)).toBe(0);
    expect(hooks.calloc(2 ** 32 - 1, 2 ** 32 - 1)).toBe(0);
    expect(hooks.calloc(2 ** 40, 1)).toBe(0);
    expect(hooks.calloc(2 ** 40, 0)).not.toBe(0); // 0 bytes
  });

  it("malloc(0) is a unique block of header and trailer only; its dump has no data line", () => {
    const { hooks } = hooked({ api: "m" });
    const a = hooks.malloc(0);
    const b = hooks.malloc(0);
    expect(a).not.toBe(0);
    expect(b).not.toBe(a);
    expectBlock(hooks.memory, a, 0, "m");
    expect(lines(hooks.dump(a))).toEqual([
      `Debug memory block at address p=${formatAddress(a)}: API 'm'`,
      "    0 bytes originally requested",
      ...leadingLines(),
      ...trailingLines(a),
      "",
      ENABLE_TRACEMALLOC,
      "",
    ]);
    hooks.free(a);
    hooks.free(b);
  });

  it("free fills the whole block with 0xDD, header and trailer included, before the wrapped free", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory);
    const seen: number[][] = [];
    // a wrapper that looks at the block as the wrapped allocator receives it
    const spy = {
      name: "spy",
      memory,
      malloc: (n: number) => heap.malloc(n),
      calloc: (a: number, b: number) => heap.calloc(a, b),
      realloc: (p: number, n: number) => heap.realloc(p, n),
      free: (p: number) => {
        seen.push([...memory.u8.subarray(p, p + 16 + 33 + 8)]);
        heap.free(p);
      },
    };
    const hooks = withDebugHooks(spy);
    const p = hooks.malloc(33);
    hooks.free(p);
    expect(seen).toEqual([Array.from({ length: 57 }, () => DEADBYTE)]);
  });

  it("dump shows the first and last 8 data bytes, as CPython does", () => {
    const { hooks } = hooked();
    const u8 = hooks.memory.u8;
    const cases: [number, string][] = [
      [1, "00"],
      [8, "00 01 02 03 04 05 06 07"],
      [16, "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"],
      [17, "00 01 02 03 04 05 06 07 ... 09 0a 0b 0c 0d 0e 0f 10"],
      [40, "00 01 02 03 04 05 06 07 ... 20 21 22 23 24 25 26 27"],
    ];
    for (const [n, data] of cases) {
      const p = hooks.malloc(n);
      for (let i = 0; i < n; i++) u8[p + i] = i;
      expect(lines(hooks.dump(p))).toContain(`    Data at p: ${data}`);
      expect(dumpDebugBlock(hooks.memory, p)).toBe(`${hooks.dump(p).slice(0, -ENABLE_TRACEMALLOC.length - 2)}`);
    }
  });

  it("writes the blocks right while the memory grows under them (the views are taken again)", () => {
    const { heap, hooks } = hooked({ api: "m" });
    const blocks: number[] = [];
    let growths = 0;
    for (let i = 0; i < 40; i++) {
      const before = hooks.memory.byteLength;
      const p = i % 3 === 0 ? hooks.calloc(1, 300_000 + i) : hooks.malloc(300_000 + i);
      blocks.push(p);
      if (hooks.memory.byteLength > before) growths++;
      expectBlock(hooks.memory, p, 300_000 + i, "m");
      if (i % 3 !== 0) expectFilled(hooks.memory, p, 300_000 + i, CLEANBYTE);
    }
    expect(growths).toBeGreaterThan(5);
    for (const p of blocks) hooks.free(p);
    expectHeapOk(heap);
  });
});

describe("on a shared memory", () => {
  it("fills data with 0xCD and freed blocks with 0xDD exactly, whatever the alignment of the range", () => {
    const memory = new LinearMemory({ shared: true });
    const heap = new Malloc(memory);
    const seen: { head: number; bytes: number[] }[] = [];
    const spy = {
      name: "spy",
      memory,
      malloc: (n: number) => heap.malloc(n),
      calloc: (a: number, b: number) => heap.calloc(a, b),
      realloc: (p: number, n: number) => heap.realloc(p, n),
      free: (p: number) => {
        seen.push({ head: p, bytes: [...memory.u8.subarray(p, p + heap.usableSize(p))] });
        heap.free(p);
      },
    };
    const hooks = withDebugHooks(spy, { serialNumbers: true });
    for (let n = 0; n < 300; n += 7) {
      const p = hooks.malloc(n);
      expectFilled(memory, p, n, CLEANBYTE);
      expectBlock(memory, p, n, "r");
      // grow by a few bytes (the grown range starts anywhere) and erase unaligned ends
      const q = hooks.realloc(p, n + 3);
      expectFilled(memory, q, n + 3, CLEANBYTE);
      hooks.free(q);
      const freed = seen.at(-1)!;
      expect(freed.head).toBe(q - 16);
      expect(freed.bytes.slice(0, n + 3 + 32).every((b) => b === DEADBYTE)).toBe(true);
    }
    expectHeapOk(heap);
  });
});

describe("serial numbers", () => {
  it("are off by default, as in CPython since 3.8", () => {
    const { hooks } = hooked();
    expect(hooks.serialNumbers).toBe(false);
    expect(hooks.extraBytes).toBe(DEBUG_EXTRA_BYTES);
    expect(hooks.dump(hooks.malloc(4))).not.toContain("serial");
  });

  it("count every malloc, calloc and realloc, big-endian after the trailer, and show in the dump", () => {
    const { heap, hooks } = hooked({ serialNumbers: true });
    expect(hooks.extraBytes).toBe(DEBUG_EXTRA_BYTES_SERIAL);
    const a = hooks.malloc(5);
    const b = hooks.calloc(2, 3);
    const c = hooks.realloc(0, 7);
    expect([...hooks.memory.u8.subarray(a + 5 + 8, a + 5 + 16)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(readBigEndian(hooks.memory, b + 6 + 8)).toBe(2n);
    expect(readBigEndian(hooks.memory, c + 7 + 8)).toBe(3n);
    expect(heap.usableSize(b - 16)).toBeGreaterThanOrEqual(6 + 32);
    hooks.memory.u8[b + 6] = 0x21;
    expect(lines(hooks.dump(b))).toEqual([
      `Debug memory block at address p=${formatAddress(b)}: API 'r'`,
      "    6 bytes originally requested",
      ...leadingLines(),
      ...trailingLines(b + 6, new Map([[0, 0x21]])),
      "    The block was made by call #2 to debug malloc/realloc.",
      "    Data at p: 00 00 00 00 00 00",
      "",
      ENABLE_TRACEMALLOC,
      "",
    ]);
    // freeing fills the serial number with 0xDD too
    hooks.free(c);
    expectFilled(hooks.memory, c + 7, 16, 0xdd);
  });

  it("come from a counter in the memory that hooks attached to the same state share", () => {
    const { heap, hooks } = hooked({ serialNumbers: true, api: "o" });
    const other = DebugAllocator.attach(heap, hooks.stateAddress);
    expect(other.serialNumbers).toBe(true);
    expect(other.api).toBe(ApiId.Obj);
    const a = hooks.malloc(1);
    const b = other.malloc(1);
    const c = hooks.malloc(1);
    expect([a, b, c].map((p) => readBigEndian(heap.memory, p + 1 + 8))).toEqual([1n, 2n, 3n]);
    other.free(a);
    hooks.free(b);
  });

  it("hooks made by hand in one memory draw from one counter, CPython's one serialno: call #N names one call", () => {
    const memory = new LinearMemory();
    const heap = new Malloc(memory);
    const raw = withDebugHooks(heap, { api: "r", serialNumbers: true });
    const mem = withDebugHooks(heap, { api: "m", serialNumbers: true });
    const obj = withDebugHooks(new Pymalloc(heap), { api: "o", serialNumbers: true });
    // the first hooks keep the memory's counter in their state block and record it in the root table
    expect(raw.serialCounter).toBe(raw.stateAddress + 24);
    expect(memory.getRoot(SERIAL_COUNTER_ROOT)).toBe(raw.serialCounter);
    expect([mem.serialCounter, obj.serialCounter]).toEqual([raw.serialCounter, raw.serialCounter]);
    const blocks: [typeof raw, number, number][] = [];
    for (const hooks of [raw, mem, obj, mem, raw, obj]) blocks.push([hooks, hooks.malloc(3), 3]);
    const [first] = blocks[1]!;
    const moved = first.realloc(blocks[1]![1], 40);
    blocks[1] = [first, moved, 40];
    expect(blocks.map(([, p, n]) => readBigEndian(memory, p + n + 8))).toEqual([1n, 7n, 3n, 4n, 5n, 6n]);
    expect(mem.dump(moved)).toContain("    The block was made by call #7 to debug malloc/realloc.\n");
    for (const [hooks, p] of blocks) hooks.free(p);
  });

  it("serialCounter 'new' starts a sequence of the hooks' own, which other hooks share through its address", () => {
    const { heap, hooks } = hooked({ serialNumbers: true });
    const own = withDebugHooks(heap, { api: "m", serialNumbers: true, serialCounter: "new" });
    const sharing = withDebugHooks(heap, { api: "o", serialNumbers: true, serialCounter: own.serialCounter });
    expect(own.serialCounter).toBe(own.stateAddress + 24);
    expect(sharing.serialCounter).toBe(own.serialCounter);
    expect(heap.memory.getRoot(SERIAL_COUNTER_ROOT)).toBe(hooks.serialCounter); // the memory's stays
    const a = hooks.malloc(1);
    const b = own.malloc(1);
    const c = sharing.malloc(1);
    const d = hooks.malloc(1);
    expect([a, b, c, d].map((p) => readBigEndian(heap.memory, p + 1 + 8))).toEqual([1n, 1n, 2n, 2n]);
    // attached elsewhere, hooks keep drawing from the counter they were made with
    const again = DebugAllocator.attach(heap, sharing.stateAddress);
    expect(again.serialCounter).toBe(own.serialCounter);
    expect(readBigEndian(heap.memory, again.malloc(1) + 1 + 8)).toBe(3n);
  });

  it("need no counter when they are off: serialCounter is 0 and the memory records none", () => {
    const { heap, hooks } = hooked({ serialCounter: "new" });
    expect(hooks.serialCounter).toBe(0);
    expect(heap.memory.getRoot(SERIAL_COUNTER_ROOT)).toBe(0);
    expect(DebugAllocator.attach(heap, hooks.stateAddress).serialCounter).toBe(0);
  });

  it("carry into the high half after 2^32 calls", () => {
    const { hooks } = hooked({ serialNumbers: true });
    hooks.memory.u32[hooks.serialCounter >>> 2] = 0xffffffff;
    const p = hooks.malloc(1);
    expect(readBigEndian(hooks.memory, p + 1 + 8)).toBe(2n ** 32n);
    const q = hooks.malloc(1);
    expect(readBigEndian(hooks.memory, q + 1 + 8)).toBe(2n ** 32n + 1n);
  });

  it("carry on a shared memory too", () => {
    const { hooks } = hooked({ serialNumbers: true }, { shared: true });
    hooks.memory.u32[hooks.serialCounter >>> 2] = 0xfffffffe;
    const serials = [hooks.malloc(0), hooks.malloc(0), hooks.malloc(0)].map((p) => readBigEndian(hooks.memory, p + 8));
    expect(serials).toEqual([0xffffffffn, 2n ** 32n, 2n ** 32n + 1n]);
  });
});

describe("what the hooks pass through", () => {
  it("name, memory, wrapped, api and the state block", () => {
    const { heap, hooks } = hooked({ api: "m" });
    expect(hooks.name).toBe("malloc_debug");
    expect(hooks.memory).toBe(heap.memory);
    expect(hooks.wrapped).toBe(heap);
    expect(hooks.api).toBe("m");
    expect(hooks.tracebacks).toBe(0);
    expect(isDebugAllocator(hooks)).toBe(true);
    expect(isDebugAllocator(heap)).toBe(false);
    expect(isDebugAllocator(null)).toBe(false);
    expect(hooks).toBeInstanceOf(DebugAllocator);
    // the state block is one small block of the wrapped heap
    expect(heap.usableSize(hooks.stateAddress)).toBeGreaterThanOrEqual(32);
    expect(heap.stats().allocatedBlocks).toBe(1);
  });

  it("stats() and check() are the wrapped allocator's; owns() asks it about the data pointer", () => {
    const { heap, hooks } = hooked();
    const p = hooks.malloc(100);
    expect(hooks.stats()).toEqual(heap.stats());
    expect(hooks.stats().allocatedBlocks).toBe(2);
    expect(hooks.check()).toEqual({ ok: true, problems: [] });
    expect(hooks.owns(p)).toBe(true);
    expect(hooks.owns(8)).toBe(false);
    expect(hooks.owns(-1)).toBe(false);
    expect(hooks.owns(Number.NaN)).toBe(false);
    hooks.free(p);
    expect(hooks.stats().allocatedBlocks).toBe(1);
  });
});
