#include "policy/policy_compiled.h"

#include <stdalign.h>
#include <stddef.h>

/*
 * Bump allocation over chunks from core_buf_init (core/ owns malloc). The
 * first bytes of every chunk hold the core_buf of the next chunk.
 */

#define ARENA_CHUNK_BYTES 4096u
/* One compiled document can never need more than this. */
#define ARENA_MAX_BYTES (64u * 1024u * 1024u)

struct chunk_hdr {
    struct core_buf next;
};

#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((size_t)(a)-1))
#define HDR_BYTES ALIGN_UP(sizeof(struct chunk_hdr), alignof(max_align_t))

void pol_arena_init(struct pol_arena *a) { *a = (struct pol_arena){.cur = NULL}; }

static core_result new_chunk(struct pol_arena *a, size_t need)
{
    size_t size = ARENA_CHUNK_BYTES;
    ENSURE(need <= ARENA_MAX_BYTES, ERR_LIMIT);
    if (need + HDR_BYTES > size) size = need + HDR_BYTES;
    ENSURE(a->total + size <= ARENA_MAX_BYTES, ERR_LIMIT);
    struct core_buf *slot = a->cur ? &((struct chunk_hdr *)a->cur->data)->next : &a->head;
    GUARD(core_buf_init(slot, size, size));
    memset(slot->data, 0, size);
    a->cur = slot;
    a->off = HDR_BYTES;
    a->total += size;
    CORE_OK;
}

core_result pol_arena_alloc(struct pol_arena *a, size_t n, void **out)
{
    *out = NULL;
    if (n == 0) n = 1;
    ENSURE(n <= ARENA_MAX_BYTES, ERR_LIMIT);
    size_t off = a->cur ? ALIGN_UP(a->off, alignof(max_align_t)) : 0;
    if (a->cur == NULL || off > a->cur->cap || a->cur->cap - off < n) {
        GUARD(new_chunk(a, n));
        off = a->off;
    }
    *out = a->cur->data + off;
    a->off = off + n;
    CORE_OK;
}

void pol_arena_release(struct pol_arena *a)
{
    /* a may sit inside the first chunk: copy the head out before freeing. */
    struct core_buf b = a->head;
    while (b.data != NULL) {
        struct core_buf next = ((struct chunk_hdr *)b.data)->next;
        core_buf_free(&b);
        b = next;
    }
}
