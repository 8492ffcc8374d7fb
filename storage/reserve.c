/* reserve.c - room on the store's disk kept for the last words.
 *
 * When the disk fills, every commit fails, and so would the last one at shutdown: the one
 * that writes the exporter counters saying how many flows were lost (dropped_store ...). In
 * WAL mode even a counters-only transaction appends frames to the -wal file, so it needs
 * free blocks, and freeing SQLite pages (dropping a table) gives none back to the disk. So
 * the writer keeps a file of STORE_RESERVE_BYTES beside the store, its blocks allocated
 * (posix_fallocate, not a sparse file), and deletes it when the store is full at shutdown
 * (storage/writer.c), so that those counters fit; it is made again at the next start. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "storage/store_int.h"

/* The reserve's path: beside a writer's store on disk (one with a WAL file), else NULL. */
static char *reserve_path(const struct store *s)
{
    return s->wal_path ? xasprintf("%s-reserve", s->path) : NULL;
}

int store_reserve_make(struct store *s, char *err, size_t errlen)
{
    char *path = reserve_path(s);
    if (!path)
        return 0;
    int rc = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    int e = fd < 0 ? errno : posix_fallocate(fd, 0, STORE_RESERVE_BYTES);
    if (e) {
        snprintf(err, errlen, "%s: cannot reserve %lld MiB for the final counters: %s", path,
                 (long long)(STORE_RESERVE_BYTES >> 20), strerror(e));
        rc = -1;
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

bool store_reserve_release(struct store *s)
{
    char *path = reserve_path(s);
    bool freed = path && unlink(path) == 0;
    free(path);
    return freed;
}

int64_t store_reserve_bytes(const struct store *s)
{
    char *path = reserve_path(s);
    struct stat st;
    int64_t n = path && stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
    free(path);
    return n;
}
