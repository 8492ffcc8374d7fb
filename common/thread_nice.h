/* thread_nice.h - a lower CPU priority for the calling thread (Linux: nice is per thread).
 *
 * The receiving thread must never wait for the others' CPU: what it does not read in time
 * the kernel drops, while what the decoder and the writer delay only waits in the receive
 * journal. On a busy core (or a process pinned to one) they run below it. */
#ifndef FLOWHOUND_THREAD_NICE_H
#define FLOWHOUND_THREAD_NICE_H

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

/* Nice values of the stages below the receiver (0). */
#define DECODER_NICE 3
#define WRITER_NICE  5

static inline void thread_nice(const char *who, int nice)
{
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) != 0)
        log_debug("%s: cannot lower its priority: %s", who, strerror(errno));
}

#endif
