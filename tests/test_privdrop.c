/* test_privdrop.c - least privilege, read from /proc: started as root with --user, flowhoundd
 * ends with every uid and gid the user's, no supplementary group, no capability and
 * no_new_privs, and still stores flows and answers the web UI (whose store connections are
 * opened after the switch). Switching users needs root: those tests are skipped without it. */
#include "config.h"

#include <criterion/criterion.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/web/webtest.h"

/* The value of one line of /proc/PID/status ("Uid:\t0\t0\t0\t0" -> "0\t0\t0\t0"). */
static const char *proc_status(pid_t pid, const char *field)
{
    static char value[256];
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    size_t n = strlen(field);
    value[0] = '\0';
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, n) != 0 || line[n] != ':')
            continue;
        char *v = line + n + 1;
        v += strspn(v, " \t");
        v[strcspn(v, "\n")] = '\0';
        snprintf(value, sizeof(value), "%s", v);
        break;
    }
    fclose(f);
    return value;
}

/* Does the file hold `text` (no single quote in it)? */
static bool file_has(const char *path, const char *text)
{
    return th_system("grep -qF -- '%s' '%s'", text, path) == 0;
}

static const struct passwd *need_root_and_nobody(void)
{
    if (geteuid() != 0)
        cr_skip_test("switching users needs root");
    const struct passwd *pw = getpwnam("nobody");
    if (!pw)
        cr_skip_test("no user 'nobody'");
    return pw;
}

Test(privdrop, root_with_user_runs_as_that_user_and_still_stores, .timeout = 60)
{
    const struct passwd *pw = need_root_and_nobody();
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    /* A supplementary group to lose (this test runs in a process of its own). */
    gid_t root_group = 0;
    cr_assert_eq(setgroups(1, &root_group), 0);
    struct th_daemon d = {0};
    /* The user's own directory, as /var/lib/flowhound is flowhound's: the store is created
     * there by root, then handed over. */
    d.dir = th_tmpdir();
    cr_assert_eq(chown(d.dir, uid, gid), 0);
    static const char *const args[] = {"--user", "nobody", NULL};
    char addr[128];
    wt_start(&d, args, addr, sizeof(addr));

    char ids[64];
    snprintf(ids, sizeof(ids), "%u\t%u\t%u\t%u", (unsigned)uid, uid, uid, uid);
    cr_expect_str_eq(proc_status(d.pid, "Uid"), ids, "real, effective, saved and fs uid");
    snprintf(ids, sizeof(ids), "%u\t%u\t%u\t%u", (unsigned)gid, gid, gid, gid);
    cr_expect_str_eq(proc_status(d.pid, "Gid"), ids, "real, effective, saved and fs gid");
    cr_expect_str_eq(proc_status(d.pid, "Groups"), "", "no supplementary group");
    cr_expect_str_eq(proc_status(d.pid, "CapEff"), "0000000000000000");
    cr_expect_str_eq(proc_status(d.pid, "CapPrm"), "0000000000000000");
    cr_expect_str_eq(proc_status(d.pid, "CapAmb"), "0000000000000000");
    cr_expect_str_eq(proc_status(d.pid, "NoNewPrivs"), "1");

    cr_assert_gt(th_replay(th_shared_path("corpus/v5_mikrotik.pcap"), d.port, 1000, 0), 0);
    cr_expect_eq(th_db_wait(d.db, "SELECT count(*) FROM flows", 30, 10000), 30);
    json_t *page = wt_get_json(addr, "/api/v1/flows?limit=1", 200);
    cr_expect_eq(json_array_size(json_object_get(page, "flows")), 1,
                 "the web UI reads the store as the user");
    json_decref(page);
    cr_expect_eq(th_daemon_stop(&d), 0);

    struct stat st;
    cr_assert_eq(stat(d.db, &st), 0);
    cr_expect_eq(st.st_uid, uid, "the store root created belongs to the user");
    cr_expect(file_has(d.log, "running as user nobody"));
    cr_expect_not(file_has(d.log, "running as root"));
    th_daemon_cleanup(&d);
}

Test(privdrop, without_user_it_never_gains_privileges_and_root_is_warned, .timeout = 60)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    cr_expect_str_eq(proc_status(d.pid, "NoNewPrivs"), "1");
    cr_expect_eq(th_daemon_stop(&d), 0);
    if (geteuid() == 0)
        cr_expect(file_has(d.log, "[warning]: running as root"), "root without --user is warned");
    else
        cr_expect_not(file_has(d.log, "running as root"));
    th_daemon_cleanup(&d);
}

/* Runs flowhoundd (through `prefix`, e.g. setpriv) with `args`; returns its exit status, its
 * output in dir/out. */
static int run_daemon(const char *dir, const char *prefix, const char *args)
{
    return th_system("%s '%s/flowhoundd' %s >'%s/out' 2>&1", prefix, th_builddir(), args, dir);
}

Test(privdrop, unknown_user_and_root_are_refused_by_check_config)
{
    char *dir = th_tmpdir(), out[600];
    snprintf(out, sizeof(out), "%s/out", dir);
    cr_expect_eq(run_daemon(dir, "", "--check-config --web off --user no-such-user-fh14"), 2);
    cr_expect(file_has(out, "flowhoundd: user: no such user"));
    cr_expect_eq(run_daemon(dir, "", "--check-config --web off --user root"), 2);
    cr_expect(file_has(out, "is root: name an unprivileged user"));
    th_rmtree(dir);
    free(dir);
}

/* flowhoundd with its store in dir, started through `prefix` with --user `user`, stops at
 * start (exit 1) and says `why`. */
static void expect_refused_at_start(const char *dir, const char *prefix, const char *user,
                                    const char *why)
{
    char args[1024], out[600];
    snprintf(args, sizeof(args), "--db '%s/flows.db' --listen 127.0.0.1:0 --web off --user %s", dir,
             user);
    snprintf(out, sizeof(out), "%s/out", dir);
    cr_expect_eq(run_daemon(dir, prefix, args), 1);
    cr_expect(file_has(out, why), "the log says: %s", why);
}

Test(privdrop, a_store_the_user_cannot_write_stops_the_start, .timeout = 60)
{
    need_root_and_nobody();
    /* The store in root's 0700 directory: the user could not open it again (the web UI's
     * connections), so the start fails and says why instead of failing later. */
    char *dir = th_tmpdir();
    expect_refused_at_start(dir, "", "nobody", "flows.db is not readable and writable");
    th_rmtree(dir);
    free(dir);
}

Test(privdrop, only_root_can_switch_users, .timeout = 60)
{
    const struct passwd *pw = need_root_and_nobody();
    char *dir = th_tmpdir();
    cr_assert_eq(chown(dir, pw->pw_uid, pw->pw_gid), 0);
    expect_refused_at_start(dir, "setpriv --reuid=nobody --regid=nogroup --clear-groups", "daemon",
                            "only root can switch to");
    th_rmtree(dir);
    free(dir);
}
