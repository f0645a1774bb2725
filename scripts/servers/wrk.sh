#!/usr/bin/env bash
# wrk, the HTTP load generator of the gateway's and the web proxy's benchmarks (Debian's wrk 4.x),
# and the gateway's test extras (schemathesis) in the project's venv.
#
#   scripts/servers/wrk.sh install   install both (idempotent, non-interactive, as root)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-$HERE/../../.venv/bin/python}"

install() {
    if command -v wrk >/dev/null 2>&1; then
        echo "wrk: $(command -v wrk) already installed"
    else
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends wrk
    fi
    if [ -x "$PYTHON" ] && [ -d "$HERE/../../components/api" ]; then
        "$PYTHON" -m pip install -q -e "$HERE/../../components/api[test]"
        echo "micro-api test extras: schemathesis $("$PYTHON" -m pip show schemathesis | sed -n 's/^Version: //p')"
    fi
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
