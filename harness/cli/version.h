#ifndef DR_HARNESS_CLI_VERSION_H
#define DR_HARNESS_CLI_VERSION_H

#define DRILLRIG_VERSION "0.1.0"

/* The git revision drillrig was built from ("unknown" outside a checkout);
 * the Makefile passes it in so reports can name the exact build. */
const char *drillrig_revision(void);

#endif
