// SPDX-License-Identifier: GPL-2.0
/*
 * daxmap FILE MIB [ODIRECT_SRC]: map MIB MiB of FILE (a device-dax character
 * device or a file on a DAX filesystem) shared, and report on it, one
 * "key value" line each:
 *   aligned   1 if the mapping starts on a 2 MiB boundary
 *   pmd / pte / none / devmap   how its 2 MiB chunks are mapped after a write
 *             fault in each (rig_peek's uleaf: the leaf at each chunk start)
 *   fill      ok when a pattern written reads back
 *   fork      ok when a child sees the pattern and its writes reach the parent
 *   odirect   ok when an O_DIRECT read of ODIRECT_SRC into the mapping
 *             (get_user_pages on device pages) matches a buffered read;
 *             "skip" without ODIRECT_SRC
 *   remap     ok when the data is still there after munmap and mmap again
 * Exit status 0 when every check passed, 1 otherwise, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ_2M (2UL << 20)
#define ULEAF "/sys/kernel/debug/rig_peek/uleaf"

static int failed;

static void report(const char *key, int ok)
{
	printf("%s %s\n", key, ok ? "ok" : "fail");
	if (!ok)
		failed = 1;
}

static uint64_t pattern(size_t off, uint64_t seed)
{
	return (off * 0x9e3779b97f4a7c15ULL) ^ seed;
}

static int fill_check(uint64_t *p, size_t len, uint64_t seed, int write)
{
	size_t i, n = len / sizeof(*p);

	for (i = 0; i < n; i += 511) {
		if (write)
			p[i] = pattern(i, seed);
		else if (p[i] != pattern(i, seed))
			return 0;
	}
	return 1;
}

/* The leaf mapping addr in this process, as rig_peek's uleaf reports it. */
static void leaf(void *addr, char *level, char *devmap)
{
	char buf[64];
	int fd = open(ULEAF, O_RDWR);
	ssize_t n;

	strcpy(level, "?");
	strcpy(devmap, "?");
	if (fd < 0)
		return;
	snprintf(buf, sizeof(buf), "0x%lx", (unsigned long)addr);
	if (write(fd, buf, strlen(buf)) < 0)
		goto out;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0) {
		buf[n] = 0;
		sscanf(buf, "%15s %15s", level, devmap);
	}
out:
	close(fd);
}

int main(int argc, char **argv)
{
	size_t len, off;
	unsigned long pmd = 0, pte = 0, none = 0, devmap = 0;
	char lv[16], dm[16];
	uint64_t *p;
	pid_t pid;
	int fd, st;

	if (argc < 3) {
		fprintf(stderr, "usage: daxmap FILE MIB [ODIRECT_SRC]\n");
		return 2;
	}
	len = strtoul(argv[2], NULL, 0) << 20;
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("aligned %d\n", ((unsigned long)p & (SZ_2M - 1)) == 0);

	for (off = 0; off < len; off += SZ_2M) {
		*(volatile uint64_t *)((char *)p + off) = 1;
		leaf((char *)p + off, lv, dm);
		pmd += !strcmp(lv, "pmd");
		pte += !strcmp(lv, "pte");
		none += !strcmp(lv, "none");
		devmap += !strcmp(dm, "devmap");
	}
	printf("pmd %lu\npte %lu\nnone %lu\ndevmap %lu\n", pmd, pte, none, devmap);

	fill_check(p, len, 0x1234, 1);
	report("fill", fill_check(p, len, 0x1234, 0));

	pid = fork();
	if (pid == 0) {
		if (!fill_check(p, len, 0x1234, 0))
			_exit(1);
		fill_check(p, len, 0x5678, 1);
		_exit(0);
	}
	st = -1;
	waitpid(pid, &st, 0);
	report("fork", pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	       fill_check(p, len, 0x5678, 0));

	if (argc > 3) {
		size_t n = len < SZ_2M ? len : SZ_2M;
		char *ref = malloc(n);
		int dfd = open(argv[3], O_RDONLY | O_DIRECT);
		int bfd = open(argv[3], O_RDONLY);
		int ok = ref && dfd >= 0 && bfd >= 0 &&
			 pread(bfd, ref, n, 0) == (ssize_t)n &&
			 pread(dfd, p, n, 0) == (ssize_t)n &&
			 !memcmp(ref, p, n);

		report("odirect", ok);
		/* Put the pattern back for the remap check. */
		fill_check(p, len, 0x5678, 1);
	} else {
		printf("odirect skip\n");
	}

	munmap(p, len);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	report("remap", p != MAP_FAILED && fill_check(p, len, 0x5678, 0));
	return failed;
}
