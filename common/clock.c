#include "common/clock.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

int64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t clock_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

void clock_sleep_ns(int64_t ns)
{
	struct timespec req, rem;

	if (ns <= 0)
		return;
	req.tv_sec = (time_t)(ns / NS_PER_SEC);
	req.tv_nsec = (long)(ns % NS_PER_SEC);
	while (nanosleep(&req, &rem) != 0 && errno == EINTR)
		req = rem;
}

void clock_format_utc(char *buf, size_t len, int64_t wall_ns)
{
	time_t secs = (time_t)(wall_ns / NS_PER_SEC);
	int ms = (int)((wall_ns % NS_PER_SEC) / NS_PER_MS);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}
