/* cluster.json and peers.json: layout of a new cluster, atomic writes, a
 * faithful round trip, and named errors for a damaged file. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "ledger/cluster/cluster_fs.h"
#include "ledger/cluster/cluster_state.h"

static char *make_tmpdir(void)
{
	char tmpl[] = "/dev/shm/drillrig-test-cluster-XXXXXX";
	char tmpl2[] = "/tmp/drillrig-test-cluster-XXXXXX";
	char *d = mkdtemp(tmpl);

	if (!d)
		d = mkdtemp(tmpl2);
	assert_non_null(d);
	return xstrdup(d);
}

static void remove_dir(char *dir)
{
	struct dr_error err = DR_ERROR_INIT;

	assert_int_equal(fs_remove_tree(dir, &err), 0);
	free(dir);
}

static void new_state(struct cluster_state *st, const char *dir)
{
	struct cluster_spec spec;

	cluster_spec_init(&spec);
	cluster_state_from_spec(st, dir, &spec, "/usr/bin/ledgerd", 10, 20);
}

static void test_layout_of_default_cluster(void **state)
{
	struct cluster_state st;

	(void)state;
	new_state(&st, "/x");
	assert_int_equal(st.nnodes, 5);
	assert_int_equal(st.nregions, 3);
	assert_int_equal(st.nodes[0].id, 1);
	assert_string_equal(st.nodes[0].region, "primary");
	assert_string_equal(st.nodes[0].zone, "primary-a");
	assert_string_equal(st.nodes[1].zone, "primary-b");
	assert_string_equal(st.nodes[2].region, "dr");
	assert_string_equal(st.nodes[2].zone, "dr-a");
	assert_int_equal(st.nodes[2].ordinal, 0);
	assert_string_equal(st.nodes[4].region, "witness");
	assert_int_equal(st.nodes[4].role, CLUSTER_ROLE_WITNESS);
	/* each node on its own loopback address of the cluster's network */
	assert_string_equal(st.nodes[0].address, "127.10.20.1:50051");
	assert_string_equal(st.nodes[4].raft_address, "127.10.20.5:7001");
	assert_string_equal(st.nodes[3].data, "/x/n4");
	assert_string_equal(st.nodes[3].log, "/x/n4.log");
	assert_int_equal(st.regions[0].replicas, 2);
	assert_int_equal(strncmp(st.cluster_id, "c-", 2), 0);
	assert_int_equal(strlen(st.cluster_id), 18);
	cluster_state_release(&st);
}

static void test_cluster_json_round_trip(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_state st, back;
	char *dir = make_tmpdir();
	json_t *root = NULL, *n0;
	DIR *d;
	struct dirent *e;
	int files = 0;

	(void)state;
	new_state(&st, dir);
	st.nodes[1].pid = 4242;
	st.nodes[2].fenced = 1;
	st.nodes[3].stopped = 1;
	st.nodes[0].restarts = 3;
	st.regions[0].replicas = 1;
	st.supervisor_pid = 4200;
	assert_int_equal(cluster_state_save(&st, &err), 0);
	/* atomic write: only cluster.json, no temporary left behind */
	d = opendir(dir);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			files++, assert_string_equal(e->d_name, "cluster.json");
	closedir(d);
	assert_int_equal(files, 1);

	/* the documented fields, as other tools read them */
	assert_int_equal(cluster_load(&root, dir, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(root, "supervisor_pid")), 4200);
	n0 = json_array_get(json_object_get(root, "nodes"), 1);
	assert_int_equal(json_integer_value(json_object_get(n0, "id")), 2);
	assert_int_equal(json_integer_value(json_object_get(n0, "pid")), 4242);
	assert_string_equal(json_string_value(json_object_get(n0, "region_role")), "primary");
	assert_string_equal(json_string_value(json_object_get(n0, "zone")), "primary-b");
	assert_string_equal(json_string_value(json_object_get(n0, "address")), "127.10.20.2:50051");
	/* ordinal 1 with replicas 1: scaled down, though still running */
	assert_string_equal(json_string_value(json_object_get(n0, "process")), "stopping");
	assert_true(json_is_string(json_object_get(root, "socket")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "timing"),
							    "election_timeout_ms")), 300);
	json_decref(root);

	assert_int_equal(cluster_state_load(&back, dir, &err), 0);
	assert_string_equal(back.cluster_id, st.cluster_id);
	assert_int_equal(back.nnodes, 5);
	assert_int_equal(back.nodes[1].pid, 4242);
	assert_true(back.nodes[2].fenced);
	assert_true(back.nodes[3].stopped);
	assert_int_equal(back.nodes[0].restarts, 3);
	assert_int_equal(back.regions[0].replicas, 1);
	assert_int_equal(back.net_a, 10);
	assert_int_equal(back.net_b, 20);
	assert_string_equal(back.ledgerd, "/usr/bin/ledgerd");
	assert_string_equal(back.nodes[4].data, st.nodes[4].data);
	cluster_state_release(&back);
	cluster_state_release(&st);
	remove_dir(dir);
}

