#!/usr/bin/env bash
# One entry point for a fresh Debian/Ubuntu machine:
#   ./run.sh demo    set everything up, seed a demo database, open the workstation
#   ./run.sh test    set everything up (system packages for the system tests too), run all tests
#   ./run.sh setup   only set up (system packages for the app, .venv, locked dependencies)
# System packages are installed when run as root (or with sudo); otherwise the script says
# exactly which are missing and stops.
set -euo pipefail
cd "$(dirname "$0")"

APP_DEBS=(python3 python3-venv python3-dev gcc libpcsclite-dev libpcsclite1 fonts-arphic-uming)
TEST_DEBS=(pcscd vsmartcard-vpcd cups printer-driver-cups-pdf postgresql poppler-utils tmux
           openssh-server openssh-client)

say() { printf '%s\n' "$*" >&2; }

missing_debs() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || printf '%s ' "$pkg"
  done
}

install_debs() {
  local missing
  missing=$(missing_debs "$@")
  [ -z "$missing" ] && return 0
  if ! command -v apt-get >/dev/null; then
    say "clerk needs these Debian/Ubuntu packages: $missing (no apt-get on this machine)"
    exit 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      say "clerk needs these system packages, which are not installed:"
      say "  $missing"
      say "Install them as root:  apt-get install -y $missing   (or run this script with sudo)"
      exit 1
    fi
  fi
  say "installing system packages: $missing"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
    >/dev/null
}

setup_python() {
  local py=${PYTHON:-python3}
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    say "clerk needs Python 3.11 or newer ($py is $("$py" -V 2>&1))"
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
  fi
  local stamp=.venv/.clerk-lock-stamp want
  want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python dependencies from requirements.lock"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes \
      -r requirements.lock
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps \
      -e .
    echo "$want" > "$stamp"
  fi
}

cmd=${1:-demo}
shift || true
case "$cmd" in
  setup)
    install_debs "${APP_DEBS[@]}"
    setup_python
    ;;
  demo)
    install_debs "${APP_DEBS[@]}"
    setup_python
    exec .venv/bin/clerk demo "$@"
    ;;
  test)
    install_debs "${APP_DEBS[@]}" "${TEST_DEBS[@]}"
    setup_python
    .venv/bin/ruff check clerk tests bench migrations
    .venv/bin/ruff format --check clerk tests bench
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    say "usage: ./run.sh demo|test|setup [args…]"
    exit 2
    ;;
esac
