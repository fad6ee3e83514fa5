#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine with Node 20: Debian packages (clang, bpftool, libbpf-dev,
# Chromium, iperf3, ...), npm dependencies, the Prisma client, the eBPF object and the console build.
# Each step is skipped when its output is already up to date, so running it again costs seconds.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# command-to-check:debian-package
APT_NEEDS=(
  clang:clang llc:llvm bpftool:bpftool /usr/include/bpf/libbpf.h:libbpf-dev
  chromium:chromium iperf3:iperf3 tc:iproute2 python3:python3 softflowd:softflowd
  /usr/lib/postgresql/15/bin/postgres:postgresql-15 tshark:tshark nfcapd:nfdump nats-server:nats-server
  kubectl:kubectl
)
missing=()
for pair in "${APT_NEEDS[@]}"; do
  check="${pair%%:*}" pkg="${pair#*:}"
  if [[ "$check" == /* ]]; then [[ -e "$check" ]] || missing+=("$pkg")
  else command -v "$check" >/dev/null 2>&1 || missing+=("$pkg"); fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    die "missing Debian packages: ${missing[*]}. Run this as root (sudo npm run setup) or: sudo apt-get install -y ${missing[*]}"
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

lock_sum=$(sha256sum package-lock.json | cut -c1-16)
if [[ ! -d node_modules || "$(cat node_modules/.kernflow-lock 2>/dev/null)" != "$lock_sum" ]]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.kernflow-lock
fi

say "generating the Prisma client"
node packages/db/scripts/generate.mjs >/dev/null

say "building the eBPF object"
make -s -C bpf

if [[ "${KERNFLOW_SKIP_WEB_BUILD:-}" != 1 ]]; then
  say "building the console"
  npm run build -w @kernflow/web --silent >/tmp/kernflow-web-build.log 2>&1 || { tail -40 /tmp/kernflow-web-build.log; die "console build failed (log: /tmp/kernflow-web-build.log)"; }
fi
say "set-up done"
