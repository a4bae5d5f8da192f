/* The admin credential of a local cluster: DIR/admin-token, 32 random
 * bytes as 64 hex characters, mode 0600, made by `cluster up` before the
 * first node starts.  Every node gets the file (--admin-token-file), so
 * admin and debug calls need "authorization: Bearer <token>"; whoever may
 * read the cluster's directory may drive its faults, and no other local
 * process can (issue 17: a fifo handed to RestoreFromSnapshot, a planted
 * DropEntry).  The token never goes into cluster.json, a log or argv:
 * only the file's path does. */
#include "ledger/cluster/cluster_state.h"

#include <string.h>
#include <sys/random.h>

#include "common/fsutil.h"
#include "common/strbuf.h"

#define TOKEN_BYTES 32

char *cluster_token_path(const char *dir)
{
	return cluster_path(dir, "admin-token");
}

int cluster_token_create(const char *dir, struct dr_error *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_BYTES];
	char text[2 * TOKEN_BYTES + 2];
	char *path = cluster_token_path(dir);
	size_t got = 0;
	int rc;

	while (got < sizeof raw) {
		ssize_t r = getrandom(raw + got, sizeof raw - got, 0);

		if (r <= 0) {
			free(path);
			return dr_error_set(err, "cannot draw an admin token: no randomness");
		}
		got += (size_t)r;
	}
	for (size_t i = 0; i < TOKEN_BYTES; i++) {
		text[2 * i] = hex[raw[i] >> 4];
		text[2 * i + 1] = hex[raw[i] & 15];
	}
	text[2 * TOKEN_BYTES] = '\n';
	text[2 * TOKEN_BYTES + 1] = '\0';
	rc = fs_write_atomic_mode(path, text, 2 * TOKEN_BYTES + 1, 0600, err);
	memset(text, 0, sizeof text);
	memset(raw, 0, sizeof raw);
	free(path);
	return rc;
}

char *cluster_admin_token(const char *dir)
{
	struct dr_error err = DR_ERROR_INIT;
	char *path, *text = NULL;
	size_t len = 0;

	if (!dir)
		return NULL;
	path = cluster_token_path(dir);
	if (!fs_exists(path) || fs_read_file(&text, &len, path, 4096, &err) != 0) {
		free(path);
		return NULL;
	}
	free(path);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (len == 0) {
		free(text);
		return NULL;
	}
	return text;
}
