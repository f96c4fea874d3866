#!/usr/bin/env bash
# Debian packages the CI needs beyond Node.js: the native toolchain for node-gyp
# (g++, make, python3), cmake for cmake-js and the native tests, the aarch64 cross
# compiler + qemu-user for tools/native-tests.sh, and OpenBLAS, so that the benchmark harness
# test runs the OpenBLAS peer (and its paired timing) rather than reporting it missing.
set -euo pipefail
sudo=
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends \
  cmake make g++ python3 g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libopenblas-dev
