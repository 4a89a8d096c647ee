// SPDX-License-Identifier: GPL-2.0
/*
 * memtouch: allocate memory, fill it with an address-derived pattern and
 * verify it, optionally holding it until a file appears so that a test can
 * offline or migrate the memory underneath and check it afterwards.
 *
 *   memtouch MIB [--hold FILE] [--pass N] [--signals] [--node N]
 *
 * With --node it allocates from NUMA node N only (MPOL_BIND), so that a test
 * can put data on a node whose memory it is about to remove, or show that
 * memory added back to a node is used.
 *
 * With --signals it holds the memory until SIGUSR2: every SIGUSR1 verifies
 * it all again and prints "memtouch: verify N: B bad words" (a test checks
 * the data after each step of a virtio-mem resize while it stays mapped).
 *
 * Exit status 0 when every byte verified, 1 on a mismatch, 2 on usage errors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1, got_usr2;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_usr2 = 1;
}

static uint64_t pattern(uint64_t off, unsigned int pass)
{
	return (off * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)pass << 56) ^ 0x5a5a5a5a5a5a5a5aULL;
}

static size_t verify(uint64_t *p, size_t words, unsigned int pass)
{
	size_t bad = 0;

	for (size_t i = 0; i < words; i++) {
		if (p[i] != pattern(i, pass)) {
			if (bad < 5)
				fprintf(stderr, "memtouch: word %zu: %#llx != %#llx\n", i,
					(unsigned long long)p[i],
					(unsigned long long)pattern(i, pass));
			bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	const char *hold = NULL;
	int signals = 0, node = -1;
	unsigned int pass = 1;
	size_t mib, words, bad;
	uint64_t *p;
	char *end;

	if (argc < 2) {
		fprintf(stderr, "usage: memtouch MIB [--hold FILE] [--pass N]\n");
		return 2;
	}
	errno = 0;
	mib = strtoul(argv[1], &end, 0);
	if (errno || *end || !mib) {
		fprintf(stderr, "memtouch: bad size '%s'\n", argv[1]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			hold = argv[++i];
		else if (!strcmp(argv[i], "--pass") && i + 1 < argc)
			pass = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--signals"))
			signals = 1;
		else if (!strcmp(argv[i], "--node") && i + 1 < argc)
			node = strtol(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "memtouch: bad argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (signals) {
		sigset_t set;
		struct sigaction sa = { .sa_handler = on_signal };

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigaddset(&set, SIGUSR2);
		/* Blocked until we wait for them: none is lost during the fill. */
		sigprocmask(SIG_BLOCK, &set, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGUSR2, &sa, NULL);
	}
	if (node >= 0) {
		/* MPOL_BIND (2); maxnode counts one more bit than the mask has */
		unsigned long mask = 1UL << node;

		if (node >= 64 || syscall(SYS_set_mempolicy, 2, &mask, 65)) {
			fprintf(stderr, "memtouch: cannot bind to node %d: %s\n", node,
				strerror(node >= 64 ? EINVAL : errno));
			return 2;
		}
	}
	words = (mib << 20) / sizeof(uint64_t);
	p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		perror("memtouch: mmap");
		return 1;
	}
	for (size_t i = 0; i < words; i++)
		p[i] = pattern(i, pass);
	bad = verify(p, words, pass);
	printf("memtouch: %zu MiB written and verified, %zu bad words\n", mib, bad);
	fflush(stdout);
	if (hold) {
		/* Wait until the test has done its work, then verify again. */
		while (access(hold, F_OK))
			usleep(20000);
		bad += verify(p, words, pass);
		printf("memtouch: %zu MiB re-verified after hold, %zu bad words\n", mib, bad);
	}
	if (signals) {
		sigset_t none;
		unsigned int n = 0;

		sigemptyset(&none);
		while (!got_usr2) {
			sigsuspend(&none);
			if (got_usr1) {
				size_t b;

				got_usr1 = 0;
				b = verify(p, words, pass);
				bad += b;
				printf("memtouch: verify %u: %zu bad words\n", ++n, b);
				fflush(stdout);
			}
		}
		printf("memtouch: %zu MiB held, %u verifications, %zu bad words in all\n",
		       mib, n, bad);
	}
	munmap(p, mib << 20);
	return bad ? 1 : 0;
}
