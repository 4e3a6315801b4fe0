#!/usr/bin/env node
/*
 * The main job of `npm start` (until the tsmalloc command line lands): allocates through
 * @tsmalloc/malloc on a growable WebAssembly.Memory and prints what the memory and the heap look
 * like, shows that misuse is refused without harm, then runs @tsmalloc/pymalloc on top of the
 * same heap and prints its statistics as Python's sys._debugmallocstats() does.
 */
import { Malloc } from "@tsmalloc/malloc";
import { isTsmallocError, LinearMemory, type Region, regionOwnerName } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import { DebugCorruptionError, isDebugAllocator, withDebugHooks } from "@tsmalloc/debug";
import { ALLOCATOR_CONFIGS, createRuntime, Domain, DOMAINS } from "@tsmalloc/registry";

const out = (line = ""): void => {
  process.stdout.write(`${line}\n`);
};

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(1)} GiB`;
}

const hex = (p: number): string => `0x${p.toString(16).padStart(8, "0")}`;
const count = (n: number): string => n.toLocaleString("en-US");

const ownerLabel: Record<string, string> = {
  memory: "memory header (fields, roots, page map)",
  malloc: "malloc heap segment",
  "malloc-large": "malloc large block (a region of its own)",
  arena: "pymalloc arena",
};

function regionTable(regions: readonly Region[]): void {
  out("    address      size        owner");
  for (const r of regions) {
    const name = regionOwnerName(r.owner);
    out(`    ${hex(r.address)}   ${bytes(r.size).padEnd(10)}  ${ownerLabel[name] ?? name}`);
  }
}

/** One character per 64 KiB page: # header, = segment, L large block, . free. */
function pageBar(memory: LinearMemory): string {
  const symbols: Record<string, string> = { memory: "#", malloc: "=", "malloc-large": "L", arena: "A" };
  const pages = memory.byteLength / 65536;
  let bar = "";
  for (let page = 0; page < pages; page++) {
    const owner = memory.pageOwner(page * 65536);
    bar += owner === 0 ? "." : (symbols[regionOwnerName(owner)] ?? "?");
  }
  return bar.replace(/(.{64})/g, "$1\n    ").trimEnd();
}

function attempt(label: string, action: () => unknown): void {
  try {
    const result = action();
    out(`    ${label.padEnd(22)} -> ${typeof result === "number" ? `${result} (NULL: too large for any memory)` : "no error?!"}`);
  } catch (error) {
    if (!isTsmallocError(error)) throw error;
    out(`    ${label.padEnd(22)} -> ${error.code}`);
    out(`    ${"".padEnd(22)}    ${error.message}`);
  }
}

out("tsmalloc demo: @tsmalloc/malloc, CPython's \"malloc\" (RAW domain) allocator, in linear memory");
out();
out("1. A memory and a heap");
const memory = new LinearMemory();
out(`    new LinearMemory(): a growable WebAssembly.Memory; ${bytes(memory.byteLength)} so far (its header), at most ${bytes(memory.maxByteLength)}`);
const heap = new Malloc(memory);
out(`    new Malloc(memory): a TLSF heap; its first segment (${bytes(heap.stats().segmentBytes)}) is mapped from the memory's region allocator`);
out();
out("2. Allocating");
const log = (call: string, p: number, note = ""): number => {
  out(`    ${call.padEnd(24)} -> ${hex(p)}  usable ${String(heap.usableSize(p)).padStart(7)}${note}`);
  return p;
};
const a = log("malloc(24)", heap.malloc(24));
const b = log("malloc(100)", heap.malloc(100));
const c = log("calloc(10, 8)", heap.calloc(10, 8), "  (zeroed)");
const d = log("memalign(4096, 200)", heap.memalign(4096, 200), "  (4 KiB-aligned)");
const big = log("malloc(3 << 20)", heap.malloc(3 << 20), "  (>= 1 MiB: a region of its own)");
memory.u8.fill(0x61, b, b + 100);
const b2 = log("realloc(b, 1000)", heap.realloc(b, 1000), "  (the 100 bytes move along)");
out(`    the first bytes of b are still ${Array.from(memory.u8.subarray(b2, b2 + 4), (x) => x.toString(16)).join(" ")}`);
heap.free(a);
heap.free(c);
out(`    free(a), free(c): their blocks coalesce with free neighbours at once`);
out();

out("3. A workload: 20,000 random mallocs and frees of 8 B .. 4 KiB, 2,000 live at a time");
let seed = 42;
const random = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};
const live = new Float64Array(2000);
for (let i = 0; i < 20_000; i++) {
  const slot = Math.floor(random() * live.length);
  if (live[slot] !== 0) heap.free(live[slot]!);
  live[slot] = heap.malloc(8 + Math.floor(random() * 4089));
}
out();

out("What the memory looks like now (memory.regions()):");
regionTable(memory.regions());
out();
out(`    one character per 64 KiB page (# header, = heap segment, L large block, . free):`);
out(`    ${pageBar(memory)}`);
out();
const stats = heap.stats();
out("The heap (heap.stats()):");
const rows: [string, string][] = [
  ["live blocks", count(stats.allocatedBlocks)],
  ["bytes in live blocks", count(stats.allocatedBytes)],
  ["free blocks", count(stats.freeBlocks)],
  ["bytes in free blocks", count(stats.freeBytes)],
  ["largest free block", count(stats.largestFreeBlock)],
  ["segments", `${stats.segments} (${bytes(stats.segmentBytes)})`],
  ["large blocks", `${stats.largeBlocks} (${bytes(stats.largeBytes)})`],
  ["overhead (headers, pages)", count(stats.overheadBytes)],
  ["mapped from the memory", `${count(stats.mappedBytes)} (${bytes(stats.mappedBytes)})`],
];
for (const [label, value] of rows) out(`    ${label.padEnd(28)}${value.padStart(22)}`);
const check = heap.check();
out(`    check()${"".padEnd(21)}${(check.ok ? "ok" : `${check.problems.length} problems`).padStart(22)}`);
out();

