/*
 * The root table: a few named addresses in the memory's header (layout in header.ts), where
 * allocators record their heap headers so that attach() in another worker, or on a saved buffer,
 * finds them. A slot is a (tag, address) pair of words; a tag is 1 to 4 ASCII characters read as a
 * little-endian word, 0 for a free slot.
 */
import { describeValue } from "../validate.ts";
import { HDR_ROOTS, ROOT_SLOTS } from "./header.ts";
import { optionError } from "./memory-plan.ts";
import type { RegionAllocator } from "./region-allocator.ts";

/**
 * A tag as the word the table stores.
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless 1 to 4 printable ASCII characters
 */
export function encodeTag(tag: string): number {
  if (typeof tag !== "string" || !/^[\x21-\x7e]{1,4}$/.test(tag)) {
    throw optionError(`root tag must be 1 to 4 printable ASCII characters, got ${describeValue(tag)}`);
  }
  let word = 0;
  for (let i = 0; i < tag.length; i++) word |= tag.charCodeAt(i) << (8 * i);
  return word >>> 0;
}

/** Word index of the slot that holds the tag `word` in the header at word `baseWord`, or -1. */
function slotOf(words: Uint32Array, baseWord: number, word: number): number {
  for (let slot = 0; slot < ROOT_SLOTS; slot++) {
    const at = baseWord + HDR_ROOTS + 2 * slot;
    if (words[at] === word) return at;
  }
  return -1;
}

/**
 * Records `address` under the tag `word`, replacing an earlier address with the same tag; 0
 * removes the tag. Writers take the region lock.
 * @returns false when the table is full
 */
export function setRoot(regions: RegionAllocator, word: number, address: number): boolean {
  regions.lock();
  try {
    const words = regions.backing.u32();
    const at = slotOf(words, regions.baseWord, word);
    if (at >= 0) {
      if (address === 0) words[at] = 0;
      words[at + 1] = address;
      return true;
    }
    return address === 0 || record(words, regions.baseWord, word, address);
  } finally {
    regions.unlock();
  }
}

/**
 * Records `address` (not 0) under the tag `word` unless the tag has an address already: the
 * compare-and-set that lets several workers race to create one shared structure. Under the region
 * lock, as setRoot.
 * @returns the address the tag has afterwards (`address`, or the one recorded before); 0 when the
 *   table is full
 */
export function setRootIfAbsent(regions: RegionAllocator, word: number, address: number): number {
  regions.lock();
  try {
    const words = regions.backing.u32();
    const at = slotOf(words, regions.baseWord, word);
    if (at >= 0) return words[at + 1]!;
    return record(words, regions.baseWord, word, address) ? address : 0;
  } finally {
    regions.unlock();
  }
}

/** Puts (tag `word`, `address`) in a free slot, the address first. @returns false when there is none */
function record(words: Uint32Array, baseWord: number, word: number, address: number): boolean {
  const at = slotOf(words, baseWord, 0);
  if (at < 0) return false;
  words[at + 1] = address;
  words[at] = word;
  return true;
}

/** The address recorded under the tag `word` in the table of the header at word `baseWord`, or 0. */
export function getRoot(words: Uint32Array, baseWord: number, word: number): number {
  const at = slotOf(words, baseWord, word);
  return at < 0 ? 0 : words[at + 1]!;
}
