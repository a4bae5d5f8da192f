/* RBAC and discovery: KUBECTL_DOUBLE_DENY, `auth can-i`, the API server's
 * Forbidden answers, and `version`.
 *
 * KUBECTL_DOUBLE_DENY is a comma-separated list of substrings; a request
 * is denied when one of them occurs in one of its spellings
 * "VERB RESOURCE[/SUB]" and "VERB RESOURCE.GROUP[/SUB]" (for example
 * "patch statefulsets/scale", "create pods/portforward", "update leases").
 * `auth can-i` also matches the words it was given as they were given,
 * so "statefulsets.apps --subresource=scale" keeps denying the scale. */
#include "tests/doubles/kubectl_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

static int deny_matches(const char *spelling)
{
	const char *deny = getenv("KUBECTL_DOUBLE_DENY");
	char *list, *p, *comma;
	int hit = 0;

	if (!deny || !*deny)
		return 0;
	list = xstrdup(deny);
	for (p = list; p && !hit; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		while (*p == ' ')
			p++;
		hit = *p && strstr(spelling, p) != NULL;
	}
	free(list);
	return hit;
}

int kd_denied(const char *verb, const char *resource, const char *group, const char *sub)
{
	char *plain = xasprintf("%s %s%s%s", verb, resource, sub ? "/" : "", sub ? sub : "");
	char *grouped = group && *group ? xasprintf("%s %s.%s%s%s", verb, resource, group, sub ? "/" : "",
						    sub ? sub : "")
					: NULL;
	int hit = deny_matches(plain) || (grouped && deny_matches(grouped));

	free(plain);
	free(grouped);
	return hit;
}

static const char *user(void)
{
	const char *u = getenv("KUBECTL_DOUBLE_USER");

	return u && *u ? u : "drill";
}

int kd_forbidden(const struct cmd *c, const char *verb, const char *resource, const char *group,
		 const char *sub, const char *name, int when_creating)
{
	char *kind = group && *group ? xasprintf("%s.%s", resource, group) : xstrdup(resource);
	char *what = name ? xasprintf("%s \"%s\"", kind, name) : xstrdup(kind);
	/* Nodes are cluster-scoped. */
	char *scope = strcmp(resource, "nodes") == 0 ? xstrdup("at the cluster scope")
						     : xasprintf("in the namespace \"%s\"", c->ns);

	kd_fail(1, "Error from server (Forbidden): %s%s is forbidden: User \"%s\" cannot %s resource \"%s%s%s\" in "
		"API group \"%s\" %s", when_creating ? "error when creating \"STDIN\": " : "", what, user(), verb,
		resource, sub ? "/" : "", sub ? sub : "", group ? group : "", scope);
	free(kind);
	free(what);
	free(scope);
	return 1;
}

int kd_check(const struct cmd *c, const char *verb, const char *resource, const char *group,
	     const char *sub, const char *name)
{
	if (!kd_denied(verb, resource, group, sub))
		return 0;
	return kd_forbidden(c, verb, resource, group, sub, name, 0);
}

/* RESOURCE[.GROUP][/SUB] as can-i takes it: the group of the resources the
 * double knows when none is given. */
static void split_resource(const char *arg, char **resource, char **group, char **sub)
{
	static const struct { const char *name, *plural, *group; } known[] = {
		{ "pods", "pods", "" }, { "pod", "pods", "" }, { "po", "pods", "" },
		{ "nodes", "nodes", "" }, { "node", "nodes", "" },
		{ "statefulsets", "statefulsets", "apps" }, { "statefulset", "statefulsets", "apps" },
		{ "sts", "statefulsets", "apps" }, { "daemonsets", "daemonsets", "apps" },
		{ "leases", "leases", "coordination.k8s.io" }, { "lease", "leases", "coordination.k8s.io" },
		{ "podchaos", "podchaos", "chaos-mesh.org" },
		{ "networkchaos", "networkchaos", "chaos-mesh.org" },
	};
	const char *slash = strchr(arg, '/'), *dot;
	char *base = slash ? xstrndup(arg, (size_t)(slash - arg)) : xstrdup(arg);

	*sub = slash ? xstrdup(slash + 1) : NULL;
	dot = strchr(base, '.');
	if (dot) {
		*resource = xstrndup(base, (size_t)(dot - base));
		*group = xstrdup(dot + 1);
		free(base);
		return;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(base, known[i].name) == 0) {
			*resource = xstrdup(known[i].plural);
			*group = xstrdup(known[i].group);
			free(base);
			return;
		}
	*resource = base;
	*group = xstrdup("");
}

