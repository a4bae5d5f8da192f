# shellcheck shell=bash
# tests/lib/cluster.sh: helpers for shell tests that start a bundled cluster.
#
#   wait_cluster_settled DRILLRIG DIR SECONDS
#       bounded poll (every 0.2 s) until `drillrig cluster status` of DIR
#       says "Fully replicated" with no member unreachable; 0 when it did
#       within SECONDS, 1 otherwise.  A cluster just up is still catching
#       its members up, and a drill's steady state wants a settled one.

wait_cluster_settled() {
	local drillrig=$1 dir=$2 seconds=$3 status i
	for ((i = 0; i < seconds * 5; i++)); do
		status=$("$drillrig" cluster status --cluster "$dir" 2>/dev/null) || status=
		if grep -q 'Fully replicated' <<<"$status" && ! grep -q ' unreachable ' <<<"$status"; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}
