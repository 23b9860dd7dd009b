#!/usr/bin/env bash
# Installs what the test bed needs, once: Debian packages, the Consul agent (built from the Go module proxy and
# cached) and a busybox root filesystem. Quiet and quick when everything is there; loud and non-zero on failure.
# With --tests it also installs what only the test suite uses (Chromium, for the Consul UI check; Open vSwitch,
# for pipework's OVS bridges, whose daemons each test starts itself).
set -euo pipefail

CACHE=/var/cache/swarm
CONSUL_VERSION=1.20.1
CONSUL_BIN=$CACHE/consul-$CONSUL_VERSION
BUSYBOX_TAR=$CACHE/busybox-rootfs.tar
PACKAGES=(docker.io busybox-static docker-compose iproute2 iptables psmisc util-linux docker-registry)
BINARIES=(dockerd containerd runc docker nsenter unshare ip iptables busybox docker-compose)
if [ "${1:-}" = --tests ]; then
  PACKAGES+=(chromium openvswitch-switch)
  BINARIES+=(chromium ovs-vsctl ovs-vswitchd ovsdb-server ovsdb-tool)
fi

die() { echo "testbed-deps: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (apt-get, network namespaces and dockerd need it)"
mkdir -p "$CACHE"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "testbed-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  # No package starts a service: the test bed runs its own engines and Open vSwitch daemons (a system
  # ovs-vswitchd cannot start here anyway without the kernel's openvswitch module).
  added_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
  fi
  rc=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed"
fi
# The Debian docker.io package enables a system dockerd; the test bed runs its own engines in namespaces, and a
# dockerd in the host namespace would set FORWARD to DROP, so keep the system one stopped.
if command -v systemctl >/dev/null && systemctl is-active -q docker 2>/dev/null; then
  systemctl stop docker docker.socket >/dev/null 2>&1 || true
fi
for b in "${BINARIES[@]}"; do
  command -v "$b" >/dev/null || die "$b is missing after installing packages"
done

if [ ! -x "$CONSUL_BIN" ]; then
  echo "testbed-deps: building the Consul agent $CONSUL_VERSION from the Go module proxy (3-4 minutes, once)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cat > "$work/go.mod" <<MOD
module consulwrap

go 1.22

require github.com/hashicorp/consul v$CONSUL_VERSION

exclude (
	github.com/hashicorp/go-msgpack v1.1.5
	github.com/hashicorp/go-msgpack v1.1.6
)
MOD
  printf 'package main\n\nimport _ "github.com/hashicorp/consul"\n' > "$work/main.go"
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 && go build -o "$CONSUL_BIN.tmp" github.com/hashicorp/consul) \
    || die "building consul failed"
  mv "$CONSUL_BIN.tmp" "$CONSUL_BIN"
fi
"$CONSUL_BIN" version >/dev/null || die "$CONSUL_BIN does not run"

if [ ! -s "$BUSYBOX_TAR" ]; then
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev"
  chmod 1777 "$root/tmp"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for a in $("$root/bin/busybox" --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >> "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  tar -C "$root" -cf "$BUSYBOX_TAR.tmp" . && mv "$BUSYBOX_TAR.tmp" "$BUSYBOX_TAR"
  rm -rf "$root"
fi
