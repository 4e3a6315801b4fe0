#!/usr/bin/env node
// Sums the vitest JSON reports that `npm test` leaves in every workspace package
// (<package>/.vitest/report.json) and prints one line: "N passed, N failed".
// A package that has a test script but left no report (its tests never ran, or crashed before
// reporting) counts as one failed test, so that a broken run can never read as green.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
let passed = 0;
let failed = 0;
const missing = [];
for (const group of ["packages", "apps"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const manifest = join(dir, name, "package.json");
    if (!existsSync(manifest)) continue;
    const scripts = JSON.parse(readFileSync(manifest, "utf8")).scripts ?? {};
    if (!("test" in scripts)) continue;
    const report = join(dir, name, ".vitest", "report.json");
    if (!existsSync(report)) {
      missing.push(`${group}/${name}`);
      failed++;
      continue;
    }
    const data = JSON.parse(readFileSync(report, "utf8"));
    passed += data.numPassedTests ?? 0;
    failed += data.numFailedTests ?? 0;
    // a test file that failed without a failing test (it did not load, or a hook threw)
    for (const file of data.testResults ?? []) {
      const failedTests = (file.assertionResults ?? []).filter((t) => t.status === "failed").length;
      if (file.status === "failed" && failedTests === 0) failed++;
    }
  }
}
if (missing.length > 0) console.error(`no test report from: ${missing.join(", ")}`);
console.log(`${passed} passed, ${failed} failed`);
