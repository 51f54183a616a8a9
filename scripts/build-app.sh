#!/usr/bin/env bash
# Builds the web app into dist/ without trunk: cargo (wasm32) -> wasm-bindgen -> wasm-opt
# (release only) -> copy public/ and ECharts -> dist/index.html from app/index.html.
# Idempotent; safe to re-run while a server serves dist/ (it is replaced in one move).
#
#   scripts/build-app.sh            debug build (fast to compile, large wasm)
#   scripts/build-app.sh --release  `wasm-release` profile + wasm-opt -Oz
#   --cpu-only                       without WebGPU (the in-browser forecast runs on the wasm
#                                    CPU path): about 40 % less to compile
#   --no-wasm-opt                    skip wasm-opt (minutes on one core; the bundle is larger)
#
# scripts/run.sh serves a `--release --cpu-only --no-wasm-opt` bundle first and swaps in the full
# `--release` one once it is built.
#
# Needs what scripts/setup.sh installs: the wasm32 target, wasm-bindgen-cli at the
# Cargo.lock version, and node/npm (echarts, binaryen).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS

release=0
cpu_only=0
wasm_opt_wanted=1
for a in "$@"; do
  case "$a" in
    --release) release=1 ;;
    --cpu-only) cpu_only=1 ;;
    --no-wasm-opt) wasm_opt_wanted=0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build-app.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "build-app.sh: $*" >&2; exit 1; }

# npm packages: install when missing or when package-lock.json changed since the last install
# (the same stamp scripts/setup.sh uses).
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.kxian-lock; then
  command -v npm >/dev/null || die "npm is missing: run scripts/setup.sh"
  step "installing npm packages (echarts, binaryen)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.kxian-lock
fi
echarts_js=node_modules/echarts/dist/echarts.min.js
[ -f "$echarts_js" ] || die "$echarts_js is missing: run npm ci"

wbg_want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
wbg_have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
[ "$wbg_have" = "$wbg_want" ] ||
  die "wasm-bindgen $wbg_want is required (found '${wbg_have:-none}'): run scripts/setup.sh"

if [ "$release" = 1 ]; then
  profile=wasm-release
  cargo_profile=(--profile wasm-release)
else
  profile=debug
  cargo_profile=()
fi

features=()
what=$profile
if [ "$cpu_only" = 1 ]; then
  features=(--no-default-features)
  what="$profile, CPU only: no WebGPU"
fi

step "building kxian-app for wasm32 ($what)"
cargo build --locked -p kxian-app --bin kxian-app --target wasm32-unknown-unknown \
  "${cargo_profile[@]}" "${features[@]}"
wasm_in=target/wasm32-unknown-unknown/$profile/kxian-app.wasm
[ -f "$wasm_in" ] || die "cargo produced no $wasm_in"

stage=target/app-dist.tmp
rm -rf "$stage"
mkdir -p "$stage"

# wasm-bindgen and wasm-opt take minutes on a release bundle: their output is kept per input
# wasm (and whether wasm-opt ran), so run.sh's second start, or a rebuild that changed nothing,
# reuses it.
opt=0
if [ "$release" = 1 ] && [ "$wasm_opt_wanted" = 1 ]; then opt=1; fi
key=$(sha256sum "$wasm_in" | cut -c1-16)-opt$opt
cache=target/app-bindgen-cache/$key
if [ -f "$cache/kxian_app_bg.wasm" ] && [ -f "$cache/kxian_app.js" ]; then
  step "wasm-bindgen and wasm-opt: unchanged input, reusing $cache"
  cp "$cache/kxian_app_bg.wasm" "$cache/kxian_app.js" "$stage/"
