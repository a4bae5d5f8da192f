/* The route table (ledger/daemon/routes.h). */
#include "ledger/daemon/routes.h"

#include <string.h>

#include "ledger/daemon/node.h"
#include "ledger/daemon/svc.h"
#include "ledger/daemon/svc_v1.h"

#define L "/" LEDGER_SVC_LEDGER "/"
#define A "/" LEDGER_SVC_ADMIN "/"
#define D "/" LEDGER_SVC_DEBUG "/"
/* The public ledger.v1 subset; metric labels name the service too, since
 * CreateSnapshot is a method of both dialects. */
#define V1 "/ledger.v1."

static const struct ledgerd_route routes[] = {
	{ L "Append", "Append", ROUTE_LEDGER, ledgerd_validate_append, ledgerd_run_append },
	{ L "Read", "Read", ROUTE_LEDGER, ledgerd_validate_read, ledgerd_run_read },
	{ "/" LEDGER_SVC_HEALTH "/Check", "HealthCheck", ROUTE_HEALTH, NULL, ledgerd_run_health },
	{ A "GetClusterStatus", "GetClusterStatus", ROUTE_ADMIN, NULL, ledgerd_run_status },
	{ A "RequestLeaderTransfer", "RequestLeaderTransfer", ROUTE_ADMIN, ledgerd_validate_transfer,
	  ledgerd_run_transfer },
	{ A "ForceLeaderElection", "ForceLeaderElection", ROUTE_ADMIN, ledgerd_validate_force,
	  ledgerd_run_force },
	{ A "CreateSnapshot", "CreateSnapshot", ROUTE_ADMIN, NULL, ledgerd_run_snapshot },
	{ A "RestoreFromSnapshot", "RestoreFromSnapshot", ROUTE_ADMIN, ledgerd_validate_restore,
	  ledgerd_run_restore },
	{ A "AddMember", "AddMember", ROUTE_ADMIN, ledgerd_validate_add_member, ledgerd_run_add_member },
	{ A "RemoveMember", "RemoveMember", ROUTE_ADMIN, ledgerd_validate_remove_member,
	  ledgerd_run_remove_member },
	{ V1 "WriteService/Write", "WriteService.Write", ROUTE_LEDGER, ledgerd_validate_v1_write,
	  ledgerd_run_v1_write },
	{ V1 "ReadService/ListEntities", "ReadService.ListEntities", ROUTE_LEDGER,
	  ledgerd_validate_v1_list, ledgerd_run_v1_list },
	{ V1 "AdminService/GetClusterInfo", "AdminService.GetClusterInfo", ROUTE_ADMIN, NULL,
	  ledgerd_run_v1_cluster_info },
	{ V1 "AdminService/TransferLeadership", "AdminService.TransferLeadership", ROUTE_ADMIN,
	  ledgerd_validate_v1_transfer, ledgerd_run_v1_transfer },
	{ V1 "AdminService/CreateSnapshot", "AdminService.CreateSnapshot", ROUTE_ADMIN,
	  ledgerd_validate_v1_snapshot, ledgerd_run_v1_snapshot },
	{ V1 "AdminService/CreateBackup", "AdminService.CreateBackup", ROUTE_ADMIN,
	  ledgerd_validate_v1_backup, ledgerd_run_v1_backup },
	{ V1 "AdminService/RestoreBackup", "AdminService.RestoreBackup", ROUTE_ADMIN,
	  ledgerd_validate_v1_restore, ledgerd_run_v1_restore },
	{ V1 "HealthService/Check", "HealthService.Check", ROUTE_HEALTH, NULL, ledgerd_run_v1_health },
	{ D "Partition", "DebugPartition", ROUTE_DEBUG, ledgerd_validate_partition, ledgerd_run_partition },
	{ D "Heal", "DebugHeal", ROUTE_DEBUG, NULL, ledgerd_run_heal },
	{ D "RefuseWrites", "DebugRefuseWrites", ROUTE_DEBUG, ledgerd_validate_refuse, ledgerd_run_refuse },
	{ D "DropEntry", "DebugDropEntry", ROUTE_DEBUG, ledgerd_validate_drop, ledgerd_run_drop },
	{ D "DropInstallSnapshot", "DebugDropInstallSnapshot", ROUTE_DEBUG,
	  ledgerd_validate_drop_install_snapshot, ledgerd_run_drop_install_snapshot },
	{ D "Digest", "DebugDigest", ROUTE_DEBUG, NULL, ledgerd_run_digest },
};

const struct ledgerd_route *ledgerd_route_find(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return NULL;
}
