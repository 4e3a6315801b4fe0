/*
 * The live blocks of a recording by address, for TraceRecorder: a hash table with open addressing
 * and linear probing in two typed arrays, so that recording a call allocates nothing (a Map keyed
 * by addresses boxes every key above 2^31 as a heap number, which a native program's addresses
 * all are). Deletion shifts the entries after the hole back into it, so there are no tombstones
 * and a lookup stops at the first empty slot. The table doubles when it is half full.
 *
 *   slot:   0       1       2       3       4       5       6       7
 *   keys:   0     0x5560  0x5570    0     0x7f10    0       0     0x5580
 *   ids:    -       12      40      -       3       -       -       41
 *                    \_______/ probed from slot 1      (0: empty; 0 is NULL, never a block)
 */

/** 2^32: an address's high and low words are taken with it. */
const TWO_32 = 4294967296;

/** Block ids by address (addresses: integers from 1 to 2^53; ids: below 2^32). */
export class AddressTable {
  #keys: Float64Array;
  #ids: Uint32Array;
  #mask: number;
  #size = 0;

  /** @param capacity - the slots to start with: a power of two (the tests start small, to wrap around) */
  constructor(capacity: number = 1024) {
    this.#keys = new Float64Array(capacity);
    this.#ids = new Uint32Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Addresses in the table. */
  get size(): number {
    return this.#size;
  }

  /** The id at `address`, or -1 when there is none. */
  get(address: number): number {
    const keys = this.#keys;
    const mask = this.#mask;
    for (let slot = slotOf(address, mask); ; slot = (slot + 1) & mask) {
      const key = keys[slot]!;
      if (key === address) return this.#ids[slot]!;
      if (key === 0) return -1;
    }
  }

  /** Puts `id` at `address` (replacing what was there). */
  set(address: number, id: number): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const keys = this.#keys;
    const mask = this.#mask;
    let slot = slotOf(address, mask);
    for (; keys[slot] !== 0; slot = (slot + 1) & mask) {
      if (keys[slot] === address) {
        this.#ids[slot] = id;
        return;
      }
    }
    keys[slot] = address;
    this.#ids[slot] = id;
    this.#size++;
  }

  /** Removes `address`; returns its id, or -1 when it was not there. */
  delete(address: number): number {
    const keys = this.#keys;
    const ids = this.#ids;
    const mask = this.#mask;
    let hole = slotOf(address, mask);
    for (; keys[hole] !== address; hole = (hole + 1) & mask) {
      if (keys[hole] === 0) return -1;
    }
    const id = ids[hole]!;
    // an entry after the hole moves into it when the hole is on its probe path (from its home
    // slot to where it is, cyclically); the first empty slot ends the run
    for (let slot = (hole + 1) & mask; keys[slot] !== 0; slot = (slot + 1) & mask) {
      const home = slotOf(keys[slot]!, mask);
      if (slot > hole ? home <= hole || home > slot : home <= hole && home > slot) {
        keys[hole] = keys[slot]!;
        ids[hole] = ids[slot]!;
        hole = slot;
      }
    }
    keys[hole] = 0;
    this.#size--;
    return id;
  }

  #grow(): void {
    const keys = this.#keys;
    const ids = this.#ids;
    this.#keys = new Float64Array(keys.length * 2);
    this.#ids = new Uint32Array(keys.length * 2);
    this.#mask = keys.length * 2 - 1;
    this.#size = 0;
    for (let slot = 0; slot < keys.length; slot++) if (keys[slot] !== 0) this.set(keys[slot]!, ids[slot]!);
  }
}

/** The home slot of `address`: its two words mixed (murmur3's finaliser), under `mask`. @internal (exported for the tests) */
export function slotOf(address: number, mask: number): number {
  const low = address % TWO_32 | 0;
  const high = (address / TWO_32) | 0;
  let h = Math.imul(low ^ (low >>> 16), 0x85ebca6b) ^ Math.imul(high, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 16;
  return h & mask;
}
