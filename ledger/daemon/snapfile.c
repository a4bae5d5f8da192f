/* Snapshot file format with an embedded SHA-256 (see ledger/daemon/snapfile.h). */
#include "ledger/daemon/snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/strbuf.h"

#define SNAP_MAGIC "LEDGERD-SNAPSHOT 1 "
/* A path in a request may name anything: regular files only, and none
 * larger than this (refused by its size, before it is read). */
#define SNAP_MAX_FILE ((size_t)512 << 20)

int ledgerd_snapfile_write(struct ledgerd_snapinfo *out, const char *path,
			   const char *body, size_t len, uint64_t index, uint64_t term,
			   struct dr_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char hex[SHA256_HEX_LEN];
	int rc = -1;

	sha256_hex(hex, body, len);
	strbuf_addf(&sb, SNAP_MAGIC "index=%" PRIu64 " term=%" PRIu64 " bytes=%zu sha256=%s\n",
		    index, term, len, hex);
	strbuf_add(&sb, body, len);
	if (fs_write_atomic(path, sb.buf, sb.len, err) != 0) {
		dr_error_wrap(err, "cannot write snapshot '%s'", path);
		goto out;
	}
	out->index = index;
	out->term = term;
	out->size = sb.len;
	sha256_hex(out->sha256, sb.buf, sb.len);
	rc = 0;
out:
	strbuf_release(&sb);
	return rc;
}

/* Parse "key=<uint>" from a header field. */
static int field_u64(uint64_t *out, const char *field, const char *key)
{
	size_t kl = strlen(key);
	int64_t v;

	if (strncmp(field, key, kl) != 0 || field[kl] != '=')
		return -1;
	if (parse_int64(&v, field + kl + 1, 0, INT64_MAX) != 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* The header line of a snapshot (at most 512 bytes, the reader's bound):
 * 0 with its fields, *hlen the bytes up to and including its newline. */
static int parse_header(struct ledgerd_snapinfo *info, uint64_t *bytes, char body_sha[65],
			size_t *hlen, const char *data, size_t len, const char *path,
			struct dr_error *err)
{
	const char *nl;
	char *header, *p, *fields[5];
	int n = 0, rc = -1;

	if (len < strlen(SNAP_MAGIC) || memcmp(data, SNAP_MAGIC, strlen(SNAP_MAGIC)) != 0)
		return dr_error_set(err, "snapshot '%s' is not a ledgerd snapshot (bad header)", path);
	nl = memchr(data, '\n', len < 512 ? len : 512);
	if (!nl)
		return dr_error_set(err, "snapshot '%s' has a truncated header", path);
	header = xstrndup(data + strlen(SNAP_MAGIC), (size_t)(nl - data) - strlen(SNAP_MAGIC));
	for (p = header; p && n < 5; n++) {
		fields[n] = p;
		p = strchr(p, ' ');
		if (p)
			*p++ = '\0';
	}
	if (n != 4 || field_u64(&info->index, fields[0], "index") != 0 ||
	    field_u64(&info->term, fields[1], "term") != 0 ||
	    field_u64(bytes, fields[2], "bytes") != 0 || strncmp(fields[3], "sha256=", 7) != 0 ||
	    strlen(fields[3] + 7) != 64) {
		dr_error_set(err, "snapshot '%s' has a malformed header", path);
		goto out;
	}
	memcpy(body_sha, fields[3] + 7, 65);
	*hlen = (size_t)(nl + 1 - data);
	rc = 0;
out:
	free(header);
	return rc;
}

int ledgerd_snapfile_read(char **body, size_t *len, struct ledgerd_snapinfo *info,
			  const char *path, struct dr_error *err)
{
	char *data = NULL, hex[SHA256_HEX_LEN], want[65];
	size_t flen = 0, hlen = 0, blen;
	uint64_t bytes = 0;
	int rc = -1;

	if (fs_read_regular_file(&data, &flen, path, SNAP_MAX_FILE, err) != 0 ||
	    parse_header(info, &bytes, want, &hlen, data, flen, path, err) != 0)
		goto out;
	blen = flen - hlen;
	if (blen != bytes) {
		dr_error_set(err, "snapshot '%s' is corrupt: body is %zu bytes, header says %" PRIu64,
			     path, blen, bytes);
		goto out;
	}
	sha256_hex(hex, data + hlen, blen);
	if (strcmp(hex, want) != 0) {
		dr_error_set(err, "snapshot '%s' is corrupt: sha256 mismatch (header %s, content %s)",
			     path, want, hex);
		goto out;
	}
	info->size = flen;
	sha256_hex(info->sha256, data, flen);
	*len = blen;
	*body = xstrndup(data + hlen, blen);
	rc = 0;
out:
	free(data);
	return rc;
}

#define CHECK_CHUNK ((size_t)1 << 20)

int ledgerd_snapfile_check(struct ledgerd_snapinfo *info, const char *path,
			   int (*stop)(void *arg), void *stop_arg, struct dr_error *err)
{
	struct sha256 whole, body;
	struct stat st;
	char *buf = NULL, hex[SHA256_HEX_LEN], want[65];
	size_t have = 0, hlen = 0, blen = 0, flen = 0;
	uint64_t bytes = 0;
	int fd, header_done = 0, rc = -1;

	/* O_NONBLOCK: opening a FIFO without a writer must not wait. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return dr_error_errno(err, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) != 0) {
		dr_error_errno(err, errno, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		dr_error_set(err, "'%s' is not a regular file", path);
		goto out;
	}
	if ((uintmax_t)st.st_size > (uintmax_t)SNAP_MAX_FILE) {
		dr_error_set(err, "cannot read '%s': %jd bytes, larger than %zu", path,
			     (intmax_t)st.st_size, SNAP_MAX_FILE);
		goto out;
	}
	sha256_init(&whole);
	sha256_init(&body);
	buf = xmalloc(CHECK_CHUNK);
	for (;;) {
		ssize_t got;

		if (stop && stop(stop_arg)) {
			dr_error_set(err, "check of snapshot '%s' stopped: the node is shutting down", path);
			goto out;
		}
		got = read(fd, buf + have, CHECK_CHUNK - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			dr_error_errno(err, errno, "cannot read '%s'", path);
			goto out;
		}
		have += (size_t)got;
		flen += (size_t)got;
		if (flen > SNAP_MAX_FILE) { /* it grew since fstat */
			dr_error_set(err, "cannot read '%s': larger than %zu", path, SNAP_MAX_FILE);
			goto out;
		}
		/* The header is in the first 512 bytes: wait for them (or the end). */
		if (!header_done && got > 0 && have < 512)
			continue;
		if (!header_done) {
			if (parse_header(info, &bytes, want, &hlen, buf, have, path, err) != 0)
				goto out;
			header_done = 1;
			sha256_update(&whole, buf, hlen);
			memmove(buf, buf + hlen, have - hlen);
			have -= hlen;
		}
		sha256_update(&whole, buf, have);
		sha256_update(&body, buf, have);
		blen += have;
		have = 0;
		if (got == 0)
			break;
	}
	if (blen != bytes) {
		dr_error_set(err, "snapshot '%s' is corrupt: body is %zu bytes, header says %" PRIu64,
			     path, blen, bytes);
		goto out;
	}
	sha256_final_hex(&body, hex);
	if (strcmp(hex, want) != 0) {
		dr_error_set(err, "snapshot '%s' is corrupt: sha256 mismatch (header %s, content %s)",
			     path, want, hex);
		goto out;
	}
	info->size = flen;
	sha256_final_hex(&whole, info->sha256);
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}
