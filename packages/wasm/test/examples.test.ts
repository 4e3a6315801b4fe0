/*
 * The C examples, end to end: compiled with the shim, instantiated on a tsmalloc heap, run under
 * WASI, their output and the heap checked afterwards. The heap bugs are caught by CPython's debug
 * hooks with CPython's report.
 */
import { DebugCorruptionError } from "@tsmalloc/debug";
import { ErrorCode, isTsmallocError } from "@tsmalloc/memory";
import { Domain } from "@tsmalloc/registry";
import { describe, expect, it } from "vitest";
import { binaryTreesOutput, exampleBytes, runOwnMalloc, runProgram } from "./helpers.ts";

/** Blocks wasi-libc's start-up code allocates and never frees: argv and its strings. */
const STARTUP_BLOCKS = 2;

describe("binary-trees", () => {
  it.each(["default", "malloc", "pymalloc_debug", "malloc_debug", "debug", "pymalloc"])(
    "prints the right checks under %s, and frees every node it made",
    async (allocator) => {
      const run = await runProgram(exampleBytes("binary-trees"), { allocator, args: ["8"], count: true });
      expect(run.error).toBeNull();
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(binaryTreesOutput(8));
      expect(runOwnMalloc(exampleBytes("binary-trees", "dlmalloc"), ["8"]).stdout).toBe(run.stdout);
      const mem = run.hooks[Domain.MEM];
      // every node: 2^(d+1) - 1 of them for each tree built, each one malloc and one free
      expect(mem.calls).toBeGreaterThan(2 * (2 ** 10 - 1 + 2 ** 9 - 1));
      expect(mem.live).toBe(STARTUP_BLOCKS);
      expect(run.hooks[Domain.OBJ].calls).toBe(0);
      expect(run.instance.runtime.check()).toEqual({ ok: true, problems: [] });
    },
  );

  it("lays out the memory: the module's data and stack below __heap_base, tsmalloc's header on the next page", async () => {
    const run = await runProgram(exampleBytes("binary-trees"), { args: ["6"] });
    const { heapBase, memory } = run.instance;
    expect(heapBase).toBeGreaterThan(1024);
    expect(memory.base).toBe(Math.ceil(heapBase / 65536) * 65536);
    const regions = memory.regions();
    expect(regions[0]).toEqual({ address: 0, size: memory.base, owner: 2 }); // RegionOwner.Host
    expect(regions[1]!.address).toBe(memory.base); // the header
  });

  it("shows its blocks in pymalloc's statistics while it runs", async () => {
    const run = await runProgram(exampleBytes("binary-trees"), { args: ["6"] });
    // after the run only the start-up blocks are left; the 16-byte class held every node
    expect(run.instance.runtime.debugMallocStats()).toMatch(/^\s+0\s+16\s+1\s+/m);
  });
});

describe("json-tree", () => {
  it.each(["default", "malloc", "pymalloc_debug"])("parses standard input and prints it back compact under %s, freeing the tree", async (allocator) => {
    const input = '{ "name": "caf\\u00e9 \\ud83d\\ude00", "list": [1, -2.5e3, true, false, null, [], {}],\n "quote": "a\\"b\\\\c\\n" }';
    const run = await runProgram(exampleBytes("json-tree"), { allocator, args: ["-"], stdin: input, count: true });
    expect(run.error).toBeNull();
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('{"name":"café 😀","list":[1,-2500,true,false,null,[],{}],"quote":"a\\"b\\\\c\\n"}\n');
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(input));
    expect(runOwnMalloc(exampleBytes("json-tree", "dlmalloc"), ["-"], input).stdout).toBe(run.stdout);
    expect(run.hooks[Domain.MEM].live).toBe(STARTUP_BLOCKS);
    expect(run.instance.runtime.check().ok).toBe(true);
  });

  it("reports malformed input with its offset, and frees what it had parsed", async () => {
    const run = await runProgram(exampleBytes("json-tree"), { args: ["-"], stdin: '{"a": [1, 2, {"b": tru}]}', count: true });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("json-tree: unexpected character at offset 19\n");
    expect(run.hooks[Domain.MEM].live).toBe(STARTUP_BLOCKS);
  });

  it("builds, walks, prints and frees a generated document several times", async () => {
    const run = await runProgram(exampleBytes("json-tree"), { allocator: "pymalloc_debug", args: ["300", "3"], count: true });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^document: \d+ bytes, 300 records, parsed 3 times\n/);
    expect(run.stdout).toContain("values: 3601 (objects 600, arrays 301, strings 1200, numbers 900), depth 4\n");
    // the same program with wasi-libc's dlmalloc inside prints the same
    const own = runOwnMalloc(exampleBytes("json-tree", "dlmalloc"), ["300", "3"]);
    expect(own).toEqual({ status: 0, stdout: run.stdout, stderr: "" });
    expect(run.hooks[Domain.MEM].live).toBe(STARTUP_BLOCKS);
    expect(run.hooks[Domain.MEM].calls).toBeGreaterThan(3 * 3601);
  });
});

