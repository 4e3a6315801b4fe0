import { defineProject } from "vitest/config";

// Vite 6+ replaces its default conditions rather than extending them, so they are restated
// after the source condition (which points workspace packages at their src/*.ts).
const source = "@tsmalloc/source";

export default defineProject({
  resolve: { conditions: [source, "module", "browser", "development|production"] },
  ssr: { resolve: { conditions: [source, "module", "node", "development|production"] } },
  test: {
    name: "@tsmalloc/malloc",
    include: ["test/**/*.test.ts"],
  },
});
