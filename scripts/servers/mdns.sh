#!/bin/sh
# mDNS registry tests: python-zeroconf comes from pip; the two-host test needs `ip` (iproute2).
set -eu
case "${1:-}" in
  install)
    command -v ip >/dev/null 2>&1 || {
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iproute2
    }
    ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
