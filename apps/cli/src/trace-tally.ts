/*
 * A TraceSink in front of another that counts what passes: the events by kind, and the live
 * bytes with their peak, as @tsmalloc/trace's traceProfile works them out from a whole trace, but
 * on the way to the file, so that a recording of any length is summed up without reading it back.
 * Sizes are kept by id in a Float64Array that doubles when an id outgrows it.
 */
import type { TraceSink } from "@tsmalloc/trace";

/** What a {@link TraceTally} counted. */
export interface TallyFigures {
  readonly events: number;
  readonly malloc: number;
  readonly calloc: number;
  readonly realloc: number;
  readonly free: number;
  readonly memalign: number;
  /** The most live bytes (what the program asked for and still held), first reached after event `peakEvent` (from 1; 0: none). */
  readonly peakLiveBytes: number;
  readonly peakEvent: number;
  /** Blocks live after `peakEvent`. */
  readonly blocksAtPeak: number;
  /** Live at the end: blocks never freed, and their bytes. */
  readonly liveBlocks: number;
  readonly liveBytes: number;
  /** `m` events whose alignment is over 16 (which the MEM domain of `tsmalloc replay` does not give). */
  readonly overAligned: number;
}

/** Counts the events on their way to `inner` (see the file's comment). */
export class TraceTally implements TraceSink {
  readonly #inner: TraceSink;
  #sizes = new Float64Array(1024);
  #events = 0;
  #malloc = 0;
  #calloc = 0;
  #realloc = 0;
  #free = 0;
  #memalign = 0;
  #overAligned = 0;
  #liveBytes = 0;
  #liveBlocks = 0;
  #peakLiveBytes = 0;
  #peakEvent = 0;
  #blocksAtPeak = 0;

  constructor(inner: TraceSink) {
    this.#inner = inner;
  }

  get figures(): TallyFigures {
    return {
      events: this.#events,
      malloc: this.#malloc,
      calloc: this.#calloc,
      realloc: this.#realloc,
      free: this.#free,
      memalign: this.#memalign,
      peakLiveBytes: this.#peakLiveBytes,
      peakEvent: this.#peakEvent,
      blocksAtPeak: this.#blocksAtPeak,
      liveBlocks: this.#liveBlocks,
      liveBytes: this.#liveBytes,
      overAligned: this.#overAligned,
    };
  }

  malloc(id: number, size: number): void {
    this.#inner.malloc(id, size);
    this.#malloc++;
    this.#made(id, size);
  }

  calloc(id: number, nmemb: number, size: number): void {
    this.#inner.calloc(id, nmemb, size);
    this.#calloc++;
    this.#made(id, nmemb * size);
  }

  realloc(oldId: number, newId: number, size: number): void {
    this.#inner.realloc(oldId, newId, size);
    this.#realloc++;
    this.#gone(oldId);
    this.#made(newId, size);
  }

  free(id: number): void {
    this.#inner.free(id);
    this.#free++;
    this.#gone(id);
    this.#events++;
  }

  memalign(id: number, alignment: number, size: number): void {
    this.#inner.memalign(id, alignment, size);
    this.#memalign++;
    if (alignment > 16) this.#overAligned++;
    this.#made(id, size);
  }

  comment(text: string): void {
    this.#inner.comment(text);
  }

  /** A block of `size` bytes is live as `id`; one more event. */
  #made(id: number, size: number): void {
    if (id >= this.#sizes.length) {
      const grown = new Float64Array(Math.max(id + 1, this.#sizes.length * 2));
      grown.set(this.#sizes);
      this.#sizes = grown;
    }
    this.#sizes[id] = size;
    this.#liveBytes += size;
    this.#liveBlocks++;
    this.#events++;
    if (this.#liveBytes > this.#peakLiveBytes) {
      this.#peakLiveBytes = this.#liveBytes;
      this.#peakEvent = this.#events;
      this.#blocksAtPeak = this.#liveBlocks;
    }
  }

  #gone(id: number): void {
    this.#liveBytes -= this.#sizes[id]!;
    this.#liveBlocks--;
  }
}
