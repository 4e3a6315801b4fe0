/* Reading the command line and checking option values (src/args.ts). */
import { describe, expect, it } from "vitest";
import { allocatorConfig, parseCommandLine, positionals, seconds, statsPoint, wholeNumber } from "../src/args.ts";
import { usageMessage as usage } from "./helpers.ts";

describe("wholeNumber", () => {
  it.each([
    ["1", 1, 1],
    ["3", 1, 3],
    ["007", 1, 7],
    ["0", 0, 0],
    ["300000", 1, 300_000],
    ["9007199254740991", 1, Number.MAX_SAFE_INTEGER],
  ])("%j with min %d is %d", (text, min, value) => {
    expect(wholeNumber("replay", "--runs", text, min)).toBe(value);
  });

  it.each([["0"], ["1.5"], ["-3"], ["ten"], [""], [" 3"], ["3 "], ["1e3"], ["0x10"], ["+2"], ["9007199254740993"]])("refuses %j (min 1)", (text) => {
    expect(usage(() => wholeNumber("replay", "--runs", text, 1))).toBe(`replay: --runs must be a whole number of at least 1, got "${text}" (see tsmalloc replay --help)`);
  });

  it("names the option and the minimum", () => {
    expect(usage(() => wholeNumber("stats", "--limit", "2", 5))).toBe('stats: --limit must be a whole number of at least 5, got "2" (see tsmalloc stats --help)');
  });
});

describe("seconds", () => {
  it.each([
    ["20", 20],
    ["0.5", 0.5],
    [".25", 0.25],
    ["0.001", 0.001],
    ["1.0", 1],
  ])("%j is %d", (text, value) => {
    expect(seconds("bench", "--budget", text)).toBe(value);
  });

  it.each([["0"], ["0.0"], ["-1"], ["ten"], [""], ["1e3"], ["Infinity"], ["NaN"], ["1."], ["1,5"]])("refuses %j", (text) => {
    expect(usage(() => seconds("bench", "--budget", text))).toBe(`bench: --budget must be a positive number of seconds, got "${text}" (see tsmalloc bench --help)`);
  });
});

describe("statsPoint", () => {
  it("is end when not given, and takes end and peak", () => {
    expect(statsPoint("replay", undefined)).toBe("end");
    expect(statsPoint("replay", "end")).toBe("end");
    expect(statsPoint("replay", "peak")).toBe("peak");
  });

  it.each([["middle"], ["PEAK"], [""], ["start"]])("refuses %j", (text) => {
    expect(usage(() => statsPoint("stats", text))).toBe(`stats: --at must be "end" or "peak", got "${text}" (see tsmalloc stats --help)`);
  });
});

describe("allocatorConfig: --allocator, else TSMALLOC, else default", () => {
  it.each([
    [undefined, {}, "default"],
    [undefined, { TSMALLOC: undefined }, "default"],
    [undefined, { TSMALLOC: "" }, "default"],
    [undefined, { TSMALLOC: "malloc" }, "malloc"],
    [undefined, { TSMALLOC: "pymalloc_debug" }, "pymalloc_debug"],
    ["debug", {}, "debug"],
    ["pymalloc", { TSMALLOC: "malloc" }, "pymalloc"],
    ["default", { TSMALLOC: "malloc_debug" }, "default"],
    // a bad TSMALLOC does not matter when --allocator is given
    ["malloc", { TSMALLOC: "nonsense" }, "malloc"],
  ] as const)("--allocator %s with %j: %s", (option, env, config) => {
    expect(allocatorConfig("replay", option, env)).toBe(config);
  });

  it("an unknown name is a usage error that says where it came from", () => {
    expect(usage(() => allocatorConfig("replay", "nonsense", {}))).toMatch(/^replay: --allocator: unknown allocator "nonsense"; expected one of default, debug, /);
    expect(usage(() => allocatorConfig("stats", undefined, { TSMALLOC: "nonsense" }))).toMatch(/^stats: TSMALLOC: unknown allocator "nonsense"; /);
    expect(usage(() => allocatorConfig("demo", undefined, { TSMALLOC: "mimalloc" }))).toMatch(/^demo: TSMALLOC: allocator "mimalloc" is not available/);
  });

  it("an empty --allocator is a usage error, while an empty TSMALLOC means default (as an empty PYTHONMALLOC does)", () => {
    expect(usage(() => allocatorConfig("replay", "", { TSMALLOC: "malloc" }))).toBe("replay: --allocator needs a name (see tsmalloc replay --help)");
  });
});

describe("parseCommandLine", () => {
  const options = { allocator: { type: "string" }, verify: { type: "boolean" } } as const;

  it("reads options, flags and positionals (--help is answered before, by run)", () => {
    const line = parseCommandLine("replay", ["x.trace", "--allocator", "malloc", "--verify"], options);
    expect(line.positionals).toEqual(["x.trace"]);
    expect(line.values.allocator).toBe("malloc");
    expect(line.values.verify).toBe(true);
    expect(line.values.help).toBeUndefined();
    expect(parseCommandLine("replay", ["--allocator=debug"], options).values.allocator).toBe("debug");
  });

  it("takes a negative number after an option that has a value as that value, so that its check can say what is wrong", () => {
    const limit = { limit: { type: "string" }, verify: { type: "boolean" } } as const;
    expect(parseCommandLine("replay", ["x", "--limit", "-5"], limit).values.limit).toBe("-5");
    expect(parseCommandLine("replay", ["--limit", "-.5", "x"], limit)).toEqual({ values: { limit: "-.5" }, positionals: ["x"] });
    // not after a flag, not a word, not past "--"
    expect(usage(() => parseCommandLine("replay", ["--verify", "-5"], limit))).toBe("replay: unknown option -5 (see tsmalloc replay --help)");
    expect(usage(() => parseCommandLine("replay", ["--limit", "-x"], limit))).toBe("replay: option --limit needs a value (see tsmalloc replay --help)");
    expect(parseCommandLine("replay", ["--", "--limit", "-5"], limit).positionals).toEqual(["--limit", "-5"]);
  });

  it.each([
    [["--bogus"], "replay: unknown option --bogus (see tsmalloc replay --help)"],
    [["-z"], "replay: unknown option -z (see tsmalloc replay --help)"],
    [["--allocator"], "replay: option --allocator needs a value (see tsmalloc replay --help)"],
    [["--verify=yes"], "replay: option --verify takes no value (see tsmalloc replay --help)"],
  ])("%j: %s", (argv, message) => {
    expect(usage(() => parseCommandLine("replay", argv, options))).toBe(message);
  });
});

describe("positionals", () => {
  it("passes between min and max arguments through", () => {
    expect(positionals("stats", [], 0, 1, "")).toEqual([]);
    expect(positionals("stats", ["a"], 0, 1, "")).toEqual(["a"]);
  });

  it("names what is missing, and the first argument too many", () => {
    expect(usage(() => positionals("replay", [], 1, 1, "the trace file"))).toBe("replay: missing the trace file (see tsmalloc replay --help)");
    expect(usage(() => positionals("replay", ["a", "b", "c"], 1, 1, "the trace file"))).toBe('replay: unexpected argument "b" (see tsmalloc replay --help)');
  });
});
