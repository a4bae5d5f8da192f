#include <stdio.h>

#include "harness/cli/cli.h"
#include "harness/cli/version.h"

#ifndef DRILLRIG_REVISION
#define DRILLRIG_REVISION "unknown"
#endif

const char *drillrig_revision(void)
{
	return DRILLRIG_REVISION;
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("drillrig %s (revision %s)\n", DRILLRIG_VERSION, drillrig_revision());
	return 0;
}
