#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real, only when missing.
# Usage: system-deps.sh [package ...]  (no arguments: the suite's default list)
set -euo pipefail

# package -> a file that proves it is installed
declare -A PROVIDES=(
  [python3-venv]=/usr/lib/python3/dist-packages/venv
  [prometheus]=/usr/bin/promtool
  [prometheus-alertmanager]=/usr/bin/prometheus-alertmanager
  [chromium]=/usr/bin/chromium
  [nodejs]=/usr/bin/node
  [npm]=/usr/bin/npm
  [systemd]=/usr/bin/systemd-analyze
)
# promtool checks the alert rules; a real Alertmanager receives health alerts; headless
# Chromium runs the dashboard's and the browser tracker's browser tests; Node and npm
# test and build the browser tracker (clients/js); systemd-analyze verifies the one-server
# unit (deploy/systemd).
DEFAULT=(prometheus prometheus-alertmanager chromium nodejs npm systemd)

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${DEFAULT[@]}")
missing=()
for package in "${wanted[@]}"; do
  [ -e "${PROVIDES[$package]:-/nonexistent}" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "missing system packages (${missing[*]}) and no apt-get to install them" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
