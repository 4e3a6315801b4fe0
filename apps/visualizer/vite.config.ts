import { defineConfig } from "vite";

// The workspace packages are bundled from their TypeScript sources (the same conditions as the
// vitest projects: Vite replaces its default conditions, so they are restated after ours).
export default defineConfig({
  base: "./",
  resolve: { conditions: ["@tsmalloc/source", "module", "browser", "development|production"] },
  build: { target: "es2022", sourcemap: true, assetsInlineLimit: 0, chunkSizeWarningLimit: 1024 },
  preview: { host: "127.0.0.1" },
  server: { host: "127.0.0.1" },
});
