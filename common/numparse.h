/* Checked number parsing: the whole string must be a number in range.
 * (Replaces atoi and unchecked strtol everywhere.) */
#ifndef DR_COMMON_NUMPARSE_H
#define DR_COMMON_NUMPARSE_H

#include <stdint.h>

/* Decimal integer in [min, max]; no leading/trailing junk, no empty string.
 * Returns 0, or -1 (out untouched). */
int parse_int64(int64_t *out, const char *s, int64_t min, int64_t max);
int parse_int(int *out, const char *s, int min, int max);
/* Unsigned decimal (digits only: no sign, so "-1" never wraps around). */
int parse_uint64(uint64_t *out, const char *s, uint64_t min, uint64_t max);
/* Finite decimal floating point number, no junk. */
int parse_double(double *out, const char *s);

#endif
