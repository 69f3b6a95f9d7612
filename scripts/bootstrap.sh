#!/usr/bin/env bash
# Install everything sendguard needs on a fresh Debian 12 machine (Python >= 3.11):
# Debian packages (Hunspell dictionaries and headers, PostgreSQL, Postfix, Chromium for the
# console's browser tests), then a virtualenv in .venv with sendguard and its extras.
# Safe to run again: installed packages and an up-to-date venv are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(hunspell-en-us hunspell-en-gb libhunspell-dev postgresql postfix chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! python3 -m venv --help >/dev/null 2>&1; then missing+=(python3-venv python3-dev); fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.sendguard-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: installing sendguard into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[postgres,campaign,relay,test,bench]"
    touch "$stamp"
fi
