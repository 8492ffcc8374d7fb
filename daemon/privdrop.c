/* privdrop.c - from root to an unprivileged user after start-up, and no_new_privs always.
 *
 * The sockets (ports below 1024 need root or CAP_NET_BIND_SERVICE), the web server's TLS key
 * (often readable by root only) and the store (in a directory root may own) are opened first;
 * everything that handles datagrams runs after the switch. */
#include "config.h"

#include <errno.h>
#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/privdrop.h"

int privdrop_lookup(const char *name, struct privdrop_user *u, char *err, size_t errlen)
{
    char buf[16384];
    struct passwd pw, *found = NULL;
    int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
    if (!found) {
        snprintf(err, errlen, "user: %s", rc ? strerror(rc) : "no such user");
        return -1;
    }
    if (pw.pw_uid == 0) {
        snprintf(err, errlen, "user: '%s' is root: name an unprivileged user", name);
        return -1;
    }
    u->uid = pw.pw_uid;
    u->gid = pw.pw_gid;
    return 0;
}

void privdrop_start(const char *user)
{
    /* flowhoundd runs no program, so nothing it could exec (a set-uid binary, a file with
     * capabilities) should ever give it more than it has. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        log_warn("cannot set no_new_privs: %s", strerror(errno));
    if (geteuid() == 0 && !user)
        log_warn("running as root for its whole life: set user = NAME (--user NAME) to run as "
                 "NAME once the sockets are bound, or start it as that user (flowhound.service "
                 "does)");
}

/* A store file root created (the database, its -wal and -shm) is given to the user, who must
 * write it from now on, and whose later connections (the web UI's) must open it. lchown does
 * not follow a symbolic link put in its place; a file with other links, or owned by someone
 * else, is left alone (the access check after the switch reports it). The files are not
 * opened here: closing a descriptor of the database would release SQLite's locks on it. */
static int hand_over(const char *path, const struct privdrop_user *u, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_nlink != 1)
        return 0;
    if (lchown(path, u->uid, u->gid) == 0)
        return 0;
    snprintf(err, errlen, "cannot give %s to uid %u: %s", path, (unsigned)u->uid, strerror(errno));
    return -1;
}

/* The store's files, in the order SQLite names them. */
static int for_each_store_file(const char *db, const struct privdrop_user *u,
                               int (*fn)(const char *, const struct privdrop_user *, char *,
                                         size_t),
                               char *err, size_t errlen)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    char path[4096];
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", db, suffix[i]);
        if (fn(path, u, err, errlen))
            return -1;
    }
    return 0;
}

/* The receive journal's directory, made by root at an earlier start, and its segments. */
static int hand_over_dir(const char *dir, const struct privdrop_user *u, char *err, size_t errlen)
{
    struct stat st;
    if (!dir || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0)
        return 0;
    if (lchown(dir, u->uid, u->gid) != 0) {
        snprintf(err, errlen, "cannot give %s to uid %u: %s", dir, (unsigned)u->uid,
                 strerror(errno));
        return -1;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    int rc = 0;
    while (d && rc == 0 && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            rc = hand_over(path, u, err, errlen);
        }
    if (d)
        closedir(d);
    return rc;
}

static int can_write(const char *path, const struct privdrop_user *u, char *err, size_t errlen)
{
    (void)u;
    if (access(path, R_OK | W_OK) == 0 || errno == ENOENT)
        return 0;
    snprintf(err, errlen,
             "after switching user, %s is not readable and writable: %s (the user needs the "
             "store's directory and files)",
             path, strerror(errno));
    return -1;
}

static bool capabilities_left(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &h, d) != 0)
        return true;
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        if (d[i].effective || d[i].permitted)
            return true;
    return false;
}

/* The switch is checked, not assumed: every uid and gid is the user's, no capability is left,
 * and root cannot be had back. */
static int verify(const struct privdrop_user *u, char *err, size_t errlen)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) || getresgid(&rg, &eg, &sg) || r != u->uid || e != u->uid ||
        s != u->uid || rg != u->gid || eg != u->gid || sg != u->gid) {
        snprintf(err, errlen, "user: the switch to uid %u gid %u did not take", (unsigned)u->uid,
                 (unsigned)u->gid);
        return -1;
    }
    if (capabilities_left() || setuid(0) == 0) {
        snprintf(err, errlen, "user: privileges remain after the switch to uid %u",
                 (unsigned)u->uid);
        return -1;
    }
    return 0;
}

int privdrop_apply(const char *user, const char *db, const char *journal_dir, char *err,
                   size_t errlen)
{
    struct privdrop_user u;
    if (privdrop_lookup(user, &u, err, errlen))
        return -1;
    if (getuid() == u.uid && geteuid() == u.uid)
        return 0;
    if (geteuid() != 0) {
        snprintf(err, errlen, "user: only root can switch to '%s' (running as uid %u)", user,
                 (unsigned)geteuid());
        return -1;
    }
    if (for_each_store_file(db, &u, hand_over, err, errlen) ||
        hand_over_dir(journal_dir, &u, err, errlen))
        return -1;
    /* glibc applies each of these to every thread of the process (the web server's and alert
     * delivery's already run). Groups first: after setresuid they could not be changed. */
    if (setgroups(0, NULL) || setresgid(u.gid, u.gid, u.gid) || setresuid(u.uid, u.uid, u.uid)) {
        snprintf(err, errlen, "user: cannot switch to '%s': %s", user, strerror(errno));
        return -1;
    }
    if (verify(&u, err, errlen) || for_each_store_file(db, &u, can_write, err, errlen))
        return -1;
    log_info("running as user %s (uid %u, gid %u)", user, (unsigned)u.uid, (unsigned)u.gid);
    return 0;
}
