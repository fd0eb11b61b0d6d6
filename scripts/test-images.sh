#!/usr/bin/env bash
# Builds the container images the capture tests run, all FROM scratch, and prints their names.
# Each image is tagged with a hash of everything it is built from, so an unchanged image is
# never built twice; every name starts with mcp-audit-capture-test.
#
#   scripts/test-images.sh test-server   the project's own test MCP server (a static binary and
#                                        its scenario files); prints the image name
#   scripts/test-images.sh npm-servers   real MCP servers from the npm registry, pinned in
#                                        fixtures/npm-servers, each run by this machine's own
#                                        `node` and the libraries it links; pushed to the
#                                        loopback registry; prints `NAME<TAB>IMAGE<TAB>ENTRY`
#                                        lines, ENTRY being the server's script on this machine;
#                                        the install directory also holds probe.mjs, the
#                                        independent client the tests compare captures with
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/mcp-audit-capture-test
registry=${MCP_AUDIT_TEST_REGISTRY:-127.0.0.1:5000}
mkdir -p "$work"

say() { printf 'test-images: %s\n' "$*" >&2; }

# A short hash of files' contents and of any extra text given on stdin.
content_hash() {
  { cat "$@"; cat; } | sha256sum | cut -c1-16
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

test_server() {
  local sources=(scripts/test-images.sh fixtures/test-server/Cargo.toml fixtures/test-server/Cargo.lock)
  mapfile -t -O ${#sources[@]} sources < <(find fixtures/test-server/src fixtures/test-server/scenarios -type f | sort)
  local tag
  # In the loopback registry: `scan` runs only images its registry stage resolved and verified.
  tag=$registry/mcp-audit-capture-test/server:$(content_hash "${sources[@]}" </dev/null)
  if have_image "$tag"; then
    docker push --quiet "$tag" >/dev/null
    echo "$tag"
    return
  fi
  say "building $tag"
  # Static, so the image needs nothing but the binary: glibc's static build works with any
  # Rust toolchain that has the host target, unlike musl, which needs its own target installed.
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --locked \
    --manifest-path fixtures/test-server/Cargo.toml \
    --target x86_64-unknown-linux-gnu --target-dir "$root/target/test-server" >&2
  local context=$work/server-context
  rm -rf "$context"
  mkdir -p "$context"
  cp "$root/target/test-server/x86_64-unknown-linux-gnu/debug/mcp-test-server" "$context/"
  cp -r fixtures/test-server/scenarios "$context/"
  cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY mcp-test-server /mcp-test-server
COPY scenarios /scenarios
ENTRYPOINT ["/mcp-test-server"]
DOCKERFILE
  docker build --quiet --tag "$tag" "$context" >/dev/null
  docker push --quiet "$tag" >/dev/null
  echo "$tag"
}

# Copy a program and every library `ldd` says it loads (with the loader) under $2.
copy_with_libraries() {
  local program=$1 rootfs=$2
  mkdir -p "$rootfs$(dirname "$program")"
  cp -L "$program" "$rootfs$program"
  ldd "$program" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}

npm_servers() {
  local node
  node=$(command -v node)
  local hash
  # ldd prints load addresses, which change at every run; only the library paths count.
  hash=$( (sha256sum "$node"; ldd "$node" | sed 's/ (0x[0-9a-f]*)//') | content_hash scripts/test-images.sh \
    fixtures/npm-servers/package.json fixtures/npm-servers/package-lock.json fixtures/npm-servers/servers.tsv)
  local dir=$work/npm-$hash
  if [ ! -d "$dir/node_modules" ]; then
    say "installing the npm servers into $dir"
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    cp fixtures/npm-servers/package.json fixtures/npm-servers/package-lock.json "$dir.partial/"
    (cd "$dir.partial" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  # The probe imports the SDK from the install directory, so it runs from there.
  cp fixtures/npm-servers/probe.mjs "$dir/"
  local base=mcp-audit-capture-test/node:$hash
  if ! have_image "$base"; then
    say "building $base"
    local context=$work/node-context
    rm -rf "$context"
    mkdir -p "$context/rootfs/app" "$context/rootfs/tmp"
    copy_with_libraries "$node" "$context/rootfs"
    cp -r "$dir/node_modules" "$context/rootfs/app/"
    printf 'FROM scratch\nCOPY rootfs/ /\nWORKDIR /app\n' >"$context/Dockerfile"
    docker build --quiet --tag "$base" "$context" >/dev/null
    rm -rf "$context"
  fi
  while IFS=$'\t' read -r name entry; do
    [ -n "$name" ] && [ "${name:0:1}" != "#" ] || continue
    local image=$registry/mcp-audit-capture-test/$name:$hash
    if ! have_image "$image"; then
      local context=$work/$name-context
      rm -rf "$context"
      mkdir -p "$context"
      printf 'FROM %s\nENTRYPOINT ["%s", "/app/%s"]\n' "$base" "$node" "$entry" >"$context/Dockerfile"
      docker build --quiet --tag "$image" "$context" >/dev/null
      docker push --quiet "$image" >/dev/null
      rm -rf "$context"
    fi
    printf '%s\t%s\t%s\n' "$name" "$image" "$dir/$entry"
  done <fixtures/npm-servers/servers.tsv
}

case "${1:-}" in
  test-server) test_server ;;
  npm-servers) npm_servers ;;
  *) echo "usage: $0 test-server|npm-servers" >&2; exit 2 ;;
esac
