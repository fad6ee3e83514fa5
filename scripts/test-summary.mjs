// Sums every suite's results into the one closing line CI reads: "N passed, N failed".
// In CI (CI=true) a skipped eBPF test is a failure: those tests must run on CI's root machine.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];

for (const check of ["typecheck", "lint"]) {
  const file = join(dir, `${check}.status`);
  const ok = existsSync(file) && readFileSync(file, "utf8").trim() === "pass";
  if (ok) {
    passed++;
  } else {
    failed++;
    problems.push(`${check} failed`);
  }
}

const vitestFile = join(dir, "vitest.json");
if (existsSync(vitestFile)) {
  const v = JSON.parse(readFileSync(vitestFile, "utf8"));
  passed += v.numPassedTests;
  failed += v.numFailedTests;
  skipped += v.numPendingTests + v.numTodoTests;
  // A file that failed to load has no test results but must count as a failure.
  for (const f of v.testResults) {
    if (f.status === "failed" && f.assertionResults.length === 0) {
      failed++;
      problems.push(`test file failed to run: ${f.name}`);
    }
    const kernel = f.name.includes("/apps/agent/test/");
    const skippedHere = f.assertionResults.filter((a) => a.status === "skipped" || a.status === "pending");
    if (process.env.CI === "true" && kernel && skippedHere.length > 0) {
      failed += skippedHere.length;
      problems.push(`eBPF tests were skipped in CI (${f.name}): they must run as root on a BTF kernel`);
    }
  }
} else {
  failed++;
  problems.push("vitest wrote no results");
}

const pwFile = join(dir, "..", "playwright", "test-results", "results.json");
if (existsSync(pwFile)) {
  const s = JSON.parse(readFileSync(pwFile, "utf8")).stats;
  passed += s.expected + s.flaky;
  failed += s.unexpected;
  // The browser suite skips only the specs that drive a real agent (fleet, flows-agent) when eBPF is
  // unavailable; in CI those must run, like the agent's kernel tests.
  if (process.env.CI === "true" && s.skipped > 0) {
    failed += s.skipped;
    problems.push(
      `${s.skipped} browser test(s) needing root and eBPF were skipped in CI: they must run there`,
    );
  } else {
    skipped += s.skipped;
  }
} else {
  failed++;
  problems.push("playwright wrote no results");
}

for (const p of problems) console.log(`problem: ${p}`);
console.log(
  skipped ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`,
);
process.exit(failed ? 1 : 0);