out("4. Misuse is refused with a typed error, and the heap stays as it was");
heap.free(b2);
attempt("free(b) again", () => heap.free(b2));
attempt("free(d + 16)", () => heap.free(d + 16));
attempt("free(12345)", () => heap.free(12345));
attempt("malloc(-1)", () => heap.malloc(-1));
attempt("malloc(1.5)", () => heap.malloc(1.5));
attempt("malloc(2 ** 40)", () => heap.malloc(2 ** 40));
out(`    check() after all that: ${heap.check().ok ? "ok" : "BROKEN"}`);
heap.free(big);
heap.free(d);
for (const p of live) if (p !== 0) heap.free(p);
out();

out("5. pymalloc on top: CPython's small-object allocator, with this heap as its raw allocator");
const obj = new Pymalloc(heap);
out("    new Pymalloc(heap): blocks of 1..512 bytes from 16 KiB pools in 1 MiB arenas; the rest from malloc");
const objects = new Float64Array(50_000);
for (let i = 0; i < objects.length; i++) objects[i] = obj.malloc(1 + Math.floor(random() * random() * 600));
for (let i = 0; i < objects.length; i += 3) obj.free(objects[i]!);
const pooled = objects.filter((p, i) => i % 3 !== 0 && obj.owns(p)).length;
out(`    50,000 mallocs of 1..600 B (mostly small), every third freed: ${count(pooled)} live pool blocks, ${count(obj.allocatedBlocks() - pooled)} raw`);
out(`    one character per 64 KiB page (A: an arena):`);
out(`    ${pageBar(memory)}`);
out();
out("sys._debugmallocstats(), as Python prints it (obj.formatStats()):");
for (const line of obj.formatStats().trimEnd().split("\n")) out(line === "" ? "" : `    ${line}`);
out(`    check(): ${obj.check().ok ? "ok" : "BROKEN"}`);
for (let i = 0; i < objects.length; i++) if (i % 3 !== 0) obj.free(objects[i]!);
out(`    all freed: ${obj.stats().arenasAllocatedCurrent} arena kept (CPython keeps one wholly free arena), ${obj.stats().arenasReclaimed} given back`);
out();

out("6. Debug hooks (PYTHONMALLOC=pymalloc_debug): guard bytes around every block, checked on free");
const checked = withDebugHooks(obj, { api: "o" });
const record = checked.malloc(16);
out(`    withDebugHooks(obj, { api: "o" }).malloc(16) -> ${hex(record)}: 16 bytes of 0xCD between 0xFD guard bytes`);
memory.u8[record + 16] = 0x78;
out("    one byte written past its end ('x'), then free(): the hooks refuse it and print CPython's report");
try {
  checked.free(record);
} catch (error) {
  if (!(error instanceof DebugCorruptionError)) throw error;
  for (const line of error.report.trimEnd().split("\n")) out(`    | ${line}`.trimEnd());
}
memory.u8[record + 16] = 0xfd;
checked.free(record);
out(`    guard byte restored, free() succeeds; the freed block now reads 0xDD: isFreed() = ${checked.isFreed(record)}`);
out();

out("7. The registry: CPython's configurations by their PYTHONMALLOC name (TSMALLOC here)");
for (const config of ALLOCATOR_CONFIGS) {
  const runtime = createRuntime({ allocator: config });
  const domains = DOMAINS.map((domain) => {
    const allocator = runtime.getAllocator(domain);
    return `${domain.toUpperCase()} ${isDebugAllocator(allocator) ? `${allocator.wrapped.name} + hooks` : allocator.name}`;
  });
  out(`    ${config.padEnd(15)} ${domains.join(", ").padEnd(64)} allocatorName() = ${runtime.allocatorName()}`);
}
const debugRuntime = createRuntime({ allocator: "debug" });
const large = debugRuntime.memMalloc(1000);
const header = [...debugRuntime.memory.u8.subarray(large - 32, large)].map((b) => b.toString(16).padStart(2, "0"));
out("    under debug, memMalloc(1000) goes MEM hooks -> pymalloc -> RAW domain -> RAW hooks -> malloc;");
out("    the 32 bytes before the block: the 'r' header of 1024 bytes, then the 'm' header of 1000, as in CPython:");
out(`    ${header.slice(0, 16).join(" ")} | ${header.slice(16).join(" ")}`);
debugRuntime.memFree(large);
out(`    getAllocator(Domain.OBJ).name = ${debugRuntime.getAllocator(Domain.OBJ).name}`);
out();
const after = heap.stats();
out(`Everything freed: ${after.allocatedBlocks} live blocks (pymalloc's own tables: its state, arena map and arenas vector); the heap keeps ${after.segments} segment(s), ${bytes(after.segmentBytes)}:`);
out("the first one, and at most one more that is wholly free, kept for reuse; the others went back to the memory.");
out("Next: `npm test` runs every test; see README.md for the packages and the benchmarks.");
