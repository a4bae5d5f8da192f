/* A growable, always NUL-terminated byte buffer.
 *
 * struct strbuf sb = STRBUF_INIT; ... strbuf_release(&sb);
 * Allocation failure aborts the process: every caller would otherwise have
 * to handle a condition it cannot recover from.
 */
#ifndef DR_COMMON_STRBUF_H
#define DR_COMMON_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;     /* never NULL after any call; "" when empty */
	size_t len;
	size_t alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void strbuf_reset(struct strbuf *sb);
/* Hand the buffer to the caller (free() it); sb is left empty. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
/* Returns the buffer, "" for a never-used strbuf. */
const char *strbuf_str(const struct strbuf *sb);

/* malloc/strdup that abort on exhaustion (same reasoning as above). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Bounded copy that always terminates; returns -1 when truncated. */
int str_copy(char *dst, size_t dstlen, const char *src);

#endif
