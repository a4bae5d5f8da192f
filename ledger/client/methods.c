/* The ledger's method table (ledger/client/methods.h), built once from the
 * generated service descriptors. */
#include "ledger/client/methods.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "inferadb/ledger/v1/ledger.pb-c.h"
#include "ledger/v1/ledger.pb-c.h"

static const ProtobufCServiceDescriptor *const services[] = {
	&inferadb__ledger__v1__ledger__descriptor,
	&inferadb__ledger__v1__admin__descriptor,
	&ledger__v1__write_service__descriptor,
	&ledger__v1__read_service__descriptor,
	&ledger__v1__admin_service__descriptor,
	&ledger__v1__health_service__descriptor,
	&grpc__health__v1__health__descriptor,
};

#define MAX_METHODS 64

static struct ledger_method table[MAX_METHODS];
static size_t ntable;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
	for (size_t s = 0; s < sizeof(services) / sizeof(services[0]); s++)
		for (unsigned m = 0; m < services[s]->n_methods && ntable < MAX_METHODS; m++) {
			struct ledger_method *e = &table[ntable++];

			snprintf(e->path, sizeof(e->path), "/%s/%s", services[s]->name,
				 services[s]->methods[m].name);
			e->service = services[s];
			e->method = &services[s]->methods[m];
		}
}

const struct ledger_method *ledger_method_find(const char *path)
{
	pthread_once(&once, build);
	if (!path)
		return NULL;
	for (size_t i = 0; i < ntable; i++)
		if (strcmp(table[i].path, path) == 0 ||
		    (path[0] != '/' && strcmp(table[i].path + 1, path) == 0))
			return &table[i];
	return NULL;
}

const struct ledger_method *ledger_methods(size_t *n)
{
	pthread_once(&once, build);
	*n = ntable;
	return table;
}