static void expect_load_error(const char *text, const char *fragment)
{
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_state st;
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/cluster.json", dir);

	assert_int_equal(fs_write_atomic(path, text, strlen(text), &err), 0);
	assert_int_equal(cluster_state_load(&st, dir, &err), -1);
	if (!strstr(err.msg, fragment))
		fail_msg("error was '%s', expected '%s'", err.msg, fragment);
	free(path);
	remove_dir(dir);
}

static void test_damaged_cluster_json(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_state st;
	char *dir = make_tmpdir();

	(void)state;
	assert_int_equal(cluster_state_load(&st, dir, &err), -1);
	assert_non_null(strstr(err.msg, "does not exist"));
	remove_dir(dir);
	expect_load_error("{", "cannot read");
	expect_load_error("[]", "must hold an object");
	expect_load_error("{\"cluster_id\":\"c-1\",\"network\":\"10.0.0.0\"}", "'network'");
	expect_load_error("{\"cluster_id\":\"c-1\",\"network\":\"127.1.2.0\",\"nodes\":{},\"regions\":[]}",
			  "'nodes' and 'regions' must be arrays");
	expect_load_error("{\"cluster_id\":\"c-1\",\"network\":\"127.1.2.0\",\"regions\":[],"
			  "\"nodes\":[{\"id\":\"1\"}]}", "nodes[0]: 'id'");
	expect_load_error("{\"cluster_id\":\"c-1\",\"network\":\"127.1.2.0\",\"regions\":[],"
			  "\"nodes\":[{\"id\":1,\"region\":\"p\",\"region_role\":\"boss\",\"zone\":\"z\","
			  "\"address\":\"a\",\"http_address\":\"h\",\"raft_address\":\"r\",\"data\":\"d\","
			  "\"pid\":0,\"log\":\"l\"}]}",
			  "unknown region_role 'boss'");
}

static void test_peers_leave_out_fenced_nodes(void **state)
{
	struct cluster_state st;
	json_t *peers, *nodes;

	(void)state;
	new_state(&st, "/x");
	st.nodes[0].fenced = 1;
	peers = cluster_state_peers_json(&st);
	nodes = json_object_get(peers, "nodes");
	assert_int_equal(json_array_size(nodes), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(nodes, 0), "id")), 2);
	assert_string_equal(json_string_value(json_object_get(peers, "cluster_id")), st.cluster_id);
	/* the peers file carries what ledgerd needs, not supervisor state */
	assert_null(json_object_get(json_array_get(nodes, 0), "pid"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(nodes, 0),
							      "raft_address")), "127.10.20.2:7001");
	json_decref(peers);
	cluster_state_release(&st);
}

static void test_net_pick_gives_a_usable_network(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	int a = 0, b = 0, a2 = 0, b2 = 0, same = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(cluster_net_pick(&a, &b, 5, &err), 0);
		assert_in_range(a, 1, 250);
		assert_in_range(b, 1, 250);
		assert_int_equal(cluster_net_pick(&a2, &b2, 5, &err), 0);
		same += a == a2 && b == b2;
	}
	assert_true(same < 5); /* random, not a fixed network */
}

static void test_copy_tree(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	char *dir = make_tmpdir();
	char *src = xasprintf("%s/src", dir), *dst = xasprintf("%s/dst", dir);
	char *sub = xasprintf("%s/src/snapshots", dir);
	char *f1 = xasprintf("%s/src/metadata1", dir), *f2 = xasprintf("%s/src/snapshots/s-1", dir);
	char *g1 = xasprintf("%s/dst/metadata1", dir), *g2 = xasprintf("%s/dst/snapshots/s-1", dir);
	char *text = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(fs_mkdir_p(sub, &err), 0);
	assert_int_equal(fs_write_atomic(f1, "term=7", 6, &err), 0);
	assert_int_equal(fs_write_atomic(f2, "\0\1\2", 3, &err), 0);
	assert_int_equal(cluster_copy_tree(src, dst, &err), 0);
	assert_int_equal(fs_read_file(&text, &len, g1, 100, &err), 0);
	assert_string_equal(text, "term=7");
	free(text);
	assert_int_equal(fs_read_file(&text, &len, g2, 100, &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(text, "\0\1\2", 3);
	free(text);
	free(src); free(dst); free(sub); free(f1); free(f2); free(g1); free(g2);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_of_default_cluster),
		cmocka_unit_test(test_cluster_json_round_trip),
		cmocka_unit_test(test_damaged_cluster_json),
		cmocka_unit_test(test_peers_leave_out_fenced_nodes),
		cmocka_unit_test(test_net_pick_gives_a_usable_network),
		cmocka_unit_test(test_copy_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
