#!/usr/bin/env bash
# What the tests need beyond .venv, installed if missing and if we are allowed to:
#  - Debian packages: chromium + chromium-driver (the report in a browser), openssh-server
#    (the SSH remote on 127.0.0.1), g++-aarch64-linux-gnu + qemu-user (the ARM64 bundles,
#    cross-built and run under emulation);
#  - .venv-moto: moto's S3 server in its own venv (moto[server] wants a newer botocore than
#    dvc-s3 accepts, so it cannot share .venv).
# A test whose tool could not be installed skips and says why.
set -uo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; else SUDO=none; fi
  if [ "$SUDO" = none ]; then
    echo "note: cannot install ${missing[*]} (not root, no sudo); the tests that need them will skip" >&2
  else
    echo "installing ${missing[*]}"
    $SUDO apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
      || echo "note: apt-get could not install ${missing[*]}; the tests that need them will skip" >&2
  fi
fi
if [ ! -x .venv-moto/bin/moto_server ]; then
  echo "installing moto[server] into .venv-moto"
  log=$(mktemp)
  { python3 -m venv .venv-moto && .venv-moto/bin/python -m pip install --quiet 'moto[server]>=5,<6'; } 2>"$log" \
    || echo "note: could not install moto[server] (see $log); the S3 remote test will skip" >&2
fi
exit 0
