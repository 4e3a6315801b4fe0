/*
 * readMemoryImport() on modules assembled here byte by byte (and checked with
 * WebAssembly.validate), and on the examples clang built.
 */
import { describe, expect, it } from "vitest";
import { readMemoryImport } from "../src/index.ts";
import { exampleBytes, wasm } from "./helpers.ts";

function leb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return bytes;
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...leb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const TYPE_VOID = section(1, [1, 0x60, 0, 0]); // one type: () -> ()

/** A module whose import section holds `entries` (each already encoded), after a type section. */
function moduleWith(entries: number[][]): Uint8Array {
  return new Uint8Array([...HEADER, ...TYPE_VOID, ...section(2, [...leb(entries.length), ...entries.flat()])]);
}

const functionImport = (module: string, field: string): number[] => [...name(module), ...name(field), 0x00, 0x00];
const globalImport = (module: string, field: string): number[] => [...name(module), ...name(field), 0x03, 0x7f, 0x00];
const tableImport = (module: string, field: string): number[] => [...name(module), ...name(field), 0x01, 0x70, 0x00, 0x01];
const memoryImport = (module: string, field: string, flags: number, min: number, max?: number): number[] => [
  ...name(module),
  ...name(field),
  0x02,
  flags,
  ...leb(min),
  ...(max === undefined ? [] : leb(max)),
];

describe("readMemoryImport", () => {
  it("reads the minimum, after function, global and table imports", () => {
    const bytes = moduleWith([functionImport("wasi", "fd_write"), globalImport("env", "g"), tableImport("env", "t"), memoryImport("env", "memory", 0, 3)]);
    expect(wasm.validate(bytes)).toBe(true);
    expect(readMemoryImport(bytes)).toEqual({ module: "env", name: "memory", minimumPages: 3, maximumPages: null, shared: false, memory64: false });
  });

  it("reads a maximum, a shared memory, and minimums that take several LEB128 bytes", () => {
    const bounded = moduleWith([memoryImport("host", "heap", 1, 200, 65536)]);
    expect(wasm.validate(bounded)).toBe(true);
    expect(readMemoryImport(bounded)).toMatchObject({ module: "host", name: "heap", minimumPages: 200, maximumPages: 65536, shared: false });
    const shared = moduleWith([memoryImport("env", "memory", 3, 17, 1000)]);
    expect(readMemoryImport(shared)).toMatchObject({ minimumPages: 17, maximumPages: 1000, shared: true });
    expect(readMemoryImport(moduleWith([memoryImport("env", "memory", 4, 1)]))).toMatchObject({ memory64: true });
  });

  it("is null for a module that imports no memory, or bytes that are no module", () => {
    expect(readMemoryImport(moduleWith([functionImport("env", "f")]))).toBeNull();
    expect(readMemoryImport(new Uint8Array([...HEADER, ...TYPE_VOID]))).toBeNull();
    expect(readMemoryImport(new Uint8Array([1, 2, 3]))).toBeNull();
    expect(readMemoryImport(new TextEncoder().encode("\0asm but not really"))).toBeNull();
  });

  it("never reads past the end of truncated bytes", () => {
    const bytes = moduleWith([functionImport("wasi", "fd_write"), memoryImport("env", "memory", 1, 300, 70000)]);
    for (let length = 0; length < bytes.length; length++) {
      expect(readMemoryImport(bytes.subarray(0, length))).toBeNull();
    }
    expect(readMemoryImport(bytes)).toMatchObject({ minimumPages: 300, maximumPages: 70000 });
  });

  it("reads what clang made: wasm-ld asks for the data and stack, __heap_base rounded up", () => {
    const bytes = exampleBytes("binary-trees");
    const declared = readMemoryImport(bytes);
    expect(declared).toEqual({ module: "env", name: "memory", minimumPages: 2, maximumPages: null, shared: false, memory64: false });
    expect(readMemoryImport(exampleBytes("binary-trees", "dlmalloc"))).toBeNull();
  });
});
