#!/usr/bin/env bash
# Installs the real servers the test suite runs against: FerretDB (MongoDB wire protocol, SQLite
# handler), fake-gcs-server (Google Cloud Storage emulator), versitygw (an S3 gateway that
# verifies SigV4 signatures, presigned URLs included), Mailpit (an SMTP server whose HTTP API
# lists the mails it received) and toxiproxy-server (the fault proxy of the several-instances and
# fault suites). Idempotent: a server already at
# the wanted version is left alone. Binaries go to $KINBASE_TOOLS_DIR (default: `go env GOPATH`/bin).
set -euo pipefail

FERRETDB_VERSION=v1.24.2
FAKE_GCS_VERSION=v1.55.1
MAILPIT_VERSION=v1.33.1
POCKETBASE_VERSION=v0.36.8
VERSITYGW_VERSION=v1.8.0
TOXIPROXY_VERSION=v2.5.0

command -v go >/dev/null || { echo "install-test-servers: Go is required (https://go.dev/dl), then rerun" >&2; exit 1; }
tools_dir=${KINBASE_TOOLS_DIR:-$(go env GOPATH)/bin}
mkdir -p "$tools_dir"

if ! "$tools_dir/fake-gcs-server" -help >/dev/null 2>&1; then
  echo "install-test-servers: building fake-gcs-server $FAKE_GCS_VERSION" >&2
  GOBIN="$tools_dir" go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"
fi

# A `go install`ed mailpit reports its version as "dev"; the module version is in the binary's build info.
mailpit_version=$(go version -m "$tools_dir/mailpit" 2>/dev/null || true)
if [[ "$mailpit_version" != *"github.com/axllent/mailpit"*"$MAILPIT_VERSION"* ]]; then
  echo "install-test-servers: building mailpit $MAILPIT_VERSION" >&2
  GOBIN="$tools_dir" go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
fi

# `versitygw --version` says "git" when built by go install, so the module version is read from the binary.
versitygw_version=$(go version -m "$tools_dir/versitygw" 2>/dev/null || true)
if [[ "$versitygw_version" != *"github.com/versity/versitygw"*"$VERSITYGW_VERSION"* ]]; then
  echo "install-test-servers: building versitygw $VERSITYGW_VERSION" >&2
  GOBIN="$tools_dir" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi

toxiproxy_version=$("$tools_dir/toxiproxy-server" -version 2>/dev/null || true)
if [[ "$toxiproxy_version" != *"${TOXIPROXY_VERSION#v}"* ]]; then
  echo "install-test-servers: building toxiproxy-server $TOXIPROXY_VERSION" >&2
  work_toxi=$(mktemp -d)
  # Built inside a scratch module so the version is pinned by go.mod; the version string is set
  # as toxiproxy's own release build sets it, so the check above finds it next time.
  (cd "$work_toxi" && go mod init toxi >/dev/null \
    && go get "github.com/Shopify/toxiproxy/v2@$TOXIPROXY_VERSION" \
    && go build -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION#v}" \
      -o "$tools_dir/toxiproxy-server" github.com/Shopify/toxiproxy/v2/cmd/server)
  rm -rf "$work_toxi"
fi

# The version is read into a variable first: piping into `grep -q` under pipefail fails with 141
# whenever grep closes the pipe before ferretdb has finished writing, which rebuilt a present server.
ferretdb_version=$("$tools_dir/ferretdb" --version 2>/dev/null || true)
if [[ "$ferretdb_version" != *"version: $FERRETDB_VERSION"* ]]; then
  echo "install-test-servers: building ferretdb $FERRETDB_VERSION" >&2
  # `go install .../ferretdb@v1.24.2` does not work: the proxy refuses the module's version list
  # (the deprecation check), and a build from the module zip panics because FerretDB requires
  # build/version/version.txt, a generated file the zip lacks. So: download the module, copy it
  # to a writable tree, write the version file as FerretDB's own `task gen-version` would, build.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  src=$(cd "$work" && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -n "$src" ] || { echo "install-test-servers: could not download FerretDB $FERRETDB_VERSION" >&2; exit 1; }
  cp -r "$src" "$work/ferretdb"
  chmod -R u+w "$work/ferretdb"
  echo "$FERRETDB_VERSION" > "$work/ferretdb/build/version/version.txt"
  (cd "$work/ferretdb" && go build -buildvcs=false -o "$tools_dir/ferretdb" ./cmd/ferretdb)
fi

# PocketBase, for the benches only (kinbase's figures beside a Go server's on the same machine), so
# only with --bench: the tests never need it. Its --version says "(untracked)" when built this way,
# so a marker file records the version.
if [[ "${1:-}" == "--bench" ]] && [[ ! -x "$tools_dir/pocketbase" || "$(cat "$tools_dir/.pocketbase-version" 2>/dev/null)" != "$POCKETBASE_VERSION" ]]; then
  echo "install-test-servers: building pocketbase $POCKETBASE_VERSION" >&2
  GOBIN="$tools_dir" go install "github.com/pocketbase/pocketbase/examples/base@$POCKETBASE_VERSION"
  mv "$tools_dir/base" "$tools_dir/pocketbase"
  echo "$POCKETBASE_VERSION" > "$tools_dir/.pocketbase-version"
fi

echo "$tools_dir"
