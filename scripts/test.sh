#!/usr/bin/env bash
# `npm test`: set up what is missing, then run every suite — typecheck, lint, unit + integration tests
# (vitest: real PostgreSQL, real eBPF in network namespaces) and browser tests (Playwright + Debian's
# Chromium) — and end with one line "N passed, N failed" summing them all.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash scripts/setup.sh

out="$ROOT/test-results"
rm -rf "$out"; mkdir -p "$out"
status=0

say "typecheck"
if npx turbo run typecheck --output-logs=errors-only >"$out/typecheck.log" 2>&1; then echo pass >"$out/typecheck.status"
else cat "$out/typecheck.log"; echo fail >"$out/typecheck.status"; status=1; fi

say "lint"
# CI=true: biome then also checks Markdown formatting, as it does on the CI machine.
if CI=true npx biome check . >"$out/lint.log" 2>&1; then echo pass >"$out/lint.status"
else tail -60 "$out/lint.log"; echo fail >"$out/lint.status"; status=1; fi

say "unit and integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$out/vitest.json" || status=1

say "browser tests (playwright)"
(cd playwright && npx playwright test) || status=1

node scripts/test-summary.mjs "$out" || status=1
exit $status
