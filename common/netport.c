#include "common/netport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bind ip:port; the port actually bound (port 0: the kernel's pick), or -1. */
static int bind_once(const char *ip, int port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), got = -1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &sa.sin_addr) == 1 &&
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		got = ntohs(sa.sin_port);
	close(fd);
	return got;
}

int net_port_free(const char *ip, int port)
{
	return port > 0 && bind_once(ip, port) == port;
}

int net_free_port(const char *ip, int preferred)
{
	if (net_port_free(ip, preferred))
		return preferred;
	return bind_once(ip, 0);
}
