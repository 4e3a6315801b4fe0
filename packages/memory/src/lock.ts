/*
 * A mutex in one 32-bit word of shared memory, for code that several workers run at once on one
 * heap. It is the futex mutex of Ulrich Drepper's "Futexes Are Tricky" (mutex 2), with
 * Atomics.wait / Atomics.notify as the futex:
 *
 *     0  unlocked
 *     1  locked, nobody waiting
 *     2  locked, somebody may be waiting (the unlocker must notify)
 *
 * An uncontended lock is one compareExchange; an uncontended unlock is one sub. A contended locker
 * spins briefly (critical sections in tsmalloc are short), then sleeps in Atomics.wait. Where
 * Atomics.wait is not allowed (a browser's main thread), it keeps spinning instead.
 */

const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;

/** How many times a contended locker re-reads the word before it goes to sleep. */
const SPIN_LIMIT = 100;

/** Whether this thread may block in Atomics.wait (decided once, at first use). */
let waitAllowed: boolean | undefined;

function canWait(): boolean {
  if (waitAllowed === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      waitAllowed = true;
    } catch {
      waitAllowed = false;
    }
  }
  return waitAllowed;
}

/**
 * Takes the mutex in word `index` of `words`, waiting as long as it takes.
 * `words` must view a SharedArrayBuffer (or a shared WebAssembly.Memory).
 * The mutex is not re-entrant: taking it twice from one thread deadlocks.
 */
export function lockMutex(words: Int32Array, index: number): void {
  let state = Atomics.compareExchange(words, index, UNLOCKED, LOCKED);
  if (state === UNLOCKED) return;
  for (let spin = 0; spin < SPIN_LIMIT; spin++) {
    if (Atomics.load(words, index) === UNLOCKED) {
      state = Atomics.compareExchange(words, index, UNLOCKED, LOCKED);
      if (state === UNLOCKED) return;
    }
  }
  if (state !== CONTENDED) state = Atomics.exchange(words, index, CONTENDED);
  const sleep = canWait();
  while (state !== UNLOCKED) {
    if (sleep) Atomics.wait(words, index, CONTENDED);
    state = Atomics.exchange(words, index, CONTENDED);
  }
}

/**
 * Tries to take the mutex without waiting.
 * @returns true if this call took it
 */
export function tryLockMutex(words: Int32Array, index: number): boolean {
  return Atomics.compareExchange(words, index, UNLOCKED, LOCKED) === UNLOCKED;
}

/** Releases the mutex taken by {@link lockMutex}, waking one waiter if there may be one. */
export function unlockMutex(words: Int32Array, index: number): void {
  if (Atomics.sub(words, index, 1) !== LOCKED) {
    Atomics.store(words, index, UNLOCKED);
    Atomics.notify(words, index, 1);
  }
}
