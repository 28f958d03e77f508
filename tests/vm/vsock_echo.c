/* vsock_echo.c - a guest-side test program for berth's virtio-vsock device:
 * listens on AF_VSOCK port PORT (default 1024, where berth's guest agent
 * listens), serves COUNT connections (default 1; 0: for ever), each in
 * its own child, echoing every byte back; at the host's EOF it shuts its
 * own sending side and closes. Prints its CID and one line per connection
 * to stdout. Built static (gcc -static -O2 -o vsock_echo vsock_echo.c) and
 * put into a test initramfs. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Echo until EOF; returns the bytes echoed, or -1 on an error. */
static long echo(int fd)
{
	static char buf[65536];
	long total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			off += w;
		}
		total += n;
	}
	shutdown(fd, SHUT_WR);
	return total;
}

int main(int argc, char **argv)
{
	unsigned port = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1024;
	long count = argc > 2 ? strtol(argv[2], NULL, 10) : 1;
	unsigned cid = 0;
	int dev = open("/dev/vsock", O_RDONLY);
	if (dev >= 0 && ioctl(dev, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) == 0)
		printf("vsock_echo: local CID %u\n", cid);
	if (dev >= 0)
		close(dev);
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0) {
		perror("vsock_echo: socket(AF_VSOCK)");
		return 1;
	}
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				  .svm_port = port };
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 8) < 0) {
		perror("vsock_echo: bind/listen");
		return 1;
	}
	printf("vsock_echo: listening on port %u\n", port);
	fflush(stdout);
	for (long served = 0; count == 0 || served < count; served++) {
		struct sockaddr_vm peer;
		socklen_t len = sizeof(peer);
		int c = accept(s, (struct sockaddr *)&peer, &len);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			perror("vsock_echo: accept");
			return 1;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(s);
			long n = echo(c);
			printf("vsock_echo: connection from CID %u port %u: echoed %ld bytes\n",
			       peer.svm_cid, peer.svm_port, n);
			fflush(stdout);
			_exit(n < 0);
		}
		close(c);
		while (waitpid(-1, NULL, WNOHANG) > 0) {
		}
	}
	while (wait(NULL) > 0) {
	}
	printf("vsock_echo: done\n");
	fflush(stdout);
	return 0;
}
