#!/usr/bin/env bash
# `npm start`: serve the built console (embedded PostgreSQL unless DATABASE_URL is set).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ -d node_modules ]] || die "dependencies are not installed: run 'npm run setup' (or 'npm run quickstart') first"
exec npx tsx apps/web/scripts/serve.ts "$@"
