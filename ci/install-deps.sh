#!/usr/bin/env bash
# Checks every build and test dependency; installs the missing Debian
# packages when run as root, otherwise prints the one apt-get line and fails.
# `make` runs this before building, so a fresh Debian 12 machine needs
# nothing but `make drill` or `make test`.
set -euo pipefail

# pkg-config module -> Debian package
libraries=(
	"libcurl:libcurl4-openssl-dev"
	"jansson:libjansson-dev"
	"yaml-0.1:libyaml-dev"
	"libpcre2-8:libpcre2-dev"
	"libgit2:libgit2-dev"
	"cmocka:libcmocka-dev"
	"raft:libraft-dev"
	"libuv:libuv1-dev"
	"libmicrohttpd:libmicrohttpd-dev"
	"grpc:libgrpc-dev"
	"libprotobuf-c:libprotobuf-c-dev"
)
# command (or file) -> Debian package (tools the build and the tests use)
tools=(
	"cc:gcc"
	"pkg-config:pkg-config"
	"git:git"
	"xmllint:libxml2-utils"
	"curl:curl"
	"/usr/sbin/lighttpd:lighttpd"
	"shellcheck:shellcheck"
	"promtool:prometheus"
	"valgrind:valgrind"
	"jq:jq"
	"protoc-c:protobuf-c-compiler"
	"protoc:protobuf-compiler"
	"/usr/include/google/protobuf/struct.proto:libprotobuf-dev"
	"/usr/lib/python3/dist-packages/grpc/__init__.py:python3-grpcio"
	"/usr/lib/python3/dist-packages/google/protobuf/__init__.py:python3-protobuf"
	"/usr/lib/python3/dist-packages/grpc_tools/__init__.py:python3-grpc-tools"

	"/usr/sbin/nft:nftables"
	# The real kubectl's parser checks every command line the kubernetes
	# tests ran (tests/support/kubectl_real.c); any kubectl will do, and
	# Debian's 1.20 is the oldest one drillrig's command lines must parse on.
	"kubectl:kubernetes-client"
	"/usr/bin/etcd:etcd-server"
)

missing=()
if ! command -v pkg-config >/dev/null 2>&1; then
	missing+=("pkg-config")
fi
for entry in "${libraries[@]}"; do
	module=${entry%%:*}
	package=${entry#*:}
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$module"; then
		missing+=("$package")
	fi
done
for entry in "${tools[@]}"; do
	tool=${entry%%:*}
	package=${entry#*:}
	# A path is a file the package installs; a name is a command.
	if [[ $tool == /* ]]; then
		[ -e "$tool" ] || missing+=("$package")
	elif ! command -v "$tool" >/dev/null 2>&1; then
		missing+=("$package")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

# Unique, stable order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
	echo "drillrig needs these Debian packages; install them with:" >&2
	echo "  sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "installing missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
