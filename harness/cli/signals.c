/* Ctrl-C, SIGTERM, SIGHUP and SIGQUIT for the commands that change a
 * cluster (run, soak, recover): counted, never fatal, so the command can
 * roll back (docs/cli.md: the 1st stops the steps, the 3rd gives up on the
 * rollback).  SIGHUP is a closed terminal or a dropped SSH session, SIGQUIT
 * Ctrl-\: by default either would kill the runner with the primary region
 * still scaled down. */
#include <signal.h>
#include <string.h>

#include "harness/cli/cli.h"

/* Bumped by the handler and read by the drill's threads: a lock-free atomic
 * is both async-signal-safe and race-free, where volatile sig_atomic_t is
 * only the former. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "signal counter needs a lock-free atomic_int");

atomic_int cli_interrupts;

static void count_interrupt(int sig)
{
	(void)sig;
	atomic_fetch_add(&cli_interrupts, 1);
}

void cli_count_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_interrupt;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking call returns so the command sees the signal. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
