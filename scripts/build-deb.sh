#!/usr/bin/env bash
# Build the Debian package of ocpp-station (target/debian/*.deb) with cargo-deb.
#
#   scripts/build-deb.sh --target aarch64-unknown-linux-musl   # Raspberry Pi, 64-bit OS (arm64):
#                                                              # what the stations run
#   scripts/build-deb.sh --target x86_64-unknown-linux-musl    # the same static build, amd64
#   scripts/build-deb.sh                                       # this machine, linked against its glibc
#   scripts/build-deb.sh --target aarch64-unknown-linux-gnu    # arm64, linked against glibc
#   scripts/build-deb.sh --target armv7-unknown-linux-gnueabihf  # Raspberry Pi, 32-bit OS (armhf)
#   scripts/build-deb.sh --quick                               # unoptimised, for checking the layout
#   scripts/build-deb.sh --check --target TRIPLE               # only: can this machine build it?
#
# The musl targets give one statically linked binary: no dependency on the Pi's C library, and
# about 1.6 MiB less resident memory (docs/performance.md). Cross and musl builds need the
# target's compiler and Rust standard library; see docs/provisioning.md.
# Prints the path of the package on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

target=""
quick=0
check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --target)
      [ $# -ge 2 ] || { echo "--target needs a value" >&2; exit 2; }
      target="$2"
      shift 2
      ;;
    --target=*)
      target="${1#--target=}"
      shift
      ;;
    --quick)
      quick=1
      shift
      ;;
    --check)
      check=1
      shift
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *)
      echo "unknown argument: $1 (see --help)" >&2
      exit 2
      ;;
  esac
done

# What the target needs on this machine: its C compiler (and linker) and Rust standard library.
if [ -n "$target" ]; then
  case "$target" in
    aarch64-unknown-linux-gnu | aarch64-unknown-linux-musl)
      tool=aarch64-linux-gnu-gcc package=gcc-aarch64-linux-gnu ;;
    # ring's C code is compiled with musl-gcc (Debian's musl-tools).
    x86_64-unknown-linux-musl) tool=musl-gcc package=musl-tools ;;
    armv7-unknown-linux-gnueabihf) tool=arm-linux-gnueabihf-gcc package=gcc-arm-linux-gnueabihf ;;
    *) tool="" package="" ;;
  esac
  if [ -n "$tool" ] && ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool is missing: apt-get install $package (see docs/provisioning.md)" >&2
    exit 1
  fi
  installed_targets=$(rustup target list --installed 2>/dev/null || true)
  if command -v rustup >/dev/null 2>&1 && ! grep -qx "$target" <<<"$installed_targets"; then
    echo "the Rust standard library for $target is missing: rustup target add $target" >&2
    exit 1
  fi
fi
if [ "$check" -eq 1 ]; then
  exit 0
fi

# cargo-deb from crates.io, with its own lock file; once installed it stays in ~/.cargo/bin.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "installing cargo-deb (cargo install cargo-deb --locked)..." >&2
  cargo install cargo-deb --locked
fi

args=(--locked --package ocpp-station)
if [ "$quick" -eq 1 ]; then
  # Cargo.toml's deb-check profile and light compression: a package in a fraction of the time.
  args+=(--profile deb-check --fast)
fi
if [ -n "$target" ]; then
  # The release profile already strips the binary (strip = true); the host's strip cannot
  # read a foreign binary anyway.
  args+=(--target "$target" --no-strip)
fi

# cargo-deb prints the package's path on stdout, everything else on stderr.
cargo deb "${args[@]}" | tail -n 1
