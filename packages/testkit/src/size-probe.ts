/*
 * The size probe: every size-taking call of an allocator at the sizes where 32-bit arithmetic
 * breaks (2^31 and 2^32, give or take a header or an alignment), with live blocks around it.
 *
 * Each call must return 0, return a block it can use (inside the memory, clear of every live
 * block; its first and last byte are written), or throw an error the caller allows (a
 * TsmallocError). After each size the heap check must pass and the live blocks must hold what was
 * written into them. A size computed with `| 0`, `>>> 0`, `&` or `<<` past 2^31 typically shows
 * here as a "block" inside another, or as a heap check that fails.
 */

/** The memory a target's blocks live in: its bytes, fetched again after each call. */
export interface SizeProbeMemory {
  readonly u8: Uint8Array;
}

/** How far on each side of every boundary the probe goes (headers and alignments are smaller). */
export const BOUNDARY_REACH = 40;

/** What the probe calls. `memalign` and `check` are used when present. */
export interface SizeProbeTarget {
  readonly name: string;
  readonly memory: SizeProbeMemory;
  malloc(size: number): number;
  calloc(nelem: number, elsize: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  memalign?(alignment: number, size: number): number;
  check?(): { readonly ok: boolean; readonly problems: readonly { readonly address: number; readonly message: string }[] };
}

/** Options of {@link probeSizes}. */
export interface SizeProbeOptions {
  /** The sizes to try (see {@link boundarySizes}). */
  readonly sizes: readonly number[];
  /** The alignments memalign is tried with, when the target has one. */
  readonly alignments?: readonly number[];
  /** True for an error the contract allows (a TsmallocError); anything else is a failure. */
  readonly isAllowedError: (error: unknown) => boolean;
}

/**
 * The sizes to probe: every integer within {@link BOUNDARY_REACH} of 2^31, 2^32 and each of
 * `bases` (a memory's size, a limit minus a header), then 2^40 and 2^53 − 1; non-negative safe
 * integers only, in increasing order.
 */
export function boundarySizes(bases: readonly number[] = []): number[] {
  const sizes = new Set<number>([2 ** 40, Number.MAX_SAFE_INTEGER]);
  for (const base of [2 ** 31, 2 ** 32, ...bases]) {
    for (let k = -BOUNDARY_REACH; k <= BOUNDARY_REACH; k++) {
      const n = base + k;
      if (n >= 0 && Number.isSafeInteger(n)) sizes.add(n);
    }
  }
  return [...sizes].sort((a, b) => a - b);
}

interface Live {
  readonly address: number;
  readonly size: number;
  readonly fill: number;
}

/** One call of the probe: what it is, and what a block it returns must hold. */
interface ProbeCall {
  readonly label: string;
  readonly run: () => number;
  /** Bytes the block must hold. */
  readonly length: number;
  /** calloc: the block's bytes must be zero. */
  readonly zeroed: boolean;
  /** realloc of the live block: its bytes must move with it. */
  readonly resizes: boolean;
}

const LIVE_SIZES = [24, 600, 5000];
/** The heap check runs at least this often (in sizes), whatever the calls returned. */
const CHECK_EVERY = 16;
const VICTIM_SIZE = 40;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs the probe: for each size `n`, `malloc(n)`, `calloc(n, 1)`, `calloc(1, n)`, `calloc(n, 2)`,
 * `realloc(0, n)`, `realloc(p, n)` of a live 40-byte block, and `memalign(a, n)` for each
 * alignment, each checked as the file comment says; then the live blocks, and `check()` (after
 * a size where a call returned a block or threw, every 16 sizes, and after the last).
 *
 * @returns the first failure found, in words, or null when every call kept the contract
 */
export function probeSizes(target: SizeProbeTarget, options: SizeProbeOptions): string | null {
  const u8 = (): Uint8Array => target.memory.u8;
  const live: Live[] = [];
  for (const [i, size] of LIVE_SIZES.entries()) {
    const address = target.malloc(size);
    if (address === 0) return `${target.name}: could not allocate the live blocks`;
    u8().fill(0x11 + i, address, address + size);
    live.push({ address, size, fill: 0x11 + i });
  }
  let victim = target.malloc(VICTIM_SIZE);
  if (victim === 0) return `${target.name}: could not allocate the block to resize`;
  const writeVictim = (at: number): void => {
    for (let i = 0; i < VICTIM_SIZE; i++) u8()[at + i] = (0x40 + i) & 0xff;
  };
  const victimMismatch = (at: number, length: number): number => {
    for (let i = 0; i < length; i++) if (u8()[at + i] !== ((0x40 + i) & 0xff)) return i;
    return -1;
  };
  writeVictim(victim);

  const sizes = options.sizes;
  for (let index = 0; index < sizes.length; index++) {
    const n = sizes[index]!;
    // a size whose calls all returned 0 changed nothing that the live blocks do not show, as a
    // rule: the heap is walked after any other size, every CHECK_EVERY sizes and after the last
    let touched = false;
    const calls: ProbeCall[] = [
      { label: `malloc(${n})`, run: () => target.malloc(n), length: n, zeroed: false, resizes: false },
      { label: `calloc(${n}, 1)`, run: () => target.calloc(n, 1), length: n, zeroed: true, resizes: false },
      { label: `calloc(1, ${n})`, run: () => target.calloc(1, n), length: n, zeroed: true, resizes: false },
      { label: `calloc(${n}, 2)`, run: () => target.calloc(n, 2), length: 2 * n, zeroed: true, resizes: false },
      { label: `realloc(0, ${n})`, run: () => target.realloc(0, n), length: n, zeroed: false, resizes: false },
      { label: `realloc(${hex(victim)}, ${n})`, run: () => target.realloc(victim, n), length: n, zeroed: false, resizes: true },
    ];
    const memalign = target.memalign;
    if (memalign !== undefined) {
      for (const alignment of options.alignments ?? []) {
        calls.push({ label: `memalign(${alignment}, ${n})`, run: () => memalign.call(target, alignment, n), length: n, zeroed: false, resizes: false });
      }
    }
    for (const call of calls) {
      const where = `${target.name}: ${call.label}`;
      let result: number;
      try {
        result = call.run();
      } catch (error) {
        touched = true;
        if (!options.isAllowedError(error)) return `${where} threw ${describeError(error)}`;
        if (call.resizes && victimMismatch(victim, VICTIM_SIZE) >= 0) return `${where} threw and damaged the block it was given`;
        continue;
      }
      if (result === 0) {
        if (call.resizes && victimMismatch(victim, VICTIM_SIZE) >= 0) return `${where} returned 0 but damaged the block it was given`;
        continue;
      }
      touched = true;
      const bytes = u8();
      const length = call.length;
      if (!Number.isSafeInteger(result) || result < 0 || result + length > bytes.length) {
        return `${where} returned ${hex(result)}, which cannot hold ${length} bytes in a memory of ${bytes.length}`;
      }
      for (const block of live) {
        if (result < block.address + block.size && block.address < result + length) {
          return `${where} returned ${hex(result)} (${length} bytes), over the live block ${hex(block.address)} (${block.size} bytes)`;
        }
      }
      if (!call.resizes && result < victim + VICTIM_SIZE && victim < result + length) {
        return `${where} returned ${hex(result)} (${length} bytes), over the live block ${hex(victim)} (${VICTIM_SIZE} bytes)`;
      }
      if (call.zeroed && (bytes[result] !== 0 || bytes[result + length - 1] !== 0)) return `${where} returned ${hex(result)}, whose bytes are not zero`;
      if (call.resizes) {
        const kept = victimMismatch(result, Math.min(VICTIM_SIZE, length));
        if (kept >= 0) return `${where} moved the block to ${hex(result)} without its byte ${kept}`;
      }
      bytes[result] = 0xa5;
      bytes[result + length - 1] = 0x5a;
      try {
        target.free(result);
      } catch (error) {
        return `${where} returned ${hex(result)}, which free refused: ${describeError(error)}`;
      }
      if (call.resizes) {
        victim = target.malloc(VICTIM_SIZE);
        if (victim === 0) return `${where}: could not allocate a new block to resize`;
        writeVictim(victim);
      }
    }
    const check = touched || index % CHECK_EVERY === CHECK_EVERY - 1 || index === sizes.length - 1 ? target.check?.() : undefined;
    if (check !== undefined && !check.ok) {
      const first = check.problems[0];
      return `${target.name}: after the calls of size ${n}, check() found ${check.problems.length} problem(s)${first === undefined ? "" : `, first at ${hex(first.address)}: ${first.message}`}`;
    }
    const bytes = u8();
    for (const block of live) {
      for (let i = 0; i < block.size; i++) {
        if (bytes[block.address + i] !== block.fill) return `${target.name}: after the calls of size ${n}, the live block ${hex(block.address)} changed at byte ${i}`;
      }
    }
    const changed = victimMismatch(victim, VICTIM_SIZE);
    if (changed >= 0) return `${target.name}: after the calls of size ${n}, the block ${hex(victim)} changed at byte ${changed}`;
  }
  for (const block of live) target.free(block.address);
  target.free(victim);
  return null;
}
