/*
 * Raw stack positions -> interned frames. A call site is known on the hot path by its script
 * (numbered once per script name) and its source position (the character offset V8 reports for
 * the call, in the code it runs); the first time a position is seen it is turned into a line and
 * mapped (source maps) to the frame users read, and the table remembers the answer, so that a
 * known position costs one probe and allocates nothing.
 *
 *   slot i:  keys[2i] = script id + 1 (0: free)   keys[2i + 1] = position
 *            frames[i] = interned frame id
 */

const MIN_CAPACITY = 256;

/** @internal */
export class RawFrameTable {
  #keys: Int32Array = new Int32Array(MIN_CAPACITY * 2);
  #frames: Int32Array = new Int32Array(MIN_CAPACITY);
  #mask = MIN_CAPACITY - 1;
  #count = 0;

  /** Bytes of the typed arrays. */
  get byteLength(): number {
    return this.#keys.byteLength + this.#frames.byteLength;
  }

  /** The frame id of the position, or -1 when it was never seen. */
  get(script: number, position: number): number {
    const keys = this.#keys;
    const mask = this.#mask;
    let slot = hash(script, position) & mask;
    for (;;) {
      const key = keys[slot * 2]!;
      if (key === 0) return -1;
      if (key === script + 1 && keys[slot * 2 + 1] === position) return this.#frames[slot]!;
      slot = (slot + 1) & mask;
    }
  }

  /** Remembers that the position is frame `frame` (the position is not in the table yet). */
  set(script: number, position: number, frame: number): void {
    const keys = this.#keys;
    const mask = this.#mask;
    let slot = hash(script, position) & mask;
    while (keys[slot * 2] !== 0) slot = (slot + 1) & mask;
    keys[slot * 2] = script + 1;
    keys[slot * 2 + 1] = position;
    this.#frames[slot] = frame;
    if (++this.#count * 2 > this.#frames.length) this.#grow();
  }

  #grow(): void {
    const keys = this.#keys;
    const frames = this.#frames;
    const capacity = frames.length * 2;
    this.#keys = new Int32Array(capacity * 2);
    this.#frames = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#count = 0;
    for (let slot = 0; slot < frames.length; slot++) {
      const key = keys[slot * 2]!;
      if (key !== 0) this.set(key - 1, keys[slot * 2 + 1]!, frames[slot]!);
    }
  }
}

function hash(script: number, position: number): number {
  let h = Math.imul(script ^ 0x2545f491, 0x9e3779b1);
  h = Math.imul(h ^ position, 0x85ebca77);
  return h ^ (h >>> 15);
}