describe("heap-bugs", () => {
  it("goes unnoticed without debug hooks: the extra byte lands in the block's padding", async () => {
    const run = await runProgram(exampleBytes("heap-bugs"), { allocator: "default", args: ["overflow"] });
    expect(run.error).toBeNull();
    expect(run.stdout).toBe('copied "tsmalloc!!" into a 10-byte block\nfreed it; nobody noticed\n');
  });

  it.each(["pymalloc_debug", "malloc_debug", "debug"])("stops the heap overflow at its free under %s, with CPython's report", async (allocator) => {
    const run = await runProgram(exampleBytes("heap-bugs"), { allocator, args: ["overflow"] });
    expect(run.stdout).toBe('copied "tsmalloc!!" into a 10-byte block\n');
    expect(run.status).toBeNull();
    expect(run.error).toBeInstanceOf(DebugCorruptionError);
    const error = run.error as DebugCorruptionError;
    expect(error.code).toBe(ErrorCode.Corruption);
    const lines = error.report.split("\n");
    expect(lines[0]).toMatch(/^Debug memory block at address p=0x[0-9a-f]+: API 'm'$/);
    const p = Number.parseInt(/p=0x([0-9a-f]+)/.exec(lines[0]!)![1]!, 16);
    expect(lines.slice(1)).toEqual([
      "    10 bytes originally requested",
      "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.",
      `    The 8 pad bytes at tail=0x${(p + 10).toString(16)} are not all FORBIDDENBYTE (0xfd):`,
      "        at tail+0: 0x00 *** OUCH",
      "        at tail+1: 0xfd",
      "        at tail+2: 0xfd",
      "        at tail+3: 0xfd",
      "        at tail+4: 0xfd",
      "        at tail+5: 0xfd",
      "        at tail+6: 0xfd",
      "        at tail+7: 0xfd",
      "    Data at p: 74 73 6d 61 6c 6c 6f 63 21 21", // "tsmalloc!!"
      "",
      "Enable tracemalloc to get the memory block allocation traceback",
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
      "",
    ]);
    // the block was not freed: the hooks check before they change anything
    expect(run.instance.runtime.check().ok).toBe(true);
  });

  it("stops the use after free under pymalloc_debug: the freed bytes read DEADBYTE, the second free a bad API id", async () => {
    const run = await runProgram(exampleBytes("heap-bugs"), { allocator: "pymalloc_debug", args: ["use-after-free"] });
    expect(run.stdout).toBe("after free, the alias reads dd dd dd dd\n");
    expect(run.error).toBeInstanceOf(DebugCorruptionError);
    const report = (run.error as DebugCorruptionError).report;
    expect(report).toMatch(/^Debug memory block at address p=0x[0-9a-f]+: API '\\xdd'\n/);
    expect(report).toContain("    The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):\n        at p-7: 0xdd *** OUCH\n");
    expect(report).toContain("    Because memory is corrupted at the start, the count of bytes requested\n       may be bogus, and checking the trailing pad bytes may segfault.\n");
    expect(report).toMatch(/\nFatal tsmalloc error: debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'm'\n$/);
  });

  it.each([
    ["default", "is on the free list of pool"],
    ["malloc", "was already freed (double free)"],
  ])("refuses the second free under %s too, without hooks", async (allocator, message) => {
    const run = await runProgram(exampleBytes("heap-bugs"), { allocator, args: ["use-after-free"] });
    expect(run.stdout).toMatch(/^after free, the alias reads /);
    expect(isTsmallocError(run.error, ErrorCode.DoubleFree)).toBe(true);
    expect((run.error as Error).message).toContain(message);
  });

  it("hands the report to an onCorruption handler, after which the program goes on", async () => {
    const reports: string[] = [];
    const run = await runProgram(exampleBytes("heap-bugs"), {
      allocator: "pymalloc_debug",
      runtimeOptions: { debug: { onCorruption: (error) => reports.push(error.report) } },
      args: ["overflow"],
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('copied "tsmalloc!!" into a 10-byte block\nfreed it; nobody noticed\n');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain("at tail+0: 0x00 *** OUCH");
  });

  it("prints its usage for an unknown bug", async () => {
    const run = await runProgram(exampleBytes("heap-bugs"), { args: ["nonsense"] });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("usage: heap-bugs overflow|use-after-free\n");
  });
});
