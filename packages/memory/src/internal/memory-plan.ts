/*
 * Turning LinearMemory's constructor options into a plan: what the memory is built on, where its
 * header goes, and how large its address space is. Validates every option first, so that a bad
 * one throws before anything is created.
 */
import { DEFAULT_MAX_PAGES, MAX_PAGES, PAGE_SIZE } from "../constants.ts";
import { ErrorCode, TsmallocError } from "../errors.ts";
import type { LinearMemoryOptions, MemorySource } from "../memory-types.ts";
import { describeValue } from "../validate.ts";
import { PAGE_MAP_OFFSET } from "./header.ts";
import { isBuffer, isSharedBuffer, isWasmMemoryLike, wasmMemoryConstructor } from "./wasm.ts";

/** An ERR_TSMALLOC_INVALID_OPTION error. */
export function optionError(message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, message);
}

/** Pages the header takes for a page map of `maxPages` pages. */
export function headerPagesFor(maxPages: number): number {
  return Math.ceil((PAGE_MAP_OFFSET + maxPages) / PAGE_SIZE);
}

/** What the constructor builds on, decided from the options or by attach(). */
export interface MemoryPlan {
  readonly source: MemorySource;
  readonly base: number;
  readonly maxPages: number;
  /** True when every page past the header is known to hold zeros. */
  readonly fresh: boolean;
}

/** Validates the constructor's options and creates the WebAssembly.Memory when one is needed. */
export function planMemory(options: LinearMemoryOptions): MemoryPlan {
  if (typeof options !== "object" || options === null) {
    throw optionError(`LinearMemory options must be an object, got ${describeValue(options)}`);
  }
  const { buffer, wasmMemory } = options;
  if (buffer !== undefined && wasmMemory !== undefined) {
    throw optionError("LinearMemory: give either buffer or wasmMemory, not both");
  }
  if (buffer !== undefined && !isBuffer(buffer)) {
    throw optionError(`LinearMemory: buffer must be an ArrayBuffer or SharedArrayBuffer, got ${describeValue(buffer)}`);
  }
  if (wasmMemory !== undefined && !isWasmMemoryLike(wasmMemory)) {
    throw optionError(`LinearMemory: wasmMemory must be a WebAssembly.Memory, got ${describeValue(wasmMemory)}`);
  }
  const base = options.base === undefined ? 0 : requireOptionBytes(options.base, "base");
  if (base % PAGE_SIZE !== 0) throw optionError(`LinearMemory: base must be a multiple of ${PAGE_SIZE}, got ${base}`);
  if (options.maximum !== undefined) requireOptionBytes(options.maximum, "maximum");
  if (options.initial !== undefined) requireOptionBytes(options.initial, "initial");
  if (options.shared !== undefined && typeof options.shared !== "boolean") {
    throw optionError(`LinearMemory: shared must be a boolean, got ${describeValue(options.shared)}`);
  }
  if (options.zeroed !== undefined && typeof options.zeroed !== "boolean") {
    throw optionError(`LinearMemory: zeroed must be a boolean, got ${describeValue(options.zeroed)}`);
  }
  const given = buffer ?? wasmMemory;
  if (given !== undefined && options.initial !== undefined) {
    throw optionError("LinearMemory: initial applies only to a memory it creates, not to a given buffer or wasmMemory");
  }
  if (given !== undefined && options.shared !== undefined) {
    const sharedSource = isSharedBuffer(wasmMemory === undefined ? buffer : wasmMemory.buffer);
    if (sharedSource !== options.shared) {
      throw optionError(`LinearMemory: shared is ${options.shared} but the given memory is ${sharedSource ? "" : "not "}shared`);
    }
  }
  const basePage = base / PAGE_SIZE;
  const maximumPages = options.maximum === undefined ? DEFAULT_MAX_PAGES : Math.min(MAX_PAGES, Math.floor(options.maximum / PAGE_SIZE));
  const maxPages = given === undefined ? maximumPages : Math.min(maximumPages, capacityPages(given));
  const headerEnd = basePage + headerPagesFor(maxPages);
  if (headerEnd > maxPages) {
    throw optionError(`LinearMemory: the memory can hold ${maxPages * PAGE_SIZE} bytes, too few for the header (${headerPagesFor(maxPages) * PAGE_SIZE} bytes) at base ${base}`);
  }
  if (given !== undefined) return { source: given, base, maxPages, fresh: options.zeroed === true };

  const Memory = wasmMemoryConstructor();
  if (Memory === undefined) {
    throw optionError("LinearMemory: this platform has no WebAssembly.Memory; pass a buffer instead");
  }
  const initialPages = Math.max(headerEnd, Math.ceil((options.initial ?? 0) / PAGE_SIZE));
  if (initialPages > maxPages) {
    throw optionError(`LinearMemory: initial (${initialPages * PAGE_SIZE} bytes) is larger than maximum (${maxPages * PAGE_SIZE} bytes)`);
  }
  try {
    const source = new Memory({ initial: initialPages, maximum: maxPages, shared: options.shared === true });
    return { source, base, maxPages, fresh: true };
  } catch (cause) {
    throw new TsmallocError(ErrorCode.InvalidOption, `LinearMemory: could not create a WebAssembly.Memory of ${initialPages} pages (maximum ${maxPages}): ${String(cause)}`, { cause });
  }
}

/** Validates a size option in bytes; throws ERR_TSMALLOC_INVALID_OPTION unless a non-negative integer. */
export function requireOptionBytes(value: unknown, name: string): number {
  if (!(typeof value === "number" && Number.isInteger(value) && value >= 0)) {
    throw optionError(`LinearMemory: ${name} must be a non-negative integer number of bytes, got ${describeValue(value)}`);
  }
  return value;
}

function capacityPages(source: MemorySource): number {
  if (!isBuffer(source)) return MAX_PAGES;
  const bytes = isSharedBuffer(source)
    ? source.growable ? source.maxByteLength : source.byteLength
    : source.resizable ? source.maxByteLength : source.byteLength;
  return Math.min(MAX_PAGES, Math.floor(bytes / PAGE_SIZE));
}