int kd_can_i(struct cmd *c)
{
	struct strbuf q = STRBUF_INIT;
	const char *verb = c->nargs > 2 ? c->args[2] : NULL, *res = c->nargs > 3 ? c->args[3] : NULL;
	char *resource = NULL, *group = NULL, *sub = NULL;
	int no;

	if (!verb || !res)
		return kd_fail(1, "error: you must specify two arguments: verb resource or verb resource/resourceName.");
	split_resource(res, &resource, &group, &sub);
	for (int i = 4; i < c->nargs; i++) {
		if (strncmp(c->args[i], "--subresource=", 14) == 0) {
			free(sub);
			sub = xstrdup(c->args[i] + 14);
		} else if (strcmp(c->args[i], "--subresource") == 0 && i + 1 < c->nargs) {
			free(sub);
			sub = xstrdup(c->args[++i]);
		}
	}
	for (int i = 2; i < c->nargs; i++)
		strbuf_addf(&q, "%s%s", i > 2 ? " " : "", c->args[i]);
	no = deny_matches(strbuf_str(&q)) || kd_denied(verb, resource, group, sub);
	strbuf_release(&q);
	free(resource);
	free(group);
	free(sub);
	printf("%s\n", no ? "no" : "yes");
	return no ? 1 : 0;
}

/* "v1.29.4" or "v1.29.4-eks-1234": major and minor as the server reports
 * them (a provider's suffix makes the minor "29+"). */
static json_t *version_info(const char *git_version)
{
	const char *v = git_version[0] == 'v' ? git_version + 1 : git_version;
	const char *dot = strchr(v, '.');
	char *end, *major = xstrndup(v, dot ? (size_t)(dot - v) : strlen(v)), *minor;
	long mnr = dot ? strtol(dot + 1, &end, 10) : 0;
	json_t *o;

	if (!dot)
		end = (char *)"";
	while (*end == '.' || (*end >= '0' && *end <= '9'))
		end++;
	minor = xasprintf("%ld%s", mnr, *end == '-' ? "+" : "");
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", major, "minor", minor,
		      "gitVersion", git_version, "gitCommit", "0000000000000000000000000000000000000000",
		      "gitTreeState", "clean", "buildDate", "2024-04-16T00:00:00Z", "goVersion", "go1.21.9",
		      "compiler", "gc", "platform", "linux/amd64");
	free(major);
	free(minor);
	return o;
}

int kd_version(struct cmd *c)
{
	const char *server = getenv("KUBECTL_DOUBLE_VERSION");
	const char *client = getenv("KUBECTL_DOUBLE_CLIENT_VERSION");
	json_t *v;

	if (!server || !*server)
		server = "v1.29.4";
	if (!client || !*client)
		client = server;
	v = json_pack("{s:o,s:s,s:o}", "clientVersion", version_info(client), "kustomizeVersion", "v5.0.4",
		      "serverVersion", version_info(server));
	if (c->output && strcmp(c->output, "json") == 0) {
		kd_print_json(v);
	} else {
		printf("Client Version: %s\nKustomize Version: v5.0.4\nServer Version: %s\n", client, server);
	}
	json_decref(v);
	return 0;
}
