#!/usr/bin/env bash
# Installs what building and testing Shale needs on Debian 12, if missing:
# ISA-L, SQLite and pkg-config for the build; Python with pytest, boto3,
# cryptography, awscrt and the AWS CLI, rclone and s3cmd, faketime (a node
# with a skewed clock in the fault campaign), zsh and fish (to parse the
# completion scripts), requests (browser-style form uploads), pyarrow,
# polars and pyiceberg for the integration tests, helm-python-sdk and
# kubernetes-validate for the Helm chart's checks, and Chromium with its
# driver and Selenium for the console's browser test.
set -euo pipefail

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then $sudo apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

packages=(libisal-dev libsqlite3-dev pkg-config python3 rclone s3cmd faketime zsh fish)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt_install "${missing[@]}"
fi

if ! python3 -c 'import pytest, boto3, cryptography, awscrt, requests' >/dev/null 2>&1 || ! command -v aws >/dev/null 2>&1; then
  # awscrt gives botocore its CRC32C and CRC64NVME checksums (botocore[crt]).
  echo "installing the test clients: pytest, boto3 (with awscrt), cryptography, requests, awscli"
  if ! python3 -m pip install --quiet pytest boto3 awscrt cryptography requests awscli 2>/dev/null; then
    # Debian's own Python refuses pip installs system-wide (PEP 668): use its packages.
    apt_install python3-pytest python3-boto3 python3-awscrt python3-cryptography python3-requests awscli
  fi
fi

if ! python3 -c 'import pyarrow, polars, pyiceberg' >/dev/null 2>&1; then
  # The lakehouse's own clients, for Tests/integration/test_clients.py.
  echo "installing the lakehouse clients: pyarrow, polars, pyiceberg"
  python3 -m pip install --quiet pyarrow polars "pyiceberg[pyarrow,sql-sqlite]" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages pyarrow polars "pyiceberg[pyarrow,sql-sqlite]"
fi

if ! python3 -c 'import helm_python, kubernetes_validate, yaml' >/dev/null 2>&1; then
  # The Helm chart's checks without a cluster (Tests/integration/test_helm_chart.py): Helm's own library
  # (render, lint) and the Kubernetes schemas.
  echo "installing the chart checkers: helm-python-sdk, kubernetes-validate"
  python3 -m pip install --quiet helm-python-sdk kubernetes-validate pyyaml 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages helm-python-sdk kubernetes-validate pyyaml
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  # The console's browser test (Tests/integration/test_console.py): headless Chromium driven by Selenium.
  # Not fatal: without it that test is skipped with the reason printed.
  echo "installing the browser for the console test: chromium, chromium-driver"
  apt_install chromium chromium-driver || echo "warning: chromium could not be installed; the console's browser test will be skipped" >&2
fi
if ! python3 -c 'import selenium' >/dev/null 2>&1; then
  echo "installing selenium"
  python3 -m pip install --quiet selenium 2>/dev/null || python3 -m pip install --quiet --break-system-packages selenium \
    || echo "warning: selenium could not be installed; the console's browser test will be skipped" >&2
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "error: the Swift toolchain (6.2 or later) is not on PATH" >&2
  exit 1
fi
