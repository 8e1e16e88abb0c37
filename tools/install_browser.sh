#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the browser tests of the web pages
# (host_tests/test_portal_browser.py). Debian packages; as root; .ci/run calls this.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
apt-get update -qq
apt-get install -y -qq chromium chromium-driver >/dev/null
