/*
 * The dump of a debug block, line for line as CPython's `_PyObject_DebugDumpAddress` prints it,
 * with one difference: it never reads outside the memory. Where CPython would follow a garbage
 * size field out of the process's memory (and crash), the dump says that the bytes lie outside
 * the memory instead.
 */
import { formatAddress, type LinearMemory, requireAddress } from "@tsmalloc/memory";
import { FORBIDDENBYTE } from "./constants.ts";
import { type DebugLayoutName, resolveDebugLayout } from "./debug-layout.ts";
import { optionError, pointerError } from "./errors.ts";
import { formatApiByte, readFieldBig } from "./layout.ts";
import { isLinearMemory } from "./options.ts";

/** Bytes of data the dump shows at each end of a block. */
const SHOWN = 8;

function hexByte(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function hexBig(value: bigint): string {
  return `0x${value.toString(16)}`;
}

/**
 * The dump of the block whose data starts at `p`, in `u8` (the whole memory), whose fields are
 * `sst` bytes. The caller guarantees `2 * sst <= p <= u8.length`. Ends with an empty line, as
 * CPython's does.
 * @internal
 */
export function dumpBlockText(u8: Uint8Array, p: number, serialNumbers: boolean, sst: number): string {
  const end = BigInt(u8.length);
  const lines: string[] = [];
  lines.push(`Debug memory block at address p=${formatAddress(p)}: API '${formatApiByte(u8[p - sst]!)}'`);
  const n = readFieldBig(u8, p - 2 * sst, sst);
  lines.push(`    ${n} bytes originally requested`);

  // the pad bytes before the data
  const leading = sst - 1;
  let ok = true;
  for (let i = 1; i <= leading; i++) if (u8[p - i] !== FORBIDDENBYTE) ok = false;
  if (ok) {
    lines.push(`    The ${leading} pad bytes at p-${leading} are FORBIDDENBYTE, as expected.`);
  } else {
    lines.push(`    The ${leading} pad bytes at p-${leading} are not all FORBIDDENBYTE (0x${hexByte(FORBIDDENBYTE)}):`);
    for (let i = leading; i >= 1; i--) {
      const byte = u8[p - i]!;
      lines.push(`        at p-${i}: 0x${hexByte(byte)}${byte === FORBIDDENBYTE ? "" : " *** OUCH"}`);
    }
    lines.push("    Because memory is corrupted at the start, the count of bytes requested");
    lines.push("       may be bogus, and checking the trailing pad bytes may segfault.");
  }

  // the pad bytes after the data, where the size field says they are
  const tail = BigInt(p) + n;
  if (tail + BigInt(sst) > end) {
    lines.push(`    The ${sst} pad bytes at tail=${hexBig(tail)} lie outside the memory, which ends at ${hexBig(end)}; not read.`);
  } else {
    const t = Number(tail);
    ok = true;
    for (let i = 0; i < sst; i++) if (u8[t + i] !== FORBIDDENBYTE) ok = false;
    if (ok) {
      lines.push(`    The ${sst} pad bytes at tail=${formatAddress(t)} are FORBIDDENBYTE, as expected.`);
    } else {
      lines.push(`    The ${sst} pad bytes at tail=${formatAddress(t)} are not all FORBIDDENBYTE (0x${hexByte(FORBIDDENBYTE)}):`);
      for (let i = 0; i < sst; i++) {
        const byte = u8[t + i]!;
        lines.push(`        at tail+${i}: 0x${hexByte(byte)}${byte === FORBIDDENBYTE ? "" : " *** OUCH"}`);
      }
    }
  }

  if (serialNumbers) {
    const serialAt = tail + BigInt(sst);
    if (serialAt + BigInt(sst) > end) {
      lines.push(`    The serial number at tail+${sst} lies outside the memory; not read.`);
    } else {
      lines.push(`    The block was made by call #${readFieldBig(u8, Number(serialAt), sst)} to debug malloc/realloc.`);
    }
  }

  // the first and last bytes of the data
  if (n > 0n) {
    let line = "    Data at p:";
    if (tail > end) {
      const stop = Math.min(p + SHOWN, u8.length);
      for (let q = p; q < stop; q++) line += ` ${hexByte(u8[q]!)}`;
      line += " ... (the rest lies outside the memory)";
    } else {
      const t = Number(tail);
      let q = p;
      while (q < t && q < p + SHOWN) line += ` ${hexByte(u8[q++]!)}`;
      if (q < t) {
        if (t - q > SHOWN) {
          line += " ...";
          q = t - SHOWN;
        }
        while (q < t) line += ` ${hexByte(u8[q++]!)}`;
      }
    }
    lines.push(line);
  }
  return `${lines.join("\n")}\n\n`;
}

/**
 * The dump of the debug block at `ptr` in `memory`, as CPython's `_PyObject_DebugDumpAddress`
 * prints it (see the package README for the format): the API id, the requested size, the pad
 * bytes on both sides (`*** OUCH` marks each damaged one), the serial number when
 * `serialNumbers` is on, and the first and last 8 data bytes, then an empty line. `layout` is the
 * block layout the hooks wrote (`"64-bit"` by default, or `"wasm32"`). It reads nothing outside
 * the memory, however damaged the block is; it checks nothing and changes nothing.
 *
 * @returns the text, ending with `"\n\n"`
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` when `ptr` is not an integer
 *   address or the block's header (16 bytes, 8 on wasm32) would lie outside the memory;
 *   `ERR_TSMALLOC_INVALID_OPTION` when `memory` is not a LinearMemory or `layout` is not a layout
 */
export function dumpDebugBlock(memory: LinearMemory, ptr: number, serialNumbers: boolean = false, layout: DebugLayoutName = "64-bit"): string {
  if (!isLinearMemory(memory)) throw optionError("dumpDebugBlock", "memory must be a LinearMemory", memory);
  const { sst, headerBytes } = resolveDebugLayout(layout, "dumpDebugBlock");
  requireAddress(ptr, "dumpDebugBlock");
  const u8 = memory.u8;
  if (ptr < headerBytes || ptr > u8.length) throw pointerError("dumpDebugBlock", ptr, u8.length, headerBytes);
  return dumpBlockText(u8, ptr, serialNumbers === true, sst);
}
