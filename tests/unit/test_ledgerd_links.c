/* How ledgerd tells that a peer closed or reset a raft stream it sends on
 * (ledger/daemon/transport_links.c), on real loopback TCP sockets: a
 * closed peer and a reset peer are both gone, a live one is not, and a
 * reset socket is still recognised as the link it was (its peer address
 * is gone with the reset; a link missed that way never reconnected). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "ledger/daemon/transport.h"

/* A connected pair on 127.0.0.1: *client is the side ledgerd sends on. */
static void tcp_pair(int *client, int *server)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int lst = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(lst >= 0);
	assert_int_equal(bind(lst, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(lst, 1), 0);
	assert_int_equal(getsockname(lst, (struct sockaddr *)&a, &len), 0);
	*client = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*client, (struct sockaddr *)&a, sizeof a), 0);
	*server = accept(lst, NULL, NULL);
	assert_true(*server >= 0);
	close(lst);
}

static void link_of(struct ledgerd_link *l, int fd)
{
	socklen_t len;

	memset(l, 0, sizeof *l);
	l->id = 2;
	l->fd = fd;
	len = sizeof l->local;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&l->local, &len), 0);
	len = sizeof l->peer;
	assert_int_equal(getpeername(fd, (struct sockaddr *)&l->peer, &len), 0);
}

/* Wait (bounded) until the kernel has delivered the peer's FIN or RST. */
static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		fail_msg("the peer's close did not reach the socket within 5 s");
}

static void test_live_peer_is_not_gone(void **state)
{
	int c, s, err = -1;

	(void)state;
	tcp_pair(&c, &s);
	assert_int_equal(ledgerd_link_peer_gone(c, &err), 0);
	assert_int_equal(err, 0);
	/* bytes a libraft server never sends are dropped, not taken as an end */
	assert_int_equal(write(s, "xyz", 3), 3);
	wait_readable(c);
	assert_int_equal(ledgerd_link_peer_gone(c, &err), 0);
	assert_int_equal(ledgerd_link_peer_gone(c, &err), 0);
	close(s);
	close(c);
}

static void test_closed_peer_is_gone(void **state)
{
	struct ledgerd_link l;
	int c, s, err = -1;

	(void)state;
	tcp_pair(&c, &s);
	link_of(&l, c);
	close(s);
	wait_readable(c);
	assert_int_equal(ledgerd_link_peer_gone(c, &err), 1);
	assert_int_equal(err, 0);
	assert_int_equal(ledgerd_link_same(&l), 1);
	close(c);
}

static void test_reset_peer_is_gone_and_still_the_same_link(void **state)
{
	struct linger hard = { .l_onoff = 1, .l_linger = 0 };
	struct ledgerd_link l;
	int c, s, err = 0;

	(void)state;
	tcp_pair(&c, &s);
	link_of(&l, c);
	/* what a killed process with unread data does: a reset, no FIN */
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_LINGER, &hard, sizeof hard), 0);
	close(s);
	wait_readable(c);
	assert_int_equal(ledgerd_link_same(&l), 1);
	assert_int_equal(ledgerd_link_peer_gone(c, &err), 1);
	assert_int_equal(err, ECONNRESET);
	assert_int_equal(ledgerd_link_same(&l), 1);
	close(c);
}

static void test_other_socket_on_the_same_fd_is_not_the_link(void **state)
{
	struct ledgerd_link l;
	int c, s, c2, s2;

	(void)state;
	tcp_pair(&c, &s);
	link_of(&l, c);
	close(c);
	assert_int_equal(ledgerd_link_same(&l), 0); /* closed: EBADF */
	tcp_pair(&c2, &s2);
	if (c2 != l.fd) { /* make the fd number the old link's */
		assert_int_equal(dup2(c2, l.fd), l.fd);
		close(c2);
	}
	assert_int_equal(ledgerd_link_same(&l), 0);
	close(l.fd);
	close(s);
	close(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_peer_is_not_gone),
		cmocka_unit_test(test_closed_peer_is_gone),
		cmocka_unit_test(test_reset_peer_is_gone_and_still_the_same_link),
		cmocka_unit_test(test_other_socket_on_the_same_fd_is_not_the_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
