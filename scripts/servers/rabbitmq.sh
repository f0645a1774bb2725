#!/usr/bin/env bash
# RabbitMQ (Debian's rabbitmq-server) for the micro-broker-rabbitmq real-server tests.
#
#   scripts/servers/rabbitmq.sh install   install the server (idempotent, non-interactive, as root)
#
# The package starts a system node on 0.0.0.0:5672; it is stopped and disabled here so
# the test fixtures, which start their own nodes on free loopback ports, control every node.
set -euo pipefail

install() {
    if ! command -v rabbitmq-server >/dev/null || ! command -v rabbitmqctl >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        # Keep the package's maintainer scripts from starting the system node at all.
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        apt-get update
        apt-get install -y --no-install-recommends rabbitmq-server
    fi
    # Whatever started it (systemd, an earlier install), the system node must not run.
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
    fi
    # (Asking the init script about a node that is not running would start an epmd daemon.)
    if pgrep -u rabbitmq -f beam.smp >/dev/null && [ -f /etc/init.d/rabbitmq-server ]; then
        /etc/init.d/rabbitmq-server stop >/dev/null 2>&1 || true
    fi
    echo "rabbitmq-server: $(dpkg-query -W -f='${Version}' rabbitmq-server) installed, system node stopped"
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
