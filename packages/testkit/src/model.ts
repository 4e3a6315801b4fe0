/*
 * A model of what any allocator must guarantee, for property tests: it records every live block
 * with a fill byte, and checks on every step that new blocks are aligned, inside the memory and
 * overlap no live block, that calloc'd bytes are zero, and that contents survive until the block
 * is freed (and the kept prefix survives realloc).
 */
import { findMismatch, type TargetMemory } from "@tsmalloc/trace";

/** One live block of the model. */
export interface ModelBlock {
  readonly address: number;
  readonly size: number;
  readonly fill: number;
}

/**
 * The reference model: record each block the allocator hands out (`allocated`), resized
 * (`reallocated`) or takes back (`freed`); every call checks the guarantees above and throws an
 * Error that says which one broke.
 */
export class AllocatorModel {
  readonly #memory: TargetMemory;
  readonly #alignment: number;
  readonly #blocks = new Map<number, ModelBlock>();
  #nextFill = 1;

  /** `alignment`: the alignment every block must have (16 for tsmalloc's allocators). */
  constructor(memory: TargetMemory, alignment = 16) {
    this.#memory = memory;
    this.#alignment = alignment;
  }

  /** Live blocks, in allocation order. */
  get blocks(): ModelBlock[] {
    return [...this.#blocks.values()];
  }

  get size(): number {
    return this.#blocks.size;
  }

  /** The block at `address`, if live. */
  get(address: number): ModelBlock | undefined {
    return this.#blocks.get(address);
  }

  /**
   * Records a new block of `size` bytes at `address` (0 = the allocator failed; nothing is
   * recorded), checks it, and fills it. `zeroed`: its bytes must all be 0 (calloc).
   * @throws Error describing the broken guarantee
   */
  allocated(address: number, size: number, zeroed: boolean = false, alignment: number = this.#alignment): void {
    if (address === 0) return;
    if (address % alignment !== 0) throw new Error(`block 0x${address.toString(16)} is not ${alignment}-byte aligned`);
    const u8 = this.#memory.u8;
    const extent = Math.max(size, 1);
    if (address + extent > u8.length) throw new Error(`block 0x${address.toString(16)} (${size} bytes) leaves the memory (${u8.length})`);
    for (const other of this.#blocks.values()) {
      if (address < other.address + Math.max(other.size, 1) && other.address < address + extent) {
        throw new Error(`block 0x${address.toString(16)} (${size} bytes) overlaps live block 0x${other.address.toString(16)} (${other.size} bytes)`);
      }
    }
    if (zeroed) {
      const at = findMismatch(u8, address, size, 0);
      if (at >= 0) throw new Error(`calloc block 0x${address.toString(16)} is not zero at +${at - address}`);
    }
    const fill = this.#nextFill;
    this.#nextFill = (this.#nextFill % 255) + 1;
    u8.fill(fill, address, address + size);
    this.#blocks.set(address, { address, size, fill });
  }

  /** Checks the block's contents and forgets it (call before freeing it). */
  freed(address: number): void {
    this.verify(address);
    this.#blocks.delete(address);
  }

  /**
   * Records that the block at `from` became `size` bytes at `to` (0 = the allocator failed: the
   * old block must be intact). Checks the kept prefix, then refills the block.
   */
  reallocated(from: number, to: number, size: number): void {
    const old = this.#blocks.get(from);
    if (old === undefined) throw new Error(`realloc of unknown block 0x${from.toString(16)}`);
    if (to === 0) {
      this.verify(from);
      return;
    }
    const kept = Math.min(old.size, size);
    const at = findMismatch(this.#memory.u8, to, kept, old.fill);
    if (at >= 0) throw new Error(`realloc 0x${from.toString(16)} -> 0x${to.toString(16)} lost its contents at +${at - to}`);
    this.#blocks.delete(from);
    this.allocated(to, size);
  }

  /** Checks one live block's contents. */
  verify(address: number): void {
    const block = this.#blocks.get(address);
    if (block === undefined) throw new Error(`unknown block 0x${address.toString(16)}`);
    const at = findMismatch(this.#memory.u8, address, block.size, block.fill);
    if (at >= 0) {
      throw new Error(`block 0x${address.toString(16)} (${block.size} bytes) was overwritten at +${at - address}`);
    }
  }

  /** Checks every live block's contents. */
  verifyAll(): void {
    for (const address of this.#blocks.keys()) this.verify(address);
  }
}

/**
 * One step of a program over several heaps of one memory (heap slots, free-threading): which heap
 * does it, and with which of the model's live blocks (`pick`, modulo their number), whoever made it.
 */
export type HeapsStep =
  | { readonly op: "malloc"; readonly heap: number; readonly size: number }
  | { readonly op: "calloc"; readonly heap: number; readonly size: number }
  | { readonly op: "free"; readonly heap: number; readonly pick: number }
  | { readonly op: "realloc"; readonly heap: number; readonly pick: number; readonly size: number }
  | { readonly op: "drain"; readonly heap: number };

/** A heap of a heap slot, as {@link runHeapsSteps} drives it. */
export interface SlotHeap {
  malloc(size: number): number;
  calloc(nelem: number, elsize: number): number;
  realloc(p: number, size: number): number;
  free(p: number): void;
  drainRemoteFrees(): number;
}

/**
 * Runs `steps` on `heaps` against `model`: blocks made by one heap are freed and resized through
 * whichever heap the step names (mostly another slot's), and every guarantee of the model is
 * checked at each step.
 * @throws Error describing the first broken guarantee
 */
export function runHeapsSteps(model: AllocatorModel, heaps: readonly SlotHeap[], steps: readonly HeapsStep[]): void {
  for (const step of steps) {
    const heap = heaps[step.heap]!;
    if (step.op === "malloc") {
      model.allocated(heap.malloc(step.size), step.size);
    } else if (step.op === "calloc") {
      model.allocated(heap.calloc(1, step.size), step.size, true);
    } else if (step.op === "drain") {
      heap.drainRemoteFrees();
    } else if (model.size > 0) {
      const live = model.blocks;
      const block = live[step.pick % live.length]!;
      if (step.op === "free") {
        model.freed(block.address);
        heap.free(block.address);
      } else {
        model.verify(block.address);
        model.reallocated(block.address, heap.realloc(block.address, step.size), step.size);
      }
    }
  }
  model.verifyAll();
}
