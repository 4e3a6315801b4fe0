/* What the package's tests share. */

/** `s` as UTF-8 bytes, as a trace file holds it. */
export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** What `run` throws (fails the test when it throws nothing). */
export function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}
