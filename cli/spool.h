/* spool.h - standard output through a temporary file while a query runs, so that a reader
 * who is slow, or gone to lunch with `| less` open, never keeps the store's snapshot (and so
 * flowhoundd's WAL) held: see spool.c. */
#ifndef FLOWHOUND_SPOOL_H
#define FLOWHOUND_SPOOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

struct spool {
    bool on;      /* spooling (stdout can block: a pipe, a terminal, a socket) */
    int out_fd;   /* the real standard output, while fd 1 is the temporary file */
    int tmp_fd;   /* the temporary file (unlinked) */
    off_t copied; /* bytes of it copied to out_fd (the copier's) */
    int error;    /* errno of a failed write to out_fd (the copier's, read after join) */
    atomic_bool done;
    pthread_t copier;
};

/* From here on, what is written to stdout goes to a temporary file that a thread copies to
 * the real output as fast as it is read; a no-op when stdout is a regular file (it never
 * waits for a reader) or no temporary file can be made (then stdout is written directly). */
void spool_start(struct spool *sp);
/* Flushes stdout, waits until everything is copied, gives fd 1 back. 0, or -1 with errno
 * when the output could not be written. */
int spool_finish(struct spool *sp);

#endif
