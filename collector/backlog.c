/* backlog.c - a FIFO of raw datagrams in large chunks (see backlog.h for why). */
#include "config.h"

#include <string.h>
#include <sys/mman.h>

#include "collector/backlog.h"
#include "common/counter.h"

/* 4 MiB, mapped and unmapped directly: malloc would keep freed chunks in its arena after its
 * mmap threshold adapts, and the memory a burst took must go back to the system when it is
 * drained. Small enough that a drained backlog keeps little. */
#define CHUNK_BYTES (4u << 20)
#define ALIGN       8u

struct backlog_chunk {
    struct backlog_chunk *next;
    size_t used, read;
    uint8_t data[];
};

#define CHUNK_DATA (CHUNK_BYTES - sizeof(struct backlog_chunk))

static size_t entry_size(uint32_t len)
{
    size_t n = sizeof(struct backlog_item) + len;
    return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

static struct backlog_chunk *chunk_new(void)
{
    void *p = mmap(NULL, CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void chunk_free(struct backlog_chunk *c)
{
    munmap(c, CHUNK_BYTES);
}

void backlog_init(struct backlog *b, size_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit;
}

void backlog_free(struct backlog *b)
{
    while (b->head) {
        struct backlog_chunk *c = b->head;
        b->head = c->next;
        chunk_free(c);
    }
    b->tail = NULL;
    COUNTER_SET(b->bytes, 0);
    COUNTER_SET(b->count, 0);
}

bool backlog_room_for(const struct backlog *b, size_t n)
{
    size_t need = n * entry_size(BACKLOG_MAX_DATAGRAM);
    size_t in_tail = b->tail ? CHUNK_DATA - b->tail->used : 0;
    if (need <= in_tail)
        return true;
    size_t chunks = (need - in_tail + CHUNK_DATA - 1) / CHUNK_DATA;
    return b->bytes + chunks * CHUNK_BYTES <= b->limit;
}

bool backlog_push(struct backlog *b, const struct backlog_item *it, const uint8_t *data)
{
    if (it->len > BACKLOG_MAX_DATAGRAM)
        return false;
    size_t sz = entry_size(it->len);
    if (!b->tail || CHUNK_DATA - b->tail->used < sz) {
        if (b->bytes + CHUNK_BYTES > b->limit)
            return false;
        struct backlog_chunk *c = chunk_new();
        if (!c)
            return false;
        c->next = NULL;
        c->used = c->read = 0;
        if (b->tail)
            b->tail->next = c;
        else
            b->head = c;
        b->tail = c;
        COUNTER_ADD(b->bytes, CHUNK_BYTES);
        if (b->bytes > b->peak_bytes)
            COUNTER_SET(b->peak_bytes, b->bytes);
    }
    uint8_t *p = b->tail->data + b->tail->used;
    memcpy(p, it, sizeof(*it));
    memcpy(p + sizeof(*it), data, it->len);
    b->tail->used += sz;
    COUNTER_ADD(b->count, 1);
    COUNTER_ADD(b->total, 1);
    return true;
}

const struct backlog_item *backlog_peek(const struct backlog *b, const uint8_t **data)
{
    if (!b->count)
        return NULL;
    struct backlog_chunk *c = b->head;
    const struct backlog_item *it = (const struct backlog_item *)(c->data + c->read);
    *data = c->data + c->read + sizeof(*it);
    return it;
}

void backlog_pop(struct backlog *b)
{
    if (!b->count)
        return;
    struct backlog_chunk *c = b->head;
    const struct backlog_item *it = (const struct backlog_item *)(c->data + c->read);
    c->read += entry_size(it->len);
    COUNTER_SUB(b->count, 1);
    if (c->read < c->used)
        return;
    /* Chunk drained: free it (even the last one, so an idle daemon holds nothing). */
    b->head = c->next;
    if (!b->head)
        b->tail = NULL;
    COUNTER_SUB(b->bytes, CHUNK_BYTES);
    chunk_free(c);
}
