#!/usr/bin/env bash
# Node.js 20+ for the sidecar's foreign-app test (components/sidecar/tests/node/app.js).
#
#   scripts/servers/node.sh install   install node if it is missing or older than 20 (idempotent, as root)
#
# The test app is plain node with no package: it uses the built-in fetch and, with
# --experimental-websocket (Node 20.10+; global in 22+), the built-in WebSocket client.
set -euo pipefail

usable() {
    command -v node >/dev/null && node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)'
}

install() {
    if usable; then
        echo "node: $(node --version) already installed"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends nodejs
    usable || { echo "node.sh: the distribution's nodejs is older than 20" >&2; exit 1; }
    echo "node: $(node --version) installed"
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
