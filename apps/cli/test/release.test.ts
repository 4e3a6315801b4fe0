/*
 * The packages' versions, where the release procedure (the root README's "Working on it") takes
 * them: every public package to its first real version, 0.1.0, which is a minor bump from 0.0.0
 * (a patch alone would make it 0.0.1, a major 1.0.0). A package still at 0.0.0 needs a pending
 * changeset that bumps it so; one that `pnpm version-packages` took there has its CHANGELOG.md.
 * Changesets also refuses a changeset that names a private package beside a public one, so none
 * names a private package at all: private packages are not versioned.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CHANGESETS = join(ROOT, ".changeset");

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  /** The package's folder (not in package.json: where it was read). */
  readonly folder: string;
}

const manifests: Manifest[] = ["packages", "apps"].flatMap((group) =>
  readdirSync(join(ROOT, group)).map((name) => {
    const folder = join(ROOT, group, name);
    return { ...(JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as Omit<Manifest, "folder">), folder };
  }),
);
const byName = new Map(manifests.map((m) => [m.name, m]));

/** Each changeset's bumps, by package name, from its front matter. */
const changesets: { readonly file: string; readonly bumps: ReadonlyMap<string, string> }[] = readdirSync(CHANGESETS)
  .filter((file) => file.endsWith(".md") && file !== "README.md")
  .map((file) => {
    const text = readFileSync(join(CHANGESETS, file), "utf8");
    const front = /^---\n([\s\S]*?)\n---\n/.exec(text);
    if (front === null) throw new Error(`${file}: no front matter`);
    const bumps = new Map<string, string>();
    for (const line of front[1]!.split("\n")) {
      const match = /^"([^"]+)": (major|minor|patch)$/.exec(line);
      if (match === null) throw new Error(`${file}: a front-matter line that is not "NAME": major|minor|patch: ${line}`);
      bumps.set(match[1]!, match[2]!);
    }
    return { file, bumps };
  });

const RANK: Readonly<Record<string, number>> = { patch: 1, minor: 2, major: 3 };

describe("the pending changesets", () => {
  it("name only public packages of the workspace", () => {
    for (const { file, bumps } of changesets) {
      for (const name of bumps.keys()) {
        expect(byName.has(name), `${file} names ${name}, which is not in the workspace`).toBe(true);
        expect(byName.get(name)!.private, `${file} names ${name}, which is private (not versioned)`).not.toBe(true);
      }
    }
  });

  it.each(manifests.filter((m) => m.private !== true).map((m) => [m.name, m.version, m.folder]))(
    "take %s (%s) to its first real version: 0.1.0 by a minor bump, or released there with a changelog",
    (name, version, folder) => {
      if (version === "0.0.0") {
        // not released yet: the pending changesets must make it 0.1.0
        const bumps = changesets.flatMap((c) => (c.bumps.has(name) ? [c.bumps.get(name)!] : []));
        const highest = bumps.reduce((top, bump) => (RANK[bump]! > RANK[top]! ? bump : top), "patch");
        expect(bumps.length, `no changeset names ${name}`).toBeGreaterThan(0);
        expect(highest).toBe("minor");
        return;
      }
      // versioned (`pnpm version-packages`): past 0.0.0, never to 1.0 by accident, with its changelog
      expect(version).toMatch(/^0\.[1-9]\d*\.\d+$/);
      const changelog = readFileSync(join(folder, "CHANGELOG.md"), "utf8");
      expect(changelog.startsWith(`# ${name}\n`)).toBe(true);
      expect(changelog).toContain(`\n## ${version}\n`);
    },
  );

  it("leave the private packages unversioned", () => {
    for (const m of manifests.filter((m) => m.private === true)) expect(m.version, m.name).toBe("0.0.0");
  });
});
