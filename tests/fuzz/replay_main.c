/* A plain driver for the fuzz targets, so they build with the project's
 * own compiler (and SANITIZE=) and `make test` replays the seed corpora and
 * every saved crash reproducer through them.  Usage: replay_<target>
 * FILE|DIR...; a directory means every regular file in it.  Exit 0 when
 * every input ran (a crash aborts), 2 on a usage or I/O error. */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "tests/fuzz/fuzz_util.h"

static int replay_file(const char *path, size_t *count)
{
	struct dr_error err = DR_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;

	if (fs_read_file(&data, &len, path, (size_t)1 << 20, &err) != 0) {
		fprintf(stderr, "replay: %s\n", err.msg);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	(*count)++;
	return 0;
}

static int replay_path(const char *path, size_t *count)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: cannot stat '%s'\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, count);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "replay: cannot open directory '%s'\n", path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *child;
		if (de->d_name[0] == '.')
			continue;
		child = xasprintf("%s/%s", path, de->d_name);
		if (stat(child, &st) == 0 && S_ISREG(st.st_mode) && replay_file(child, count) != 0)
			rc = -1;
		free(child);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) != 0)
			rc = 2;
	printf("%s: %zu inputs replayed\n", argv[0], count);
	return rc;
}
