#!/bin/sh
# Install Debian's Chromium (and chromedriver) for the browser tests (tests/browser/).
# Idempotent: does nothing when /usr/bin/chromium exists. Never use `playwright install`:
# the tests drive this system Chromium through Playwright's `executable_path`.
set -e
if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
else
    SUDO="sudo"
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
/usr/bin/chromium --version
