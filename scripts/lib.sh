# Shared helpers of the set-up, start and test scripts. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '\033[1m[kernflow]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[kernflow] %s\033[0m\n' "$*" >&2; exit 1; }
