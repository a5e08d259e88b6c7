#!/usr/bin/env bash
# Build the Debian package of ocpp-station (target/debian/*.deb) with cargo-deb.
#
#   scripts/build-deb.sh                                       # release package for this machine
#   scripts/build-deb.sh --target aarch64-unknown-linux-gnu    # Raspberry Pi, 64-bit OS (arm64)
#   scripts/build-deb.sh --target armv7-unknown-linux-gnueabihf  # Raspberry Pi, 32-bit OS (armhf)
#   scripts/build-deb.sh --quick                               # unoptimised, for checking the layout
#
# Cross builds need the target's linker and Rust standard library; see docs/provisioning.md.
# Prints the path of the package on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

target=""
quick=0
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

# cargo-deb from crates.io, with its own lock file; once installed it stays in ~/.cargo/bin.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "installing cargo-deb (cargo install cargo-deb --locked)..." >&2
  cargo install cargo-deb --locked
fi

args=(--locked)
if [ "$quick" -eq 1 ]; then
  # Cargo.toml's deb-check profile and light compression: a package in a fraction of the time.
  args+=(--profile deb-check --fast)
fi
if [ -n "$target" ]; then
  case "$target" in
    aarch64-unknown-linux-gnu) linker=aarch64-linux-gnu-gcc package=gcc-aarch64-linux-gnu ;;
    armv7-unknown-linux-gnueabihf) linker=arm-linux-gnueabihf-gcc package=gcc-arm-linux-gnueabihf ;;
    *) linker="" package="" ;;
  esac
  if [ -n "$linker" ] && ! command -v "$linker" >/dev/null 2>&1; then
    echo "$linker is missing: apt-get install $package (see docs/provisioning.md)" >&2
    exit 1
  fi
  if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$target"; then
    echo "the Rust standard library for $target is missing: rustup target add $target" >&2
    exit 1
  fi
  # The release profile already strips the binary (strip = true); the host's strip cannot
  # read a foreign binary anyway.
  args+=(--target "$target" --no-strip)
fi

# cargo-deb prints the package's path on stdout, everything else on stderr.
cargo deb "${args[@]}" | tail -n 1
