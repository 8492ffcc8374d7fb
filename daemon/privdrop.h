/* privdrop.h - least privilege for flowhoundd: it never gains privileges (no_new_privs), and
 * started as root with `user = NAME` it becomes that user once its sockets are bound and its
 * store is open, so that a flaw in a decoder fed by the network is not a root compromise. */
#ifndef FLOWHOUND_PRIVDROP_H
#define FLOWHOUND_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

struct privdrop_user {
    uid_t uid;
    gid_t gid; /* the user's own group (from passwd) */
};

/* Looks NAME up in the user database. Returns 0, or -1 with a message (no such user, or
 * root itself). */
int privdrop_lookup(const char *name, struct privdrop_user *u, char *err, size_t errlen);

/* Before the first thread: sets no_new_privs (inherited by every thread and child), and warns
 * when running as root without `user`. */
void privdrop_start(const char *user);

/* After binding and opening the store at `db`: becomes `user` (supplementary groups cleared,
 * real/effective/saved uid and gid all set, no capability left) and checks that root cannot be
 * had back. The store's files that root created, and the receive journal's directory
 * (journal_dir, may be NULL) with its files, are handed to the user first. Nothing to do
 * when already running as that user (systemd's User=). Returns 0, or -1 with a message. */
int privdrop_apply(const char *user, const char *db, const char *journal_dir, char *err,
                   size_t errlen);

#endif
