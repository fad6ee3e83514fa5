#!/usr/bin/env bash
# `npm start`: serve the built console (embedded PostgreSQL unless DATABASE_URL is set).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ -d node_modules ]] || die "dependencies are not installed: run 'npm run setup' (or 'npm run quickstart') first"
# V8's young generation at 2 x 32 MiB (its default is 2 x 16): the flow batches being stored (a few MB each,
# several at once) then die young instead of being copied into the old generation. Measured with the
# ingest bench (bench/README.md, flow store): console CPU 9.3-9.4 -> 6.6-6.9 us per record. Same flag in
# apps/web's `start` script.
exec npx tsx --max-semi-space-size=32 apps/web/scripts/serve.ts "$@"
