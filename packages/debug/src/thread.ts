/*
 * Which thread is calling: CPython's GIL check asks "does this thread hold the GIL?"; tsmalloc's
 * MEM and OBJ hooks ask "is this the thread whose hooks own the heap?". A thread here is a
 * JavaScript realm (the main thread, a worker_threads worker, a Web Worker), and its identity is
 * a random 64-bit token made the first time it is asked for and kept on `globalThis` under a
 * registered symbol, so that every copy of this package loaded in the realm agrees on it. No
 * Node.js module is needed, so it works in browsers too.
 */

/** Where the token lives on `globalThis`. */
const TOKEN_KEY: symbol = Symbol.for("@tsmalloc/debug.threadToken");

/** A thread's identity: two 32-bit halves, not both zero. @internal */
export interface ThreadToken {
  readonly low: number;
  readonly high: number;
}

interface CryptoLike {
  getRandomValues(array: Uint32Array): Uint32Array;
}

function randomWords(): Uint32Array {
  const words = new Uint32Array(2);
  const crypto = (globalThis as { crypto?: CryptoLike }).crypto;
  if (crypto !== undefined && typeof crypto.getRandomValues === "function") crypto.getRandomValues(words);
  else for (let i = 0; i < 2; i++) words[i] = Math.floor(Math.random() * 4294967296);
  return words;
}

/**
 * This realm's token. Two realms get the same one with odds of 2^-64.
 * @internal
 */
export function threadToken(): ThreadToken {
  const holder = globalThis as unknown as Record<symbol, ThreadToken | undefined>;
  let token = holder[TOKEN_KEY];
  if (token === undefined) {
    let words = randomWords();
    while (words[0] === 0 && words[1] === 0) words = randomWords();
    token = Object.freeze({ low: words[0]!, high: words[1]! });
    Object.defineProperty(globalThis, TOKEN_KEY, { value: token, enumerable: false, configurable: false, writable: false });
  }
  return token;
}
