# shellcheck shell=bash
# tests/lib/cluster.sh: helpers for shell tests that start a bundled cluster.
#
#   wait_cluster_settled DRILLRIG DIR SECONDS
#       bounded poll (every 0.2 s) until `drillrig cluster status` of DIR
#       says "Fully replicated" with no member unreachable; 0 when it did
#       within SECONDS, 1 otherwise.  A cluster just up is still catching
#       its members up, and a drill's steady state wants a settled one.
#
#   cluster_node_field DIR ID FIELD
#       a field of node ID in DIR/cluster.json (address, http_address, pid...)
#
#   node_metric HTTP_ADDR NAME
#       the value of metric NAME (its first labelled sample) on a node's
#       /metrics; empty when the node does not export it

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

cluster_node_field() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]+"/cluster.json"))
print([n for n in d["nodes"] if n["id"]==int(sys.argv[2])][0][sys.argv[3]])' "$1" "$2" "$3"
}

node_metric() {
	curl -s --max-time 5 "http://$1/metrics" | awk -v n="$2" 'index($0, n "{") == 1 {print $2}'
}
