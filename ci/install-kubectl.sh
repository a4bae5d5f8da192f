#!/usr/bin/env bash
# Installs kubectl from the Kubernetes project's own apt repository
# (pkgs.k8s.io), pinned to one minor version, never Debian's old package:
# kubectl supports one minor version of skew against the API server.
#
# usage: ci/install-kubectl.sh [MINOR]     e.g. 1.30 (default $KUBECTL_VERSION, else 1.30)
# Runs as root (a CI container) or through sudo.
set -euo pipefail

minor=${1:-${KUBECTL_VERSION:-1.30}}
if ! [[ $minor =~ ^1\.[0-9]+$ ]]; then
	echo "install-kubectl: '$minor' is not a Kubernetes minor version like 1.30" >&2
	exit 2
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends ca-certificates curl gnupg
"${sudo[@]}" install -d -m 0755 /etc/apt/keyrings
curl -fsSL "https://pkgs.k8s.io/core:/stable:/v$minor/deb/Release.key" |
	"${sudo[@]}" gpg --batch --yes --dearmor -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v$minor/deb/ /" |
	"${sudo[@]}" tee /etc/apt/sources.list.d/kubernetes.list >/dev/null
"${sudo[@]}" apt-get update -q
# The repository holds only v$minor.x, so this is the newest patch of it.
"${sudo[@]}" apt-get install -y -q --no-install-recommends kubectl
"${sudo[@]}" apt-mark hold kubectl >/dev/null
kubectl version --client
