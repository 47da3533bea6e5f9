#!/usr/bin/env bash
# Installs Debian's Chromium for the demo page's end-to-end test (playwright-core drives it; it
# never downloads a browser of its own). Needs root or passwordless sudo and the Debian mirror.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then echo "chromium: already installed"; exit 0; fi
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_cmd="sudo"; else echo "chromium: not root and no sudo; cannot install" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -q >/dev/null || true
$sudo_cmd apt-get install -y -q --no-install-recommends chromium >/dev/null
echo "chromium: installed $(/usr/bin/chromium --version 2>/dev/null || true)"
