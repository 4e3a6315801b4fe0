/*
 * CPython's TestFilters: Filter's attributes, its matching of a frame, of file name patterns
 * (fnmatch on POSIX: case-sensitive, `*` across slashes, `?`, `[seq]`, `[!seq]`), and of a
 * traceback (its most recent frame, or any frame with allFrames); DomainFilter.
 */
import { DomainFilter, Filter, Frame, Trace, Traceback } from "@tsmalloc/tracemalloc";
import { describe, expect, it } from "vitest";

/** A trace whose traceback is `frames`, most recent first (CPython's raw order). */
function trace(frames: readonly (readonly [string, number])[], domain: number = 0): Trace {
  return new Trace(domain, 1, new Traceback(frames.map(([f, l]) => new Frame(f, l)).reverse()));
}

/** CPython's f._match_frame(filename, lineno): the filter's verdict on a one-frame trace. */
function matchFrame(filter: Filter, filename: string, lineno: number): boolean {
  return filter.matches(trace([[filename, lineno]]));
}

describe("Filter", () => {
  it("test_filter_attributes: defaults, custom values, read-only", () => {
    const f = new Filter(true, "abc");
    expect(f.inclusive).toBe(true);
    expect(f.filenamePattern).toBe("abc");
    expect(f.lineno).toBeNull();
    expect(f.allFrames).toBe(false);
    expect(f.domain).toBeNull();
    const g = new Filter(false, "test.py", 123, true, 7);
    expect([g.inclusive, g.filenamePattern, g.lineno, g.allFrames, g.domain]).toEqual([false, "test.py", 123, true, 7]);
    expect(() => {
      (g as { filenamePattern: string }).filenamePattern = "abc";
    }).toThrow(TypeError);
  });

  it("test_filter_match: with and without a line number", () => {
    let f = new Filter(true, "abc");
    expect([0, 5, 10].map((l) => matchFrame(f, "abc", l))).toEqual([true, true, true]);
    expect([0, 5, 10].map((l) => matchFrame(f, "12356", l))).toEqual([false, false, false]);
    f = new Filter(false, "abc");
    expect([0, 5, 10].map((l) => matchFrame(f, "abc", l))).toEqual([false, false, false]);
    expect([0, 5, 10].map((l) => matchFrame(f, "12356", l))).toEqual([true, true, true]);
    f = new Filter(true, "abc", 5);
    expect([0, 5, 10].map((l) => matchFrame(f, "abc", l))).toEqual([false, true, false]);
    expect([0, 5, 10].map((l) => matchFrame(f, "12356", l))).toEqual([false, false, false]);
    f = new Filter(false, "abc", 5);
    expect([0, 5, 10].map((l) => matchFrame(f, "abc", l))).toEqual([true, false, true]);
    expect([0, 5, 10].map((l) => matchFrame(f, "12356", l))).toEqual([true, true, true]);
    f = new Filter(true, "abc", 0);
    expect([0, 5, 10].map((l) => matchFrame(f, "abc", l))).toEqual([true, false, false]);
    expect([0, 5, 10].map((l) => matchFrame(f, "12356", l))).toEqual([false, false, false]);
    f = new Filter(false, "abc", 0);
    expect([0, 5, 10].map((l) => matchFrame(f, "abc", l))).toEqual([false, true, true]);
    expect([0, 5, 10].map((l) => matchFrame(f, "12356", l))).toEqual([true, true, true]);
  });

  it("test_filter_match_filename", () => {
    const fnmatch = (inclusive: boolean, filename: string, pattern: string): boolean => matchFrame(new Filter(inclusive, pattern), filename, 0);
    expect(fnmatch(true, "abc", "abc")).toBe(true);
    expect(fnmatch(true, "12356", "abc")).toBe(false);
    expect(fnmatch(true, "<unknown>", "abc")).toBe(false);
    expect(fnmatch(false, "abc", "abc")).toBe(false);
    expect(fnmatch(false, "12356", "abc")).toBe(true);
    expect(fnmatch(false, "<unknown>", "abc")).toBe(true);
  });

  it("test_filter_match_filename_joker: fnmatch's rules on POSIX", () => {
    const fnmatch = (filename: string, pattern: string): boolean => matchFrame(new Filter(true, pattern), filename, 0);
    // empty string
    expect(fnmatch("abc", "")).toBe(false);
    expect(fnmatch("", "abc")).toBe(false);
    expect(fnmatch("", "")).toBe(true);
    expect(fnmatch("", "*")).toBe(true);
    // no *
    expect(fnmatch("abc", "abc")).toBe(true);
    expect(fnmatch("abc", "abcd")).toBe(false);
    expect(fnmatch("abc", "def")).toBe(false);
    // a*
    expect(fnmatch("abc", "a*")).toBe(true);
    expect(fnmatch("abc", "abc*")).toBe(true);
    expect(fnmatch("abc", "b*")).toBe(false);
    expect(fnmatch("abc", "abcd*")).toBe(false);
    // a*b
    expect(fnmatch("abc", "a*c")).toBe(true);
    expect(fnmatch("abcdcx", "a*cx")).toBe(true);
    expect(fnmatch("abb", "a*c")).toBe(false);
    expect(fnmatch("abcdce", "a*cx")).toBe(false);
    // a*b*c
    expect(fnmatch("abcde", "a*c*e")).toBe(true);
    expect(fnmatch("abcbdefeg", "a*bd*eg")).toBe(true);
    expect(fnmatch("abcdd", "a*c*e")).toBe(false);
    expect(fnmatch("abcbdefef", "a*bd*eg")).toBe(false);
    // case sensitive, no alternate separator
    expect(fnmatch("aBC", "ABc")).toBe(false);
    expect(fnmatch("aBcDe", "Ab*dE")).toBe(false);
    expect(fnmatch("a/b", "a\\b")).toBe(false);
    expect(fnmatch("a\\b", "a/b")).toBe(false);
    // ? and sets, * across slashes
    expect(fnmatch("/app/src/parse.ts", "/app/*.ts")).toBe(true);
    expect(fnmatch("/app/src/parse.ts", "*/pars?.ts")).toBe(true);
    expect(fnmatch("/app/parse.js", "*.[jt]s")).toBe(true);
    expect(fnmatch("/app/parse.cs", "*.[jt]s")).toBe(false);
    expect(fnmatch("/app/parse.cs", "*.[!jt]s")).toBe(true);
    expect(fnmatch("x5", "x[0-9]")).toBe(true);
    expect(fnmatch("x5", "x[9-0]")).toBe(false); // a reversed range matches nothing
    expect(fnmatch("x]", "x[]]")).toBe(true);
    expect(fnmatch("x-", "x[a-]")).toBe(true);
    expect(fnmatch("[x", "[x")).toBe(true); // a [ without ] is a character
    expect(fnmatch("\u{1F600}", "?")).toBe(true); // characters are code points
  });

  it("test_filter_match_trace: the most recent frame, or any with allFrames", () => {
    const t1 = [["a.py", 2], ["b.py", 3]] as const;
    const t2 = [["b.py", 4], ["b.py", 5]] as const;
    const t3 = [["c.py", 5], ["<unknown>", 0]] as const;
    const unknown = [["<unknown>", 0]] as const;
    const check = (f: Filter): boolean[] => [t1, t2, t3, unknown].map((t) => f.matches(trace(t)));
    expect(check(new Filter(true, "b.py", null, true))).toEqual([true, true, false, false]);
    expect(check(new Filter(true, "b.py", null, false))).toEqual([false, true, false, false]);
    expect(check(new Filter(false, "b.py", null, true))).toEqual([false, false, true, true]);
    expect(check(new Filter(false, "b.py", null, false))).toEqual([true, false, true, true]);
    expect(check(new Filter(false, "<unknown>", null, false))).toEqual([true, true, true, false]);
    expect(check(new Filter(true, "<unknown>", null, true))).toEqual([false, false, true, true]);
    expect(check(new Filter(false, "<unknown>", null, true))).toEqual([true, true, false, false]);
  });

  it("with a domain: an inclusive filter needs the domain too, an exclusive one drops only that domain's", () => {
    const inDomain = trace([["a.py", 1]], 3);
    const otherDomain = trace([["a.py", 1]], 4);
    expect(new Filter(true, "a.py", null, false, 3).matches(inDomain)).toBe(true);
    expect(new Filter(true, "a.py", null, false, 3).matches(otherDomain)).toBe(false);
    expect(new Filter(false, "a.py", null, false, 3).matches(inDomain)).toBe(false);
    expect(new Filter(false, "a.py", null, false, 3).matches(otherDomain)).toBe(true);
  });
});

describe("DomainFilter", () => {
  it("keeps or drops one domain's traces", () => {
    const f = new DomainFilter(true, 5);
    expect([f.inclusive, f.domain]).toEqual([true, 5]);
    expect(f.matches(trace([["a", 1]], 5))).toBe(true);
    expect(f.matches(trace([["a", 1]], 0))).toBe(false);
    expect(new DomainFilter(false, 5).matches(trace([["a", 1]], 5))).toBe(false);
    expect(new DomainFilter(false, 5).matches(trace([["a", 1]], 0))).toBe(true);
    expect(() => {
      (f as { domain: number }).domain = 1;
    }).toThrow(TypeError);
  });
});
