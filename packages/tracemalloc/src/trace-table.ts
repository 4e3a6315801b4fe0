/*
 * The live traces of one trace domain: address -> (size, traceback id), CPython's
 * `tracemalloc_traces` hash table. Open addressing over three typed arrays, so that adding,
 * moving and removing a trace allocate nothing:
 *
 *   slot:        0        1        2        3   ...  capacity - 1
 *   keys     | addr  |   0    | addr  | addr  | ... |   0    |   (0: free; NULL is never traced)
 *   sizes    | bytes |        | bytes | bytes | ... |        |   (Float64: any safe integer)
 *   tracebacks| id   |        |  id   |  id   | ... |        |   (TracebackTable ids)
 *
 * An address's home slot is Fibonacci hashing of it (its top bits after a multiply, so that the
 * low zero bits of aligned addresses do not matter); collisions probe the next slots (linear
 * probing); removal shifts the run that follows back (no tombstones). The table doubles when it
 * is half full.
 */

const MIN_CAPACITY = 64;

/** @internal */
export class TraceTable {
  #keys: Uint32Array;
  #sizes: Float64Array;
  #tracebacks: Int32Array;
  #mask: number;
  #shift: number;
  /** Number of traces. */
  count = 0;

  constructor(capacity: number = MIN_CAPACITY) {
    this.#keys = new Uint32Array(capacity);
    this.#sizes = new Float64Array(capacity);
    this.#tracebacks = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#shift = 32 - Math.log2(capacity);
  }

  /** Slots in the table (a power of two); iterate slots 0..capacity-1 with {@link TraceTable.addressAt}. */
  get capacity(): number {
    return this.#keys.length;
  }

  /** Bytes of the typed arrays. */
  get byteLength(): number {
    return this.#keys.byteLength + this.#sizes.byteLength + this.#tracebacks.byteLength;
  }

  /** The address in `slot`, 0 when the slot is free. */
  addressAt(slot: number): number {
    return this.#keys[slot]!;
  }

  /** The size of the trace in `slot`. */
  sizeAt(slot: number): number {
    return this.#sizes[slot]!;
  }

  /** The traceback id of the trace in `slot`. */
  tracebackAt(slot: number): number {
    return this.#tracebacks[slot]!;
  }

  /** The slot of `address`'s trace, or -1. */
  find(address: number): number {
    const keys = this.#keys;
    const mask = this.#mask;
    let slot = Math.imul(address, 0x9e3779b1) >>> this.#shift;
    for (;;) {
      const key = keys[slot]!;
      if (key === address) return slot;
      if (key === 0) return -1;
      slot = (slot + 1) & mask;
    }
  }

  /**
   * Traces `address` (not 0) with `size` and `traceback`, replacing its trace if it has one.
   * @returns the size of the replaced trace, or -1 when there was none
   */
  set(address: number, size: number, traceback: number): number {
    const keys = this.#keys;
    const mask = this.#mask;
    let slot = Math.imul(address, 0x9e3779b1) >>> this.#shift;
    for (;;) {
      const key = keys[slot]!;
      if (key === address) {
        const old = this.#sizes[slot]!;
        this.#sizes[slot] = size;
        this.#tracebacks[slot] = traceback;
        return old;
      }
      if (key === 0) break;
      slot = (slot + 1) & mask;
    }
    keys[slot] = address;
    this.#sizes[slot] = size;
    this.#tracebacks[slot] = traceback;
    if (++this.count * 2 > keys.length) this.#grow();
    return -1;
  }

  /** The traceback id of the trace the last successful {@link delete} forgot. */
  deletedTraceback = -1;

  /**
   * Forgets `address`'s trace (its traceback id is left in {@link deletedTraceback}).
   * @returns its size, or -1 when it had none
   */
  delete(address: number): number {
    let hole = this.find(address);
    if (hole < 0) return -1;
    const size = this.#sizes[hole]!;
    this.deletedTraceback = this.#tracebacks[hole]!;
    const keys = this.#keys;
    const mask = this.#mask;
    // backward shift: move back every entry of the run after the hole that may live there
    let slot = hole;
    for (;;) {
      slot = (slot + 1) & mask;
      const key = keys[slot]!;
      if (key === 0) break;
      const home = Math.imul(key, 0x9e3779b1) >>> this.#shift;
      // the entry stays when its home lies cyclically in (hole, slot]
      const stays = hole <= slot ? home > hole && home <= slot : home > hole || home <= slot;
      if (!stays) {
        keys[hole] = key;
        this.#sizes[hole] = this.#sizes[slot]!;
        this.#tracebacks[hole] = this.#tracebacks[slot]!;
        hole = slot;
      }
    }
    keys[hole] = 0;
    this.count--;
    return size;
  }

  #grow(): void {
    const keys = this.#keys;
    const sizes = this.#sizes;
    const tracebacks = this.#tracebacks;
    const capacity = keys.length * 2;
    this.#keys = new Uint32Array(capacity);
    this.#sizes = new Float64Array(capacity);
    this.#tracebacks = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#shift = 32 - Math.log2(capacity);
    this.count = 0;
    for (let slot = 0; slot < keys.length; slot++) {
      const key = keys[slot]!;
      if (key !== 0) this.set(key, sizes[slot]!, tracebacks[slot]!);
    }
  }
}
