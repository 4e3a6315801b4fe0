/*
 * Reading a module's memory import from its bytes. The JavaScript API tells which memory a module
 * imports (`WebAssembly.Module.imports`) but not its limits, and the limits decide the layout:
 * wasm-ld makes the initial size of an imported memory the module's data and stack rounded up to
 * whole pages (it is at least `__heap_base`), so tsmalloc's header can go right after it.
 *
 * The binary format (WebAssembly core spec, 5.5): after the 8-byte preamble come sections, each an
 * id byte and a LEB128 size. The import section (id 2) is a vector of (module name, field name,
 * kind, type); a memory's type is its limits:
 *
 *     flags (1 byte: bit 0 has a maximum, bit 1 shared, bit 2 memory64) | min (LEB128) | max (LEB128)?
 *
 * Only bytes that WebAssembly.compile() accepted are read here, so the reader trusts the format;
 * it still never reads past the end, and returns null for anything it does not expect.
 */
import { utf8Decoder } from "./text.ts";

/** The limits of a module's imported memory, in 64 KiB pages. */
export interface MemoryImport {
  /** Import module name (wasm-ld's `--import-memory`: `"env"`). */
  readonly module: string;
  /** Field name (`"memory"`). */
  readonly name: string;
  /** Pages the memory must hold at least: the module's data and stack. */
  readonly minimumPages: number;
  /** Pages the memory may hold at most, when the module says so (`-Wl,--max-memory`). */
  readonly maximumPages: number | null;
  readonly shared: boolean;
  readonly memory64: boolean;
}

const SECTION_IMPORT = 2;
const KIND_FUNCTION = 0;
const KIND_TABLE = 1;
const KIND_MEMORY = 2;
const KIND_GLOBAL = 3;
const KIND_TAG = 4;
const LIMITS_HAS_MAX = 1;
const LIMITS_SHARED = 2;
const LIMITS_64 = 4;

/** A cursor over the bytes; every read returns -1 past the end. */
class Reader {
  readonly bytes: Uint8Array;
  at: number;
  constructor(bytes: Uint8Array, at: number) {
    this.bytes = bytes;
    this.at = at;
  }
  byte(): number {
    return this.at < this.bytes.length ? this.bytes[this.at++]! : -1;
  }
  /** An unsigned LEB128 of up to 64 bits, as a number (exact up to 2^53); -1 when malformed. */
  leb(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (b < 0) return -1;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    return -1;
  }
  name(): string | null {
    const length = this.leb();
    if (length < 0 || this.at + length > this.bytes.length) return null;
    const text = utf8Decoder().decode(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return text;
  }
  /** Skips limits: flags, min, optional max. */
  limits(): { flags: number; min: number; max: number } | null {
    const flags = this.byte();
    const min = this.leb();
    const max = (flags & LIMITS_HAS_MAX) !== 0 ? this.leb() : -1;
    return flags < 0 || min < 0 || ((flags & LIMITS_HAS_MAX) !== 0 && max < 0) ? null : { flags, min, max };
  }
}

/**
 * The first memory the module at `bytes` imports, or null when it imports none (or the bytes
 * are not a module this reader understands).
 */
export function readMemoryImport(bytes: Uint8Array): MemoryImport | null {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return null;
  const r = new Reader(bytes, 8);
  while (r.at < bytes.length) {
    const id = r.byte();
    const size = r.leb();
    if (id < 0 || size < 0) return null;
    const end = r.at + size;
    if (id !== SECTION_IMPORT) {
      r.at = end;
      continue;
    }
    const count = r.leb();
    for (let i = 0; i < count && r.at < end; i++) {
      const module = r.name();
      const name = r.name();
      const kind = r.byte();
      if (module === null || name === null) return null;
      switch (kind) {
        case KIND_FUNCTION:
          r.leb();
          break;
        case KIND_TABLE:
          r.byte();
          if (r.limits() === null) return null;
          break;
        case KIND_MEMORY: {
          const limits = r.limits();
          if (limits === null) return null;
          return {
            module,
            name,
            minimumPages: limits.min,
            maximumPages: limits.max < 0 ? null : limits.max,
            shared: (limits.flags & LIMITS_SHARED) !== 0,
            memory64: (limits.flags & LIMITS_64) !== 0,
          };
        }
        case KIND_GLOBAL:
          r.byte();
          r.byte();
          break;
        case KIND_TAG:
          r.byte();
          r.leb();
          break;
        default:
          return null;
      }
    }
    return null;
  }
  return null;
}
