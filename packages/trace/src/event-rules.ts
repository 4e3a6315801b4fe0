/*
 * The format's rules for a sequence of events, shared by everything that takes events one by
 * one (the parser through the builder, the builder, the writer):
 *
 * - ids, NMEMB and ALIGN are integers below 2^32; SIZE is an integer from 0 to 2^53, and so is
 *   NMEMB × SIZE; ALIGN is a power of two;
 * - `a`, `c`, `m` and `r`'s NEWID name an id that is not live; `f` and `r`'s OLDID a live one
 *   (`r` ends OLDID before it makes NEWID, so `r 5 5 8` is allowed).
 */
import { describe } from "./errors.ts";
import { OP_CALLOC, OP_FREE, OP_MEMALIGN, OP_REALLOC } from "./trace.ts";

/** The largest SIZE (and NMEMB × SIZE): every larger integer loses precision in a double. */
export const MAX_SIZE: number = 2 ** 53;
/** One more than the largest id, NMEMB or ALIGN (they are kept in Uint32Arrays). */
export const ID_LIMIT: number = 2 ** 32;

/** The live block ids, one byte per id, grown as larger ids come. */
export class LiveIds {
  #live = new Uint8Array(1024);
  #ids = 0;

  /** One more than the largest id ever made live. */
  get ids(): number {
    return this.#ids;
  }

  isLive(id: number): boolean {
    return id < this.#live.length && this.#live[id] === 1;
  }

  /** Makes `id` live (it must not be; see {@link eventProblem}). */
  create(id: number): void {
    if (id >= this.#live.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.#live.length * 2));
      grown.set(this.#live);
      this.#live = grown;
    }
    this.#live[id] = 1;
    if (id >= this.#ids) this.#ids = id + 1;
  }

  /** Makes `id` not live. */
  end(id: number): void {
    this.#live[id] = 0;
  }
}

/**
 * Why the event breaks the rules above, or null when it keeps them. Changes nothing. The
 * message names the field (`SIZE`, `OLDID`, …) as the format's table does. (Each kind first
 * accepts a good event in one test, the parser's path for every line; the messages come after.)
 */
export function eventProblem(live: LiveIds, op: number, id: number, arg: number, size: number): string | null {
  switch (op) {
    case OP_FREE:
      if (isId(id) && live.isLive(id)) return null;
      return idProblem("ID", id) ?? `ID ${id} is not a live block (never allocated, or freed already)`;
    case OP_REALLOC:
      if (isId(id) && isId(arg) && isSize(size) && live.isLive(arg) && (id === arg || !live.isLive(id))) return null;
      return (
        idProblem("OLDID", arg) ??
        idProblem("NEWID", id) ??
        sizeProblem("SIZE", size) ??
        (live.isLive(arg) ? `NEWID ${id} is already a live block` : `OLDID ${arg} is not a live block (never allocated, or freed already)`)
      );
    case OP_CALLOC:
      if (isId(id) && isId(arg) && isSize(size) && arg * size <= MAX_SIZE && !live.isLive(id)) return null;
      return idProblem("ID", id) ?? idProblem("NMEMB", arg) ?? sizeProblem("SIZE", size) ?? (live.isLive(id) ? `ID ${id} is already a live block` : `NMEMB × SIZE (${arg} × ${size}) is larger than 2^53`);
    case OP_MEMALIGN:
      // (a power of two below 2^32 has one bit set: x & (x - 1) is 0, and 0 is refused apart)
      if (isId(id) && isId(arg) && isSize(size) && arg !== 0 && (arg & (arg - 1)) === 0 && !live.isLive(id)) return null;
      return idProblem("ID", id) ?? idProblem("ALIGN", arg) ?? sizeProblem("SIZE", size) ?? (live.isLive(id) ? `ID ${id} is already a live block` : `ALIGN ${arg} is not a power of two`);
    default:
      if (isId(id) && isSize(size) && !live.isLive(id)) return null;
      return idProblem("ID", id) ?? sizeProblem("SIZE", size) ?? `ID ${id} is already a live block`;
  }
}

/** Applies an event that {@link eventProblem} accepted to the live ids. */
export function applyEvent(live: LiveIds, op: number, id: number, arg: number): void {
  if (op === OP_FREE) {
    live.end(id);
    return;
  }
  if (op === OP_REALLOC) live.end(arg);
  live.create(id);
}

/** An integer from 0 to 2^32 - 1 (NaN, fractions, negatives and strings are not). */
function isId(value: number): boolean {
  return value >>> 0 === value;
}

/** An integer from 0 to 2^53. */
function isSize(value: number): boolean {
  return value >= 0 && value <= MAX_SIZE && Number.isInteger(value);
}

function idProblem(field: string, value: number): string | null {
  if (Number.isInteger(value) && value >= 0 && value < ID_LIMIT) return null;
  return Number.isInteger(value) && value >= ID_LIMIT ? `${field} ${value} does not fit in 32 bits` : `${field} must be an integer from 0 to 2^32 - 1, got ${describe(value)}`;
}

function sizeProblem(field: string, value: number): string | null {
  if (Number.isInteger(value) && value >= 0 && value <= MAX_SIZE) return null;
  return Number.isInteger(value) && value > MAX_SIZE ? `${field} ${value} is larger than 2^53` : `${field} must be an integer from 0 to 2^53, got ${describe(value)}`;
}
