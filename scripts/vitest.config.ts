import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// One vitest run over every package and app that has tests, for IDEs and one-off runs from the
// root (`pnpm vitest run`). CI and `npm test` run each package's own config through turbo instead,
// which caches per package.
export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  test: { projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"] },
});
