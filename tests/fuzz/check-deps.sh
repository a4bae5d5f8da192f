#!/usr/bin/env bash
# `make fuzz` needs clang and its libFuzzer/sanitizer runtime (Debian:
# clang, libclang-rt-14-dev).  Installs them as root, otherwise prints the
# apt-get line and fails.  Checked by building a one-line fuzzer, since
# clang without the runtime package fails only at link time.
set -euo pipefail

probe_ok() {
	command -v clang >/dev/null 2>&1 || return 1
	local dir
	dir=$(mktemp -d)
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$dir/probe.c"
	if clang -fsanitize=fuzzer,address,undefined -o "$dir/probe" "$dir/probe.c" >/dev/null 2>&1; then
		rm -rf "$dir"
		return 0
	fi
	rm -rf "$dir"
	return 1
}

probe_ok && exit 0
packages=(clang libclang-rt-14-dev)
if [ "$(id -u)" -ne 0 ]; then
	echo "make fuzz needs clang with the libFuzzer runtime; install it with:" >&2
	echo "  sudo apt-get install -y ${packages[*]}" >&2
	exit 1
fi
echo "installing missing packages: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
probe_ok || { echo "clang still cannot link a libFuzzer target" >&2; exit 1; }
