// SPDX-License-Identifier: GPL-2.0
/*
 * timed-write FILE VALUE [FILE VALUE]...: write each VALUE to its FILE, one
 * write(2) each, in order, and print the time all the writes took in
 * microseconds (CLOCK_MONOTONIC, taken right before the first open and after
 * the last close: no fork or exec of the shell is in it). On the first
 * failed write, print "FILE: ERRNO-NAME message" to stderr and exit 1,
 * without writing the rest. Exit status 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	long long t0, t1;
	int i;

	if (argc < 3 || argc % 2 == 0) {
		fprintf(stderr, "usage: timed-write FILE VALUE [FILE VALUE]...\n");
		return 2;
	}
	t0 = now_us();
	for (i = 1; i < argc; i += 2) {
		size_t len = strlen(argv[i + 1]);
		ssize_t n;
		int fd, err;

		fd = open(argv[i], O_WRONLY);
		if (fd < 0) {
			err = errno;
			fprintf(stderr, "%s: open: %s\n", argv[i], strerror(err));
			return 1;
		}
		n = write(fd, argv[i + 1], len);
		err = errno;
		close(fd);
		if (n != (ssize_t)len) {
			fprintf(stderr, "%s: write '%s': %s\n", argv[i], argv[i + 1],
				n < 0 ? strerror(err) : "short write");
			return 1;
		}
	}
	t1 = now_us();
	printf("%lld\n", t1 - t0);
	return 0;
}
