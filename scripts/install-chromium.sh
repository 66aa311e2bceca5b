#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests (playwright-core drives it; it never
# downloads a browser of its own). Does nothing when /usr/bin/chromium (or $KINBASE_CHROMIUM) exists.
set -euo pipefail
browser="${KINBASE_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  echo "chromium: $("$browser" --version 2>/dev/null | head -1)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium: $("$browser" --version 2>/dev/null | head -1)"
