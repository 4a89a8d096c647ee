// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs-write FILE VALUE: write VALUE to FILE in one write(2) and report the
 * outcome as the kernel gave it: "ok", or the errno name and message.
 * Exit status 0 on success, 1 when the write failed, 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *errno_name(int err)
{
	switch (err) {
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EBUSY: return "EBUSY";
	case E2BIG: return "E2BIG";
	case ERANGE: return "ERANGE";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	case ENOSPC: return "ENOSPC";
	case EFAULT: return "EFAULT";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case EACCES: return "EACCES";
	case EIO: return "EIO";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "E?";
	}
}

int main(int argc, char **argv)
{
	ssize_t n;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: sysfs-write FILE VALUE\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY);
	if (fd < 0) {
		printf("%s %s (open)\n", errno_name(errno), strerror(errno));
		return 1;
	}
	n = write(fd, argv[2], strlen(argv[2]));
	if (n < 0) {
		printf("%s %s\n", errno_name(errno), strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	printf("ok\n");
	return 0;
}
