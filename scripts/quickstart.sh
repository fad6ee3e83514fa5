#!/usr/bin/env bash
# The README's first command: set up a fresh machine, then serve the console on the embedded database with
# an agent on this host enrolled against it (KERNFLOW_LOCAL_AGENT=1), so its flows show at once.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash scripts/setup.sh
export KERNFLOW_LOCAL_AGENT="${KERNFLOW_LOCAL_AGENT:-1}"
exec bash scripts/start.sh
