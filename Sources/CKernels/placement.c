#define _GNU_SOURCE
#include "helios_kernels.h"
#include <pthread.h>
#include <sched.h>
#include <string.h>

int helios_attr_elsewhere(pthread_attr_t *attr, void *allowed, size_t size) {
    cpu_set_t all, others;
    if (size < sizeof all || sched_getaffinity(0, sizeof all, &all) != 0) return 0;
    others = all;
    int here = sched_getcpu();
    if (here < 0 || here >= CPU_SETSIZE) return 0;
    CPU_CLR(here, &others);
    if (CPU_COUNT(&others) == 0) return 0;
    if (pthread_attr_setaffinity_np(attr, sizeof others, &others) != 0) return 0;
    memcpy(allowed, &all, sizeof all);
    return here + 1;
}

int helios_cpu(void) { return sched_getcpu(); }

int helios_cpu_count(void) {
    cpu_set_t mine;
    return sched_getaffinity(0, sizeof mine, &mine) == 0 ? CPU_COUNT(&mine) : 0;
}

void helios_allow_cpus(const void *allowed) {
    cpu_set_t all;
    memcpy(&all, allowed, sizeof all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
}
