#!/usr/bin/env bash
# Install the Debian packages the tests need, if they are missing and we are allowed to.
# Tests that need a package that could not be installed skip with a reason saying so.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "note: cannot install ${missing[*]} (not root, no sudo); the tests that need them will skip" >&2
  exit 0
fi
SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo sudo)
echo "installing ${missing[*]}"
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
  || echo "note: apt-get could not install ${missing[*]}; the tests that need them will skip" >&2
