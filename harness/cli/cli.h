/* The drillrig command line: a table of commands, one file per command
 * (harness/cli/<name>.c), each with its own options and help text. */
#ifndef DR_HARNESS_CLI_CLI_H
#define DR_HARNESS_CLI_CLI_H

#include <stdatomic.h>
#include <stddef.h>

#include "common/error.h"

struct cli_command {
	const char *name;
	const char *summary;                     /* one line for `drillrig help` */
	int (*run)(int argc, char **argv);       /* argv[0] is the command name */
};

/* The table, NULL-terminated (harness/cli/commands.c). */
extern const struct cli_command cli_commands[];

const struct cli_command *cli_find(const char *name);
int cli_usage(int to_stderr);

int cmd_version(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_report(int argc, char **argv);  /* harness/cli/report.c */
int cmd_preflight(int argc, char **argv);  /* harness/cli/preflight.c */

int cmd_soak(int argc, char **argv);

/* SIGINT/SIGTERM counted into cli_interrupts (harness/cli/signals.c); SIGPIPE
 * ignored.  For run, soak and recover. */
extern atomic_int cli_interrupts;
void cli_count_interrupts(void);

/* Plan variables from the command line, in order (later wins):
 * --var NAME=VALUE as given, --var-file NAME=PATH read into NAME=VALUE
 * (harness/cli/secret_args.c). */
struct cli_vars {
	const char **kv;
	size_t n;
	char **owned;   /* the --var-file strings (wiped when released) */
	size_t nowned;
};
void cli_vars_add(struct cli_vars *v, const char *kv);
int cli_vars_add_file(struct cli_vars *v, const char *arg, struct dr_error *err);
void cli_vars_release(struct cli_vars *v);
/* A secret from a file (heap; one trailing newline dropped; empty or over
 * 64 KiB refused), NULL with err set. */
char *cli_secret_file_read(const char *path, struct dr_error *err);

#endif
