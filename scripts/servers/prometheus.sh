#!/usr/bin/env bash
# Prometheus (Debian's prometheus 2.x) for the micro-wrapper-prometheus real-server tests.
#
#   scripts/servers/prometheus.sh install   install the server (idempotent, non-interactive, as root)
#
# The tests start their own instance (private config and data, loopback, free port); a
# system service the package may have started is stopped so it cannot scrape or bind.
set -euo pipefail

install() {
    if ! command -v prometheus >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        apt-get update
        apt-get install -y --no-install-recommends prometheus
    fi
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
    echo "prometheus: $(dpkg-query -W -f='${Version}' prometheus) installed"
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
