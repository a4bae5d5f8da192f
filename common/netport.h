/* Loopback ports for the processes a drill starts (ledgerd nodes, etcd
 * members, test networks): checked by binding, never assumed free. */
#ifndef DR_COMMON_NETPORT_H
#define DR_COMMON_NETPORT_H

/* 1 when ip:port (IPv4 text) can be bound right now. */
int net_port_free(const char *ip, int port);
/* preferred when it is free (preferred > 0), else a port on ip the kernel
 * hands out; -1 when no socket can be bound there. */
int net_free_port(const char *ip, int preferred);

#endif
