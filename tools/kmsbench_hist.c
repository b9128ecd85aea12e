/*
 * Latency histogram and error tally. Each client thread owns one of each
 * and records without locks or allocation; kb_run merges them at the end.
 */
#include <stdio.h>
#include <string.h>

#include "tools/kmsbench.h"

void kb_hist_reset(struct kb_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

static unsigned bucket_of(uint64_t v)
{
    if (v < KB_HIST_SUB) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= KB_HIST_SUB_BITS */
    unsigned shift = e - (KB_HIST_SUB_BITS - 1u);
    unsigned sub = (unsigned)(v >> shift); /* in [HALF, SUB) */
    return KB_HIST_SUB + (e - KB_HIST_SUB_BITS) * KB_HIST_HALF + (sub - KB_HIST_HALF);
}

/* The highest value that lands in bucket b. */
static uint64_t bucket_high(unsigned b)
{
    if (b < KB_HIST_SUB) return b;
    unsigned rel = b - KB_HIST_SUB;
    unsigned e = rel / KB_HIST_HALF + KB_HIST_SUB_BITS;
    uint64_t sub = rel % KB_HIST_HALF + KB_HIST_HALF;
    unsigned shift = e - (KB_HIST_SUB_BITS - 1u);
    return ((sub + 1u) << shift) - 1u;
}

void kb_hist_record(struct kb_hist *h, uint64_t ns)
{
    h->counts[bucket_of(ns)]++;
    h->total++;
    h->sum += ns;
    if (ns < h->min) h->min = ns;
    if (ns > h->max) h->max = ns;
}

void kb_hist_merge(struct kb_hist *into, const struct kb_hist *from)
{
    for (unsigned i = 0; i < KB_HIST_BUCKETS; i++) into->counts[i] += from->counts[i];
    into->total += from->total;
    into->sum += from->sum;
    if (from->min < into->min) into->min = from->min;
    if (from->max > into->max) into->max = from->max;
}

uint64_t kb_hist_quantile(const struct kb_hist *h, double q)
{
    if (h->total == 0) return 0;
    if (q >= 1.0) return h->max;
    /* The smallest value with at least ceil(q * total) samples at or below it. */
    double want_d = q * (double)h->total;
    uint64_t want = (uint64_t)want_d;
    if ((double)want < want_d) want++;
    if (want == 0) want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < KB_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            uint64_t v = bucket_high(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

void kb_errors_add(struct kb_errors *e, const char *code, uint64_t n)
{
    for (unsigned i = 0; i < e->n; i++)
        if (strcmp(e->code[i], code) == 0) {
            e->count[i] += n;
            return;
        }
    if (e->n == KB_MAX_ERROR_CODES) {
        e->other += n;
        return;
    }
    snprintf(e->code[e->n], KB_ERROR_CODE_BYTES, "%s", code);
    e->count[e->n++] = n;
}

void kb_errors_merge(struct kb_errors *into, const struct kb_errors *from)
{
    for (unsigned i = 0; i < from->n; i++) kb_errors_add(into, from->code[i], from->count[i]);
    into->other += from->other;
}
