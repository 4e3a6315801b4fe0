/*
 * Interned tracebacks (CPython's `tracemalloc_tracebacks`): each distinct sequence of frame ids
 * is stored once and known by a small integer, which is what a trace records. Sequences live
 * back to back in one pool, most recent frame first (the order they are captured in):
 *
 *   id:      0           1              2
 *   start  | 0 |       | 1 |          | 4 | ...
 *   length | 1 |       | 3 |          | 2 | ...
 *   pool   | u | f7 f3 f1 | f7 f2 | ...          (u: the "<unknown>" frame)
 *
 * and an open-addressing index (slot -> id, -1 free) finds a sequence by its hash, so that a
 * traceback seen before costs one probe and a comparison and allocates nothing.
 */
import { Frame } from "./frame.ts";
import { Traceback } from "./traceback.ts";

const MIN_TRACEBACKS = 256;
const MIN_POOL = 1024;

/** @internal */
export class TracebackTable {
  #start: Int32Array = new Int32Array(MIN_TRACEBACKS);
  #length: Int32Array = new Int32Array(MIN_TRACEBACKS);
  #hash: Int32Array = new Int32Array(MIN_TRACEBACKS);
  #pool: Int32Array = new Int32Array(MIN_POOL);
  #poolUsed = 0;
  #index: Int32Array = new Int32Array(MIN_TRACEBACKS * 2).fill(-1);
  #indexMask = MIN_TRACEBACKS * 2 - 1;
  /** Number of tracebacks. */
  count = 0;
  /** The Traceback objects made so far, by id (made when a snapshot or a lookup needs one). */
  readonly #objects: (Traceback | undefined)[] = [];

  /** Bytes of the typed arrays. */
  get byteLength(): number {
    return this.#start.byteLength + this.#length.byteLength + this.#hash.byteLength + this.#pool.byteLength + this.#index.byteLength;
  }

  /** Number of Traceback objects made. */
  get objectCount(): number {
    let n = 0;
    for (const object of this.#objects) if (object !== undefined) n++;
    return n;
  }

  /**
   * The id of the traceback `frames[0..n)` (frame ids, most recent first) whose hash is `hash`,
   * adding it when it is new.
   */
  intern(frames: Int32Array, n: number, hash: number): number {
    const index = this.#index;
    const mask = this.#indexMask;
    const pool = this.#pool;
    let slot = mix(hash) & mask;
    for (;;) {
      const id = index[slot]!;
      if (id < 0) break;
      if (this.#hash[id] === hash && this.#length[id] === n) {
        const start = this.#start[id]!;
        let same = true;
        for (let i = 0; i < n; i++) {
          if (pool[start + i] !== frames[i]) {
            same = false;
            break;
          }
        }
        if (same) return id;
      }
      slot = (slot + 1) & mask;
    }
    return this.#add(frames, n, hash, slot);
  }

  /** The frame ids of traceback `id`, most recent first: `pool()[start(id) .. start(id) + length(id))`. */
  start(id: number): number {
    return this.#start[id]!;
  }

  /** The number of frames of traceback `id`. */
  length(id: number): number {
    return this.#length[id]!;
  }

  /** The pool the frame ids live in (valid until the next intern). */
  pool(): Int32Array {
    return this.#pool;
  }

  /** The Traceback object of `id` (oldest frame first), made once. */
  traceback(id: number, frames: readonly Frame[]): Traceback {
    let object = this.#objects[id];
    if (object === undefined) {
      const start = this.#start[id]!;
      const list: Frame[] = [];
      for (let i = start + this.#length[id]! - 1; i >= start; i--) list.push(frames[this.#pool[i]!]!);
      object = new Traceback(list);
      this.#objects[id] = object;
    }
    return object;
  }

  #add(frames: Int32Array, n: number, hash: number, slot: number): number {
    const id = this.count;
    if (id === this.#start.length) {
      this.#start = grown(this.#start, id * 2);
      this.#length = grown(this.#length, id * 2);
      this.#hash = grown(this.#hash, id * 2);
    }
    if (this.#poolUsed + n > this.#pool.length) this.#pool = grown(this.#pool, Math.max(this.#pool.length * 2, this.#poolUsed + n));
    this.#pool.set(frames.subarray(0, n), this.#poolUsed);
    this.#start[id] = this.#poolUsed;
    this.#length[id] = n;
    this.#hash[id] = hash;
    this.#poolUsed += n;
    this.#index[slot] = id;
    this.count = id + 1;
    if (this.count * 2 > this.#index.length) this.#reindex();
    return id;
  }

  #reindex(): void {
    const capacity = this.#index.length * 2;
    const index = new Int32Array(capacity).fill(-1);
    const mask = capacity - 1;
    for (let id = 0; id < this.count; id++) {
      let slot = mix(this.#hash[id]!) & mask;
      while (index[slot] !== -1) slot = (slot + 1) & mask;
      index[slot] = id;
    }
    this.#index = index;
    this.#indexMask = mask;
  }
}

function grown(array: Int32Array, length: number): Int32Array {
  const bigger = new Int32Array(length);
  bigger.set(array);
  return bigger;
}

function mix(hash: number): number {
  const h = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
  return h ^ (h >>> 16);
}
