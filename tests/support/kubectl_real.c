/* Replays the kubectl command lines the double saw with the real kubectl
 * (k8s_double_env.h): the double is only as strict as its author, and the
 * real binary's argument parser is the one production runs.  The
 * kubeconfig points every context at a closed port, so a command that
 * parsed fails at its first request ("connection refused"), never anywhere
 * near a cluster. */
#include "tests/support/k8s_double_env.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"

#define REPLAY_TIMEOUT_NS (20 * INT64_C(1000000000))

/* What kubectl prints for a command line it cannot parse (cobra's usage
 * errors all end in the "See 'kubectl X --help' for usage." line). */
static const char *const usage_errors[] = {
	"for usage.", "unknown flag", "unknown shorthand flag", "unknown command",
	"flag needs an argument", NULL
};

/* The first kubectl on PATH that is not the double (NULL: none). */
static char *find_real_kubectl(const struct k8s_double_env *e)
{
	char double_real[PATH_MAX], cand_real[PATH_MAX];
	const char *path = getenv("PATH");
	char *copy, *dir, *next, *found = NULL;

	if (!path || !realpath(e->kubectl, double_real))
		return NULL;
	copy = xstrdup(path);
	for (dir = copy; dir && !found; dir = next) {
		char *cand;

		next = strchr(dir, ':');
		if (next)
			*next++ = '\0';
		cand = xasprintf("%s/kubectl", *dir ? dir : ".");
		if (access(cand, X_OK) == 0 && realpath(cand, cand_real) &&
		    strcmp(cand_real, double_real) != 0)
			found = xstrdup(cand_real);
		free(cand);
	}
	free(copy);
	return found;
}

static void add_context(json_t *contexts, json_t *words)
{
	size_t i;
	json_t *w;

	json_array_foreach(words, i, w) {
		const char *s = json_string_value(w);

		if (s && strcmp(s, "--context") == 0)
			json_object_set_new(contexts, json_string_value(json_array_get(words, i + 1)) ?: "",
					    json_true());
		else if (s && strncmp(s, "--context=", 10) == 0)
			json_object_set_new(contexts, s + 10, json_true());
	}
}

static char *write_kubeconfig(const struct k8s_double_env *e, json_t *contexts)
{
	struct strbuf sb = STRBUF_INIT;
	struct dr_error err = DR_ERROR_INIT;
	char *path = xasprintf("%s/real-kubeconfig.yaml", e->dir);
	const char *name;
	json_t *v;

	strbuf_adds(&sb, "apiVersion: v1\nkind: Config\nclusters:\n- name: closed\n"
		    "  cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}\n"
		    "users:\n- name: drill\n  user: {token: not-a-secret}\ncontexts:\n");
	json_object_foreach(contexts, name, v)
		strbuf_addf(&sb, "- name: \"%s\"\n  context: {cluster: closed, user: drill}\n", name);
	if (fs_write_atomic(path, strbuf_str(&sb), sb.len, &err) != 0) {
		free(path);
		path = NULL;
	}
	strbuf_release(&sb);
	return path;
}

/* s with every run of digits written as one "0" (heap). */
static char *digits_collapsed(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			*o++ = '0';
			while (s[1] >= '0' && s[1] <= '9')
				s++;
			continue;
		}
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

int k8s_real_kubectl_check(const struct k8s_double_env *e, char **why)
{
	char *kubectl = find_real_kubectl(e), *text = NULL, *line, *next, *kubeconfig, *shape;
	json_t *seen = json_object(), *contexts = json_object(), *lines = json_array(), *words;
	struct strbuf failures = STRBUF_INIT;
	size_t len = 0, i;
	int checked = 0;

	*why = NULL;
	if (!kubectl) {
		*why = xstrdup("no kubectl other than the double on PATH");
		goto out;
	}
	if (fs_read_file(&text, &len, e->argv_log, 64 << 20, NULL) != 0) {
		*why = xasprintf("the double's argv log %s is missing", e->argv_log);
		checked = -1;
		goto out;
	}
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			continue;
		/* One line per shape: lines that differ only in numbers (pod
		 * ordinals, ports, replica counts, sequence numbers in a JSON
		 * payload) meet the parser the same way, and each replay costs
		 * a kubectl start (about 60 ms). */
		shape = digits_collapsed(line);
		if (json_object_get(seen, shape)) {
			free(shape);
			continue;
		}
		json_object_set_new(seen, shape, json_true());
		free(shape);
		words = json_loads(line, 0, NULL);
		if (!json_is_array(words)) {
			json_decref(words);
			continue;
		}
		add_context(contexts, words);
		json_array_append_new(lines, words);
	}
	kubeconfig = write_kubeconfig(e, contexts);
	/* The check must be able to fail: a flag kubectl has never had first. */
	json_array_insert_new(lines, 0, json_pack("[s,s,s]", "get", "pods", "--no-such-flag"));
	json_array_foreach(lines, i, words) {
		size_t n = json_array_size(words), k;
		char **argv = xcalloc(n + 2, sizeof(*argv)), *env_kc = xasprintf("KUBECONFIG=%s", kubeconfig);
		char *extra[] = { env_kc, NULL }, **envp = proc_env_with(extra);
		struct dr_error err = DR_ERROR_INIT;
		struct proc_result res;

		argv[0] = kubectl;
		for (k = 0; k < n; k++)
			argv[k + 1] = (char *)json_string_value(json_array_get(words, k));
		if (proc_run_in(&res, argv, "", REPLAY_TIMEOUT_NS, 65536, NULL, envp, &err) == 0) {
			for (const char *const *u = usage_errors; *u; u++) {
				const char *hit = strstr(res.errout ? res.errout : "", *u);

				if (!hit)
					hit = strstr(res.out ? res.out : "", *u);
				if (hit) {
					char *shown = proc_argv_display(argv + 1);
					const char *msg = res.errout && *res.errout ? res.errout : res.out;

					strbuf_addf(&failures, "kubectl %s: %.*s\n", shown,
						    (int)strcspn(msg, "\n"), msg);
					free(shown);
					break;
				}
			}
			proc_result_release(&res);
			if (i == 0 && failures.len == 0) {
				strbuf_addf(&failures, "%s accepted 'get pods --no-such-flag': "
					    "this check cannot tell a bad command line\n", kubectl);
				break;
			}
			if (i == 0)
				strbuf_reset(&failures); /* refused, as it must be */
			else
				checked++;
		} else {
			strbuf_addf(&failures, "cannot run %s: %s\n", kubectl, err.msg);
		}
		proc_env_free(envp);
		free(env_kc);
		free(argv);
	}
	free(kubeconfig);
	if (failures.len) {
		*why = strbuf_detach(&failures);
		checked = -1;
	}
out:
	strbuf_release(&failures);
	free(kubectl);
	free(text);
	json_decref(seen);
	json_decref(contexts);
	json_decref(lines);
	return checked;
}

void k8s_real_kubectl_case(const struct k8s_double_env *e)
{
	char *why = NULL;
	int n = k8s_real_kubectl_check(e, &why);

	if (n == 0) {
		print_message("not checked: %s\n", why);
		free(why);
		skip();
	}
	if (n < 0)
		fail_msg("the real kubectl refused command lines drillrig ran:\n%s", why);
	print_message("the real kubectl parsed all %d distinct command lines\n", n);
	free(why);
}
