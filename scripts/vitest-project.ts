import { defineProject, type UserWorkspaceConfig } from "vitest/config";

// Vite 6+ replaces its default conditions rather than extending them, so they are restated
// after the source condition (which points workspace packages at their src/*.ts).
const source = "@tsmalloc/source";

/** The vitest config of one workspace package: `export default tsmallocProject("@tsmalloc/x")`. */
export function tsmallocProject(name: string): UserWorkspaceConfig {
  return defineProject({
    resolve: { conditions: [source, "module", "browser", "development|production"] },
    ssr: { resolve: { conditions: [source, "module", "node", "development|production"] } },
    // Tests check behaviour, never speed: CI runs every package's tests at once on a shared
    // 2-core machine, where a test that takes 1 s alone can take 5, so the limit is generous.
    test: { name, include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000 },
  });
}
