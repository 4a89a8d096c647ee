// SPDX-License-Identifier: GPL-2.0
/*
 * hmm-migrate DEV MIB: migrate MIB MiB of anonymous memory to the device
 * memory of lib/test_hmm's DEV (/dev/hmm_dmirrorN) and back by touching it,
 * checking the data: one use of device-private or device-coherent memory,
 * enough to make the driver allocate a chunk that rmmod must tear down.
 * Exit status 0 when the data survived both ways, 1 otherwise, 2 on usage.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/types.h>

/* lib/test_hmm_uapi.h */
struct hmm_dmirror_cmd {
	__u64 addr;
	__u64 ptr;
	__u64 npages;
	__u64 cpages;
	__u64 faults;
};
#define HMM_DMIRROR_MIGRATE_TO_DEV _IOWR('H', 0x02, struct hmm_dmirror_cmd)

int main(int argc, char **argv)
{
	struct hmm_dmirror_cmd cmd = { 0 };
	size_t len, i, n;
	uint64_t *p, *mirror;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: hmm-migrate DEV MIB\n");
		return 2;
	}
	len = strtoul(argv[2], NULL, 0) << 20;
	n = len / sizeof(*p);
	fd = open(argv[1], O_RDWR);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mirror = malloc(len);
	if (fd < 0 || p == MAP_FAILED || !mirror) {
		perror(argv[1]);
		return 1;
	}
	for (i = 0; i < n; i++)
		p[i] = i * 0x9e3779b97f4a7c15ULL;
	cmd.addr = (uintptr_t)p;
	cmd.ptr = (uintptr_t)mirror;
	cmd.npages = len / getpagesize();
	if (ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, &cmd)) {
		perror("HMM_DMIRROR_MIGRATE_TO_DEV");
		return 1;
	}
	printf("migrated %llu of %llu pages to the device\n",
	       (unsigned long long)cmd.cpages, (unsigned long long)cmd.npages);
	/* CPU faults bring device-private pages back to system memory. */
	for (i = 0; i < n; i++)
		if (p[i] != i * 0x9e3779b97f4a7c15ULL) {
			fprintf(stderr, "mismatch at word %zu\n", i);
			return 1;
		}
	return cmd.cpages == cmd.npages ? 0 : 1;
}