else
  step "wasm-bindgen"
  wasm-bindgen --target web --no-typescript --out-dir "$stage" --out-name kxian_app "$wasm_in"
  wasm_out=$stage/kxian_app_bg.wasm
  if [ "$opt" = 1 ]; then
    wasm_opt=node_modules/.bin/wasm-opt
    if [ -x "$wasm_opt" ]; then
      step "wasm-opt -Oz"
      # The features rustc enables by default for wasm32-unknown-unknown.
      "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-reference-types --enable-multivalue --enable-mutable-globals --enable-simd \
        "$wasm_out" -o "$wasm_out.opt"
      mv "$wasm_out.opt" "$wasm_out"
    else
      echo "wasm-opt not found at $wasm_opt; skipping (the app works, the wasm is larger)"
      opt=none
    fi
  fi
  if [ "$opt" != none ]; then
    # Keep the two newest entries: run.sh's CPU-only and full bundles.
    mkdir -p "$cache.tmp"
    cp "$stage/kxian_app_bg.wasm" "$stage/kxian_app.js" "$cache.tmp/"
    rm -rf "$cache" && mv "$cache.tmp" "$cache"
    ls -1dt target/app-bindgen-cache/*/ | tail -n +3 | xargs -r rm -rf
  fi
fi

step "assembling dist/"
cp -R public/. "$stage/"
# Models are served by the API (hash-addressed, cacheable), not as static files.
rm -rf "$stage/models"
cp "$echarts_js" "$stage/echarts.min.js"
# index.html: the data-trunk links become plain tags plus the module loader.
node - app/index.html "$stage/index.html" <<'JS'
const fs = require('fs');
const [src, dst] = process.argv.slice(2);
let html = fs.readFileSync(src, 'utf8');
let found = { rust: false, css: false };
html = html.replace(/[ \t]*<link\s+data-trunk\b[^>]*>[ \t]*\r?\n?/g, (tag) => {
  const attr = (name) => (tag.match(new RegExp(`\\b${name}="([^"]*)"`)) || [])[1];
  const indent = tag.match(/^[ \t]*/)[0];
  switch (attr('rel')) {
    case 'rust':
      found.rust = true;
      return `${indent}<link rel="modulepreload" href="/kxian_app.js" />\n` +
        `${indent}<link rel="preload" href="/kxian_app_bg.wasm" as="fetch" type="application/wasm" crossorigin />\n` +
        `${indent}<script type="module" src="/boot.js"></script>\n`;
    case 'css':
      found.css = true;
      return `${indent}<link rel="stylesheet" href="/${attr('href').split('/').pop()}" />\n`;
    default:
      return ''; // copy-file: the file is copied above
  }
});
if (!found.rust) { console.error('app/index.html has no <link data-trunk rel="rust">'); process.exit(1); }
html = html.replace(/[ \t]*<!-- Trunk \(development\)[\s\S]*?-->\r?\n/, '');
fs.writeFileSync(dst, html);
// The loader is a file, not an inline script: the server's CSP allows no inline script.
fs.writeFileSync(require('path').join(require('path').dirname(dst), 'boot.js'),
  "import init from '/kxian_app.js';\ninit({ module_or_path: '/kxian_app_bg.wasm' });\n");
JS

# Precompressed twins, served by `kxian serve` to browsers that accept gzip.
for f in kxian_app_bg.wasm kxian_app.js echarts.min.js style.css; do
  gzip -9 -n -c "$stage/$f" > "$stage/$f.gz"
done

rm -rf dist.old
[ -d dist ] && mv dist dist.old
mv "$stage" dist
rm -rf dist.old

raw=$(wc -c < dist/kxian_app_bg.wasm)
gz=$(wc -c < dist/kxian_app_bg.wasm.gz)
js=$(wc -c < dist/kxian_app.js)
step "dist/ ready in $((SECONDS - t0)) s ($what)"
awk -v r="$raw" -v g="$gz" -v j="$js" 'BEGIN {
  printf "    kxian_app_bg.wasm  %9d bytes (%.2f MiB), gzip -9 %9d bytes (%.2f MiB)\n", r, r/1048576, g, g/1048576;
  printf "    kxian_app.js       %9d bytes\n", j }'
