import { defineConfig } from "vitest/config";

// One vitest run over every package and app, for IDEs and one-off runs from the root:
//   pnpm vitest run        (the "vitest" script points here)
// CI and `npm test` run each package's own config through turbo instead, which caches per package.
export default defineConfig({
  root: "..",
  test: { projects: ["packages/*", "apps/*"] },
});
