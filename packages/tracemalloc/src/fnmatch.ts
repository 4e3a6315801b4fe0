/*
 * Python's fnmatch.fnmatchcase on POSIX (where os.path.normcase changes nothing): `*` matches any
 * run of characters (slashes included), `?` one character, `[seq]` one character of seq, `[!seq]`
 * one character not in it; `a-z` in a set is a range (a reversed range matches nothing); a `]`
 * right after `[` or `[!` is a member; a `[` without a closing `]` is an ordinary character.
 * Matching is case-sensitive and covers the whole name. Characters are code points.
 */

/** One element of a compiled pattern. */
type Token =
  | { readonly kind: "star" }
  | { readonly kind: "any" }
  | { readonly kind: "char"; readonly char: string }
  | { readonly kind: "set"; readonly negate: boolean; readonly chars: ReadonlySet<string>; readonly ranges: readonly (readonly [number, number])[] };

/** A pattern compiled once, matched many times. @internal */
export class FnmatchPattern {
  readonly #tokens: readonly Token[];

  constructor(pattern: string) {
    this.#tokens = compile([...pattern]);
  }

  /** True when `name` matches the whole pattern. */
  matches(name: string): boolean {
    const tokens = this.#tokens;
    const chars = [...name];
    let t = 0;
    let c = 0;
    // where to resume after the last star: the token after it, and the character it has eaten to
    let starToken = -1;
    let starChar = 0;
    while (c < chars.length) {
      const token = tokens[t];
      if (token !== undefined && token.kind === "star") {
        starToken = ++t;
        starChar = c;
      } else if (token !== undefined && matchesOne(token, chars[c]!)) {
        t++;
        c++;
      } else if (starToken >= 0) {
        // let the last star eat one more character and try again
        t = starToken;
        c = ++starChar;
      } else {
        return false;
      }
    }
    while (t < tokens.length && tokens[t]!.kind === "star") t++;
    return t === tokens.length;
  }
}

/** True when `token` (not a star) matches the character `char`. */
function matchesOne(token: Token, char: string): boolean {
  switch (token.kind) {
    case "any":
      return true;
    case "char":
      return token.char === char;
    case "set": {
      let found = token.chars.has(char);
      if (!found) {
        const code = char.codePointAt(0)!;
        for (const [low, high] of token.ranges) {
          if (code >= low && code <= high) {
            found = true;
            break;
          }
        }
      }
      return found !== token.negate;
    }
    default:
      return false;
  }
}

function compile(pattern: readonly string[]): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i++]!;
    if (c === "*") {
      // consecutive stars are one
      if (tokens.at(-1)?.kind !== "star") tokens.push({ kind: "star" });
    } else if (c === "?") {
      tokens.push({ kind: "any" });
    } else if (c === "[") {
      let j = i;
      if (pattern[j] === "!") j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") j++;
      if (j >= pattern.length) {
        tokens.push({ kind: "char", char: "[" });
        continue;
      }
      const negate = pattern[i] === "!";
      const members = pattern.slice(negate ? i + 1 : i, j);
      const chars = new Set<string>();
      const ranges: [number, number][] = [];
      for (let k = 0; k < members.length; ) {
        if (members[k + 1] === "-" && k + 2 < members.length) {
          ranges.push([members[k]!.codePointAt(0)!, members[k + 2]!.codePointAt(0)!]);
          k += 3;
        } else {
          chars.add(members[k]!);
          k++;
        }
      }
      tokens.push({ kind: "set", negate, chars, ranges });
      i = j + 1;
    } else {
      tokens.push({ kind: "char", char: c });
    }
  }
  return tokens;
}
