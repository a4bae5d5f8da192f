/* Offline subcommands on a STOPPED node's data directory:
 *   ledgerd info --data DIR      -> {"term":..,"last_index":..,"last_term":..,
 *                                   "ledger_last_index":..,"block_height":..} (Raft
 *                                   indexes, then the ledger index and ledger.v1
 *                                   block height its snapshot and log make)
 *   ledgerd recover --data DIR --peers FILE --voters 3,4
 * recover forces the Raft configuration to exactly those voters
 * (raft_recover: the unsafe-promotion primitive) and adopts FILE's
 * cluster id and member metadata. */
#ifndef DR_LEDGER_DAEMON_OFFLINE_H
#define DR_LEDGER_DAEMON_OFFLINE_H

int ledgerd_cmd_info(int argc, char **argv);
int ledgerd_cmd_recover(int argc, char **argv);

#endif
