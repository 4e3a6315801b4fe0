/*
 * UTF-8 text, through the platform's TextEncoder and TextDecoder (Node, browsers, workers). They
 * are declared here because the project's TypeScript library is ES2024 without the DOM.
 */

/** A `TextDecoder` for UTF-8. @internal */
export interface Utf8Decoder {
  decode(bytes?: Uint8Array, options?: { stream?: boolean }): string;
}

interface TextApi {
  readonly TextEncoder: new () => { encode(text: string): Uint8Array };
  readonly TextDecoder: new () => Utf8Decoder;
}

/** `text` as UTF-8 bytes. @internal */
export function utf8(text: string): Uint8Array {
  return new (globalThis as unknown as TextApi).TextEncoder().encode(text);
}

/** A new UTF-8 decoder. @internal */
export function utf8Decoder(): Utf8Decoder {
  return new (globalThis as unknown as TextApi).TextDecoder();
}
