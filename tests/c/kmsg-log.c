// SPDX-License-Identifier: GPL-2.0
/*
 * kmsg-log FILE: copy every kernel log record, from the oldest the ring
 * buffer still holds, to FILE as it is printed ("LEVEL,SEQ,TIME,-;TEXT" as
 * /dev/kmsg gives it, continuation lines included), until killed. Records
 * the ring buffer dropped before they were read (before it started, too)
 * are counted in a line of their own ("kmsg-log: N records lost"). For a guest whose console is not
 * watched by a host runner (a LAVA job): the test reads FILE for splats at
 * its end, which dmesg cannot do once the ring buffer has wrapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long long seq, next = 0;
	char rec[8192];
	int in, out;
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: kmsg-log FILE\n");
		return 2;
	}
	in = open("/dev/kmsg", O_RDONLY);
	out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (in < 0 || out < 0) {
		perror(in < 0 ? "/dev/kmsg" : argv[1]);
		return 1;
	}
	for (;;) {
		n = read(in, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE) {
			/* Overwritten before we read it: the next read resumes. */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("read /dev/kmsg");
			return 1;
		}
		rec[n] = '\0';
		seq = strtoull(strchr(rec, ',') ? strchr(rec, ',') + 1 : "0", NULL, 10);
		/* Records start at 0: a gap, even before the first, is loss. */
		if (seq > next) {
			char lost[64];
			int l = snprintf(lost, sizeof(lost), "kmsg-log: %llu records lost\n",
					 seq - next);

			if (write(out, lost, l) != l)
				return 1;
		}
		next = seq + 1;
		if (rec[n - 1] != '\n')
			rec[n++] = '\n';
		if (write(out, rec, n) != n)
			return 1;
	}
}
