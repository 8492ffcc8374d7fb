/* filter_gen.h - random flows and filters for the differential filter tests (filter_gen.c). */
#ifndef FLOWHOUND_TEST_FILTER_GEN_H
#define FLOWHOUND_TEST_FILTER_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"

/* Received at T0 + i * 3.6 s: flow i is recognised by its received_ms. */
#define T0 1795455000000LL

struct out {
    char s[4096];
    size_t n;
};

/* A random number below n (the generators' own sequence). */
unsigned fg_pick(unsigned n);
/* Flow number i of the random set (the same on every run). */
void fg_random_flow(struct flow *f, int i);
/* A random filter text into o. */
void fg_filter(struct out *o);

#endif
