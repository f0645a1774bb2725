#!/usr/bin/env bash
# Chromium for micro web's browser tests: Debian's chromium and chromium-driver, and the
# Playwright Python package (which drives /usr/bin/chromium through executable_path).
#
#   scripts/servers/chromium.sh install   install both (idempotent, non-interactive, as root)
#
# Never `playwright install`: it downloads a browser build of its own, which fails here.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-$HERE/../../.venv/bin/python}"

install() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present) already installed"
    else
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends chromium chromium-driver
    fi
    if [ -x "$PYTHON" ]; then
        "$PYTHON" -m pip install -q 'playwright>=1.40'
        echo "playwright: $("$PYTHON" -m pip show playwright | sed -n 's/^Version: //p') in $PYTHON"
    fi
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
