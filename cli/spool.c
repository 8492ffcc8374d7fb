/* spool.c - `flowhound query` lets go of the store's snapshot when its query is done, not
 * when its output has been read.
 *
 * A reader holds its snapshot of the store until its statement ends, and while it does,
 * flowhoundd's WAL cannot be emptied and grows by every page written (storage/wal.c; ~3 MB a
 * second at 20k flows/s). Rows printed straight into a pipe that nobody reads (`| less` left
 * open) held it for as long as the pager stayed open. So while the query runs, fd 1 is an
 * unlinked temporary file, and a thread copies it to the real output as fast as that is
 * read: the query reads the store at its own pace and ends; the rows not read yet wait on
 * disk, and the part already copied is given back (a hole punched where the file system
 * can). A regular file as output never waits for a reader: it is written directly. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/spool.h"

#define CHUNK   65536
#define IDLE_US 10000 /* the copier's nap when it has caught up with the query */

/* An unlinked temporary file in $TMPDIR (or /tmp); -1 if none can be made. */
static int temp_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/flowhound-query-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copies the temporary file to the real output until the query is done and all is copied.
 * `done` is read before each read of the file, so the pass after it turned true sees all. */
static void *copy(void *arg)
{
    struct spool *sp = arg;
    char buf[CHUNK];
    for (;;) {
        bool done = atomic_load(&sp->done);
        ssize_t n = pread(sp->tmp_fd, buf, sizeof(buf), sp->copied);
        if (n > 0) {
            if (write_all(sp->out_fd, buf, (size_t)n)) {
                sp->error = errno;
                return NULL;
            }
            /* best effort: not every file system has holes */
            (void)fallocate(sp->tmp_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, sp->copied, n);
            sp->copied += n;
        } else if (n < 0 && errno != EINTR) {
            sp->error = errno;
            return NULL;
        } else if (done) {
            return NULL;
        } else {
            usleep(IDLE_US);
        }
    }
}

void spool_start(struct spool *sp)
{
    struct stat st;
    memset(sp, 0, sizeof(*sp));
    atomic_init(&sp->done, false);
    if (fstat(STDOUT_FILENO, &st) != 0 || S_ISREG(st.st_mode))
        return;
    fflush(stdout);
    sp->tmp_fd = temp_file();
    if (sp->tmp_fd < 0)
        return;
    sp->out_fd = dup(STDOUT_FILENO);
    if (sp->out_fd < 0 || dup2(sp->tmp_fd, STDOUT_FILENO) < 0) {
        if (sp->out_fd >= 0)
            close(sp->out_fd);
        close(sp->tmp_fd);
        return;
    }
    if (pthread_create(&sp->copier, NULL, copy, sp) != 0) {
        dup2(sp->out_fd, STDOUT_FILENO);
        close(sp->out_fd);
        close(sp->tmp_fd);
        return;
    }
    sp->on = true;
}

int spool_finish(struct spool *sp)
{
    if (!sp->on)
        return 0;
    fflush(stdout);
    atomic_store(&sp->done, true);
    pthread_join(sp->copier, NULL);
    dup2(sp->out_fd, STDOUT_FILENO);
    close(sp->out_fd);
    close(sp->tmp_fd);
    sp->on = false;
    if (!sp->error)
        return 0;
    errno = sp->error;
    return -1;
}
