/*
 * Running a package's README examples as real programs: the example is bundled with esbuild
 * (workspace packages from their sources, through the "@tsmalloc/source" condition) into one
 * ES module in a temporary directory, which plain `node` runs. A bundled file is self-contained,
 * so an example that starts workers on itself (`new Worker(new URL(import.meta.url))`) works too.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

/** What an example printed, and how it ended. */
export interface ExampleRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Bundles and runs the example at `path` (a .ts or .mjs file) with node. `env`, when given, is
 * added to this process's environment (a value of undefined removes the variable), for examples
 * that read `TSMALLOC` and friends.
 */
export async function runExample(path: string, timeoutMs: number = 60_000, env?: Readonly<Record<string, string | undefined>>): Promise<ExampleRun> {
  const dir = mkdtempSync(join(tmpdir(), "tsmalloc-example-"));
  try {
    const outfile = join(dir, "example.mjs");
    await build({
      entryPoints: [path],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["@tsmalloc/source"],
      logLevel: "silent",
    });
    return await new Promise<ExampleRun>((resolve) => {
      const childEnv: Record<string, string | undefined> = { ...process.env };
      for (const [name, value] of Object.entries(env ?? {})) {
        if (value === undefined) delete childEnv[name];
        else childEnv[name] = value;
      }
      execFile(process.execPath, [outfile], { timeout: timeoutMs, env: childEnv }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ stdout, stderr, exitCode: code });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The fenced code blocks of a Markdown text that follow an `<!-- example: FILE -->` comment, by
 * FILE: READMEs mark their runnable examples this way, and tests check that each block is the
 * example file, character for character.
 */
export function markedExamples(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  const pattern = /<!--\s*example:\s*(\S+)\s*-->\s*\n```[a-z]*\n([\s\S]*?)```/g;
  for (const match of markdown.matchAll(pattern)) found.set(match[1]!, match[2]!);
  return found;
}
