/*
 * The allocation tracebacks of the blocks freed last, for the debug hooks' report of a use after
 * free. The hooks find such a bug only later, at the next free or realloc of the dead block, when
 * its trace is long gone; CPython's report then has no traceback at all. The tracer keeps the
 * traceback id of each of the last FREED_BLOCKS frees in a ring, so the report can still say where
 * the block was allocated:
 *
 *     addresses  [ a0 | a1 | a2 | ... | a(n-1) ]   written at `next`, round and round
 *     tracebacks [ t0 | t1 | t2 | ... | t(n-1) ]   interned traceback ids (never dropped while tracing)
 *
 * A free costs two stores; a report looks back from the newest entry, and the newest free of an
 * address wins (the block the dead header belongs to).
 */

/** How many frees are remembered. */
export const FREED_BLOCKS = 4096;

/** @internal */
export class FreedBlocks {
  readonly #addresses = new Float64Array(FREED_BLOCKS);
  readonly #tracebacks = new Int32Array(FREED_BLOCKS).fill(-1);
  #next = 0;

  /** Bytes of the typed arrays. */
  get byteLength(): number {
    return this.#addresses.byteLength + this.#tracebacks.byteLength;
  }

  /** The block at `address`, allocated with traceback `traceback`, was freed. */
  remember(address: number, traceback: number): void {
    const next = this.#next;
    this.#addresses[next] = address;
    this.#tracebacks[next] = traceback;
    this.#next = next + 1 === FREED_BLOCKS ? 0 : next + 1;
  }

  /** The traceback id of the last freed block at `address` among the remembered, or -1. */
  traceback(address: number): number {
    const addresses = this.#addresses;
    let i = this.#next;
    for (let n = 0; n < FREED_BLOCKS; n++) {
      i = i === 0 ? FREED_BLOCKS - 1 : i - 1;
      const traceback = this.#tracebacks[i]!;
      if (traceback < 0) return -1; // the ring was never filled this far
      if (addresses[i] === address) return traceback;
    }
    return -1;
  }
}
