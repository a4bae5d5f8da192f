/* Timestamped event lines on stderr (see ledger/daemon/log.h). */
#include "ledger/daemon/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/clock.h"
#include "common/strbuf.h"

static uint64_t log_id;

void ledgerd_log_set_id(uint64_t id)
{
	log_id = id;
}

void ledgerd_log(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	strbuf_addf(&sb, "%" PRId64 " ledgerd[%" PRIu64 "] ", clock_mono_ns() / NS_PER_MS, log_id);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addch(&sb, '\n');
	/* One write per line so lines from HTTP threads never interleave. */
	fwrite(sb.buf, 1, sb.len, stderr);
	fflush(stderr);
	strbuf_release(&sb);
}
