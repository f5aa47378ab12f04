#!/usr/bin/env bash
# Installs what the test suite needs from Debian when run as root and missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
# the console tests run real full-screen programs over SSH
command -v less >/dev/null 2>&1 || need+=(less)
command -v top >/dev/null 2>&1 || need+=(procps)
command -v vim >/dev/null 2>&1 || command -v vim.tiny >/dev/null 2>&1 || need+=(vim-tiny)
# invoice PDFs print any name in DejaVu Sans (without it: Helvetica, Latin-1 only)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing system packages: ${need[*]} (install them, or run as root)" >&2
    exit 1
  fi
fi
