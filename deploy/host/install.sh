#!/usr/bin/env bash
# Installs the kernflow capture agent on a plain Linux host (systemd) and enrolls it with a console.
# Idempotent: running it again updates the files, keeps the credential and restarts the service.
set -euo pipefail

readonly PREFIX_DEFAULT=/opt/kernflow
readonly STATE_DIR=/var/lib/kernflow
readonly UNIT_NAME=kernflow-agent.service
readonly UNIT_DIR=/etc/systemd/system

usage() {
  cat <<USAGE
Usage: install.sh --server URL --token TOKEN [--prefix DIR] [--source DIR] [--no-start]
       install.sh --help

Installs the kernflow agent from a kernflow checkout into DIR (default ${PREFIX_DEFAULT}), with its
npm dependencies and the built BPF object, enrolls this host with the console using an enrollment
token (created in the console under Enrollment tokens) unless it is already enrolled, installs
${UNIT_NAME} and starts it.

Options:
  --server URL    the console, e.g. http://console.example.com:3000 (required)
  --token TOKEN   an enrollment token; '-' reads it from standard input (required unless enrolled)
  --prefix DIR    where the agent is installed (default ${PREFIX_DEFAULT})
  --source DIR    the kernflow checkout to install from (default: the one this script is in)
  --no-start      install and enroll, but do not enable or start the service
  -h, --help      show this help

Needs: root, systemd, Node.js >= 20.19 at /usr/bin/node, npm, libbpf.so.1, a kernel with BTF
(/sys/kernel/btf/vmlinux). State (the credential) is kept in ${STATE_DIR}.
USAGE
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}
usage_error() {
  echo "install.sh: $*" >&2
  echo "Run 'install.sh --help' for usage." >&2
  exit 2
}

server="" token="" prefix="$PREFIX_DEFAULT" start=1
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --server) [[ $# -ge 2 ]] || usage_error "--server needs a URL"; server="$2"; shift 2 ;;
    --token) [[ $# -ge 2 ]] || usage_error "--token needs a value"; token="$2"; shift 2 ;;
    --prefix) [[ $# -ge 2 ]] || usage_error "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --source) [[ $# -ge 2 ]] || usage_error "--source needs a directory"; source_dir="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

[[ -n "$server" ]] || usage_error "--server is required"
[[ "$server" =~ ^https?://[^[:space:]]+$ ]] || usage_error "--server must be an http(s) URL, got \"$server\""
[[ "$prefix" == /* ]] || usage_error "--prefix must be an absolute path"
if [[ "$token" == "-" ]]; then
  IFS= read -r token || true
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs a systemd unit and loads BPF programs)"
command -v systemctl >/dev/null || die "systemd (systemctl) not found: this installer is for systemd hosts"
[[ -x /usr/bin/node ]] || die "Node.js not found at /usr/bin/node (need >= 20.19; Debian: apt-get install nodejs)"
node_version="$(/usr/bin/node -p 'process.versions.node')"
/usr/bin/node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  die "Node.js $node_version is too old: need >= 20.19"
command -v npm >/dev/null || die "npm not found (Debian: apt-get install npm)"
[[ -e /sys/kernel/btf/vmlinux ]] || die "this kernel has no BTF (/sys/kernel/btf/vmlinux): the agent's CO-RE bytecode needs it"
ldconfig -p 2>/dev/null | grep -q 'libbpf\.so\.1' || die "libbpf.so.1 not found (Debian: apt-get install libbpf1)"
[[ -f "$source_dir/apps/agent/bin/kernflow-agent.js" ]] || die "$source_dir is not a kernflow checkout (use --source)"
[[ -f "$source_dir/bpf/build/kernflow.bpf.o" ]] ||
  die "$source_dir/bpf/build/kernflow.bpf.o is missing: build it first (npm run setup, or make -C bpf)"

echo "installing the agent into $prefix"
mkdir -p "$prefix"
# Only what the agent needs: the root manifests, its workspace and the libraries it imports.
for path in package.json package-lock.json tooling/tsconfig.base.json apps/agent packages/protocol packages/ipfix bpf/build/kernflow.bpf.o; do
  [[ -e "$source_dir/$path" ]] || continue
  mkdir -p "$prefix/$(dirname "$path")"
  rm -rf "${prefix:?}/$path"
  cp -a "$source_dir/$path" "$prefix/$path"
done
rm -rf "$prefix/apps/agent/node_modules"
(cd "$prefix" && npm ci --omit=dev --no-audit --no-fund --loglevel=error -w @kernflow/agent --include-workspace-root=false) ||
  die "npm ci failed in $prefix"

mkdir -p "$STATE_DIR"
chmod 0700 "$STATE_DIR"
agent=(/usr/bin/node "$prefix/apps/agent/bin/kernflow-agent.js")
if [[ -s "$STATE_DIR/state.json" ]]; then
  echo "already enrolled ($STATE_DIR/state.json kept)"
else
  [[ -n "$token" ]] || usage_error "--token is required to enroll this host"
  echo "enrolling with $server"
  "${agent[@]}" enroll --server "$server" --token "$token" --state-dir "$STATE_DIR" ||
    die "enrollment failed (see the message above); nothing was started"
fi

sed "s#/opt/kernflow#$prefix#g" "$source_dir/deploy/host/$UNIT_NAME" >"$UNIT_DIR/$UNIT_NAME"
systemctl daemon-reload
if ((start)); then
  systemctl enable "$UNIT_NAME" >/dev/null
  systemctl restart "$UNIT_NAME"
  echo "started $UNIT_NAME; follow it with: journalctl -u $UNIT_NAME -f"
else
  echo "installed $UNIT_NAME (not started: --no-start)"
fi
