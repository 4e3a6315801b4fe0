import { parseArgs } from "node:util";

/** What every package's `pnpm bench` accepts. */
export interface BenchArgs {
  /** Timed runs per cell (`--runs N`, default 5; 1 with `--quick`). */
  readonly runs: number;
  /** `--quick`: one run of smaller workloads, a smoke test of the harness. */
  readonly quick: boolean;
  /** `--budget S`: seconds a contender may take per run before it is shown as over budget (default 30). */
  readonly budgetSeconds: number;
}

/**
 * Parses a benchmark script's arguments (`--runs N`, `--quick`, `--budget S`). pnpm 9 passes the
 * `--` of `pnpm bench -- --runs 9` through, so a lone `--` is ignored.
 *
 * @throws TypeError for an unknown option, or when `--runs` or `--budget` is not a positive number
 */
export function parseBenchArgs(argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== "--"),
    options: {
      runs: { type: "string", default: "5" },
      quick: { type: "boolean", default: false },
      budget: { type: "string", default: "30" },
    },
  });
  const runs = Number(values.runs);
  const budgetSeconds = Number(values.budget);
  if (!Number.isInteger(runs) || runs < 1) throw new TypeError(`--runs must be a positive integer, got ${values.runs}`);
  if (!(budgetSeconds > 0)) throw new TypeError(`--budget must be a positive number of seconds, got ${values.budget}`);
  return { runs: values.quick ? 1 : runs, quick: values.quick, budgetSeconds };
}
