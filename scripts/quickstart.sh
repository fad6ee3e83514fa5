#!/usr/bin/env bash
# The README's first command: set up a fresh machine and serve the console on the embedded database.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash scripts/setup.sh
exec bash scripts/start.sh
