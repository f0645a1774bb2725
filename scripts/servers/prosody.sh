#!/usr/bin/env bash
# Prosody (Debian's prosody), the XMPP server the bot's xmpp input is tested against.
#
#   scripts/servers/prosody.sh install   install the server (idempotent, non-interactive, as root)
#
# The package may start a system instance on every interface; it is stopped and disabled
# here, so the test fixture, which runs a private instance on a free loopback port with
# its own config under the test's temporary directory, controls every running server.
set -euo pipefail

install() {
    if ! command -v prosody >/dev/null || ! command -v prosodyctl >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        # Keep the package's maintainer scripts from starting the system instance at all.
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        apt-get update
        apt-get install -y --no-install-recommends prosody
    fi
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        systemctl disable --now prosody >/dev/null 2>&1 || true
    fi
    # A system instance runs as user prosody; the test's own instances run as root.
    if pgrep -u prosody -x lua5.4 >/dev/null || pgrep -u prosody -f /usr/bin/prosody >/dev/null; then
        /etc/init.d/prosody stop >/dev/null 2>&1 || true
    fi
    echo "prosody: $(dpkg-query -W -f='${Version}' prosody) installed, system instance stopped"
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
