// SPDX-License-Identifier: GPL-2.0
/* mstime: print CLOCK_MONOTONIC in milliseconds, for timing in shell tests. */
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return 1;
	printf("%lld\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	return 0;
}
