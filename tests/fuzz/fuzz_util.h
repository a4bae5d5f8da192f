/* Shared bits of the libFuzzer targets: a NUL-terminated copy of the input
 * and a split at the first newline (the first line usually selects what to
 * do with the rest).  Each target defines LLVMFuzzerTestOneInput; built with
 * clang -fsanitize=fuzzer for `make fuzz`, or with replay_main.c into a
 * plain replayer that `make test` runs over the seeds and saved crashes. */
#ifndef DR_TESTS_FUZZ_UTIL_H
#define DR_TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Heap copy of data with a NUL after it (the input may itself hold NULs). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Split data at the first '\n': *head is a NUL-terminated copy of the first
 * line (heap), *rest and *rest_len the bytes after it (borrowed). */
static inline char *fuzz_split_line(const uint8_t *data, size_t size, const uint8_t **rest,
				    size_t *rest_len)
{
	const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
	size_t head = nl ? (size_t)(nl - data) : size;

	*rest = nl ? nl + 1 : data + size;
	*rest_len = nl ? size - head - 1 : 0;
	return fuzz_strndup(data, head);
}

#endif
