// SPDX-License-Identifier: GPL-2.0
/*
 * pageflags PHYS SIZE: summarise /proc/kpageflags over a physical range, to
 * show what keeps a memory block from going offline (slab, page tables,
 * reserved pages...). Prints one line per distinct flag combination that is
 * neither free (buddy) nor on an LRU list, with a page count.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define KPF_LRU		5
#define KPF_BUDDY	10

static const char *names[64] = {
	[0] = "locked", [2] = "referenced", [3] = "uptodate", [4] = "dirty",
	[5] = "lru", [6] = "active", [7] = "slab", [8] = "writeback",
	[9] = "reclaim", [10] = "buddy", [11] = "mmap", [12] = "anon",
	[13] = "swapcache", [14] = "swapbacked", [15] = "compound_head",
	[16] = "compound_tail", [17] = "huge", [18] = "unevictable",
	[19] = "hwpoison", [20] = "nopage", [21] = "ksm", [22] = "thp",
	[23] = "offline", [24] = "zero_page", [25] = "idle", [26] = "pgtable",
	[32] = "reserved", [33] = "mlocked", [34] = "mappedtodisk",
	[35] = "private", [36] = "private_2", [37] = "owner_private",
	[38] = "arch", [39] = "uncached", [40] = "softdirty", [41] = "arch_2",
};

int main(int argc, char **argv)
{
	uint64_t combos[64], counts[64], flags, buf[512];
	unsigned long long phys, size, pfn, end;
	int fd, n = 0, i;

	if (argc != 3) {
		fprintf(stderr, "usage: pageflags PHYS SIZE\n");
		return 2;
	}
	phys = strtoull(argv[1], NULL, 0);
	size = strtoull(argv[2], NULL, 0);
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0) {
		perror("pageflags: /proc/kpageflags");
		return 1;
	}
	end = (phys + size) >> 12;
	for (pfn = phys >> 12; pfn < end; pfn++) {
		/* 512 entries per read: a 1 GiB range is 512 reads, not 262144 */
		if (!((pfn - (phys >> 12)) % 512)) {
			unsigned long long want = end - pfn < 512 ? end - pfn : 512;
			ssize_t got = pread(fd, buf, want * 8, pfn * 8);

			if (got < (ssize_t)(want * 8))
				end = pfn + (got > 0 ? got / 8 : 0);
			if (pfn >= end)
				break;
		}
		flags = buf[(pfn - (phys >> 12)) % 512];
		if (flags & ((1ULL << KPF_BUDDY) | (1ULL << KPF_LRU)))
			continue;
		for (i = 0; i < n && combos[i] != flags; i++)
			;
		if (i == n) {
			if (n == 64)
				continue;
			combos[n] = flags;
			counts[n++] = 0;
		}
		counts[i]++;
	}
	for (i = 0; i < n; i++) {
		printf("%8" PRIu64 " pages:", counts[i]);
		for (int b = 0; b < 64; b++)
			if (combos[i] & (1ULL << b))
				printf(" %s", names[b] ? names[b] : "?");
		printf("\n");
	}
	close(fd);
	return 0;
}
