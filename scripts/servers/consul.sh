#!/usr/bin/env bash
# Consul (Debian bullseye's consul 1.8.7) for the micro-registry-consul real-server tests.
#
#   scripts/servers/consul.sh install   install the agent binary (idempotent, non-interactive, as root)
#
# The current release no longer ships consul, so the machine's own Debian archive stanza is
# copied with "Suites: bullseye" for the one install and removed again, leaving apt as it was.
# The test fixtures start their own dev agents on free loopback ports.
set -euo pipefail

SOURCES=/etc/apt/sources.list.d/bullseye.sources

# The first deb822 stanza whose URIs point at the main Debian archive (not -security),
# with its Suites line replaced by bullseye.
bullseye_stanza() {
    local file
    for file in /etc/apt/sources.list.d/*.sources; do
        [ "$file" = "$SOURCES" ] && continue
        awk -v RS= '
            /URIs:[^\n]*\/debian\/?(\n|$)/ && !done {
                gsub(/Suites:[^\n]*/, "Suites: bullseye"); print; done = 1
            }' "$file"
    done | awk -v RS= 'NR == 1'
}

install() {
    if command -v consul >/dev/null; then
        echo "consul: $(consul version | head -n 1) already installed"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    local stanza
    stanza="$(bullseye_stanza)"
    if [ -z "$stanza" ]; then
        echo "consul.sh: no Debian archive stanza found in /etc/apt/sources.list.d/*.sources" >&2
        exit 1
    fi
    trap 'rm -f "$SOURCES"; apt-get update >/dev/null || true' EXIT
    printf '%s\n' "$stanza" > "$SOURCES"
    apt-get update
    apt-get install -y --no-install-recommends consul
    rm -f "$SOURCES"
    trap - EXIT
    apt-get update
    echo "consul: $(consul version | head -n 1) installed"
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
