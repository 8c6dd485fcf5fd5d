#!/usr/bin/env bash
# Installs xdp-vswitch as a systemd service (docs/systemd.md).
#
#   scripts/install-service.sh [--prefix DIR | --in-place] [--node PATH] [--now]
#       builds (scripts/setup.sh), copies the runtime files (dist/src, bpf/*.o,
#       production node_modules, package.json, docs) to DIR (default
#       /opt/xdp-vswitch), links the commands into /usr/local/bin, installs
#       /etc/systemd/system/xdp-vswitchd.service with DIR and the node binary
#       in it, checks it with `systemd-analyze verify`, and with --now (and
#       systemd running) enables and starts it. --in-place uses this checkout
#       as DIR instead of a copy.
#   scripts/install-service.sh --render FILE [--prefix DIR | --in-place] [--node PATH]
#       only writes the unit for DIR and PATH to FILE ("-": stdout); the
#       tests verify and run such a copy.
#   scripts/install-service.sh --uninstall [--prefix DIR]
#       stops and disables the service, removes the unit, the links and DIR
#       (not /var/lib/xdp-vswitch, the configuration).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
UNIT_SRC="$ROOT/packaging/systemd/xdp-vswitchd.service"
DEFAULT_PREFIX=/opt/xdp-vswitch
DEFAULT_NODE=/usr/bin/node

prefix=$DEFAULT_PREFIX
node=
render=
now=
uninstall=
unit_dir=/etc/systemd/system
bin_dir=/usr/local/bin

die() { echo "install-service: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

while (($#)); do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --in-place) prefix=$ROOT; shift ;;
    --node) node=${2:?--node needs a path}; shift 2 ;;
    --render) render=${2:?--render needs a file or -}; shift 2 ;;
    --now) now=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument $1" ;;
  esac
done

[[ $prefix == /* ]] || die "--prefix must be an absolute path: $prefix"
prefix=${prefix%/}
if [ -z "$node" ]; then node=$(command -v node) || die "node is not in PATH (use --node)"; fi
node=$(readlink -f "$node")
[ -x "$node" ] || die "$node is not executable"

# Paths go into ExecStart= and Documentation= unquoted: keep to characters
# systemd takes literally. And the unit's ProtectHome=yes / PrivateTmp=yes
# hide /home, /root, /run/user and /tmp from the daemon: code there cannot run.
check_path() {
  [[ $2 =~ ^/[A-Za-z0-9._/+-]*$ ]] || die "$1 $2 has characters a unit file would need quoted; pick another"
  case "$2/" in
    /home/*|/root/*|/run/user/*|/tmp/*|/var/tmp/*)
      if [ -n "$render" ]; then
        echo "install-service: warning: $1 $2 is hidden from the service by ProtectHome=/PrivateTmp=; this unit is only good for tests" >&2
      else
        die "$1 $2 is hidden from the service by ProtectHome=yes / PrivateTmp=yes: install with the default --prefix $DEFAULT_PREFIX"
      fi ;;
  esac
}

render_unit() {
  check_path --prefix "$prefix"
  check_path --node "$node"
  sed -e "s|$DEFAULT_PREFIX/|$prefix/|g" -e "s|^ExecStart=$DEFAULT_NODE |ExecStart=$node |" "$UNIT_SRC"
}

if [ -n "$render" ]; then
  if [ "$render" = - ]; then render_unit; else render_unit > "$render.tmp" && mv "$render.tmp" "$render"; fi
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "run as root"
systemd_running() { [ -d /run/systemd/system ]; }

if [ -n "$uninstall" ]; then
  if systemd_running; then systemctl disable --now xdp-vswitchd.service 2>/dev/null || true; fi
  rm -f "$unit_dir/xdp-vswitchd.service"
  for t in xdp-vswitchd xdp-vsctl xdp-appctl xdp-ofctl; do
    if [[ $(readlink "$bin_dir/$t" 2>/dev/null) == "$prefix/"* ]]; then rm -f "$bin_dir/$t"; fi
  done
  if [ "$prefix" != "$ROOT" ]; then rm -rf "$prefix"; fi
  if systemd_running; then systemctl daemon-reload; fi
  echo "install-service: removed (the configuration in /var/lib/xdp-vswitch is kept; a fast path left forwarding stays in /sys/fs/bpf/xdp-vswitch)"
  exit 0
fi

bash "$ROOT/scripts/setup.sh"

if [ "$prefix" != "$ROOT" ]; then
  # Built next to the old copy and swapped in: a running daemon keeps its open files.
  staging="$prefix.new.$$"
  rm -rf "$staging"
  trap 'rm -rf "$staging"' EXIT
  mkdir -p "$staging/bpf" "$staging/dist" "$staging/docs"
  cp -a "$ROOT/package.json" "$ROOT/package-lock.json" "$staging/"
  cp -a "$ROOT"/bpf/*.o "$staging/bpf/"
  cp -a "$ROOT/dist/src" "$staging/dist/"
  cp -a "$ROOT/node_modules" "$staging/"
  cp -a "$ROOT/README.md" "$staging/"
  cp -a "$ROOT/docs/systemd.md" "$staging/docs/"
  (cd "$staging" && npm prune --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
  if [ -e "$prefix" ]; then mv "$prefix" "$prefix.old.$$"; fi
  mv "$staging" "$prefix"
  rm -rf "$prefix.old.$$"
  trap - EXIT
fi

for t in daemon/main:xdp-vswitchd cli/vsctl:xdp-vsctl cli/appctl:xdp-appctl cli/ofctl:xdp-ofctl; do
  chmod 0755 "$prefix/dist/src/${t%%:*}.js"
  mkdir -p "$bin_dir"
  ln -sfn "$prefix/dist/src/${t%%:*}.js" "$bin_dir/${t##*:}"
done

if [ ! -e /etc/default/xdp-vswitchd ]; then
  cat > /etc/default/xdp-vswitchd <<'EOF'
# Options for xdp-vswitchd under systemd (xdp-vswitchd.service).
# XDP_VSWITCHD_OPTS="--log-level DBG"
# Moving the directories also needs a ReadWritePaths= drop-in (docs/systemd.md):
# XDP_VSWITCH_BPFFS=/sys/fs/bpf/xdp-vswitch
EOF
fi

mkdir -p "$unit_dir"
render_unit > "$unit_dir/xdp-vswitchd.service.tmp"
chmod 0644 "$unit_dir/xdp-vswitchd.service.tmp"
mv "$unit_dir/xdp-vswitchd.service.tmp" "$unit_dir/xdp-vswitchd.service"
systemd-analyze verify "$unit_dir/xdp-vswitchd.service"
echo "install-service: installed $unit_dir/xdp-vswitchd.service (code in $prefix, node $node)"

if systemd_running; then
  systemctl daemon-reload
  if [ -n "$now" ]; then
    systemctl enable --now xdp-vswitchd.service
    systemctl --no-pager status xdp-vswitchd.service || true
  else
    echo "install-service: start it with: systemctl enable --now xdp-vswitchd"
  fi
else
  echo "install-service: systemd is not running here (PID 1 is $(cat /proc/1/comm)); the unit is installed for the next boot"
fi
