/* rsyslog.c - start, stop and read a real rsyslog for the tests. */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/rsyslog.h"

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A UDP port nobody uses now on 127.0.0.1 (rsyslog's imudp cannot report the one it picks). */
static uint16_t free_udp_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t sl = sizeof(sa);
    cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    return ntohs(sa.sin_port);
}

static bool udp_port_taken(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    bool taken = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

static bool tcp_port_open(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void make_certs(struct rs *r)
{
    int rc = th_system(
        "cd '%s' && "
        "certtool --generate-privkey --key-type=ecdsa --outfile ca.key 2>/dev/null && "
        "printf 'cn = \"flowhound test CA\"\\nca\\ncert_signing_key\\nexpiration_days = 2\\n' "
        "> ca.tmpl && "
        "certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl "
        "--outfile ca.pem 2>/dev/null && "
        "certtool --generate-privkey --key-type=ecdsa --outfile srv.key 2>/dev/null && "
        "printf 'cn = \"localhost\"\\ndns_name = \"localhost\"\\nip_address = \"127.0.0.1\"\\n"
        "tls_www_server\\nsigning_key\\nencryption_key\\nexpiration_days = 2\\n' > srv.tmpl && "
        "certtool --generate-certificate --load-privkey srv.key --load-ca-certificate ca.pem "
        "--load-ca-privkey ca.key --template srv.tmpl --outfile srv.pem 2>/dev/null && "
        "certtool --generate-privkey --key-type=ecdsa --outfile cli.key 2>/dev/null && "
        "printf 'cn = \"flowhound-test-client\"\ntls_www_client\nsigning_key\n"
        "expiration_days = 2\n' > cli.tmpl && "
        "certtool --generate-certificate --load-privkey cli.key --load-ca-certificate ca.pem "
        "--load-ca-privkey ca.key --template cli.tmpl --outfile cli.pem 2>/dev/null",
        r->dir);
    cr_assert_eq(rc, 0, "certtool failed");
    snprintf(r->ca, sizeof(r->ca), "%s/ca.pem", r->dir);
    snprintf(r->client_cert, sizeof(r->client_cert), "%s/cli.pem", r->dir);
    snprintf(r->client_key, sizeof(r->client_key), "%s/cli.key", r->dir);
}

bool rs_own_dev_log(struct rs *r)
{
    if (unshare(CLONE_NEWNS) != 0)
        return false;
    /* private first, so that nothing mounted here propagates to the host */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("none", "/dev", "tmpfs", 0, NULL) != 0)
        return false;
    return symlink(r->logsock, "/dev/log") == 0;
}

void rs_make_other_ca(struct rs *r, char *path, size_t len)
{
    int rc = th_system("cd '%s' && certtool --generate-privkey --key-type=ecdsa --outfile o.key "
                       "2>/dev/null && certtool --generate-self-signed --load-privkey o.key "
                       "--template ca.tmpl --outfile other-ca.pem 2>/dev/null",
                       r->dir);
    cr_assert_eq(rc, 0);
    snprintf(path, len, "%s/other-ca.pem", r->dir);
}

static void port_spec(char *buf, size_t len, uint16_t port, const char *dir, const char *name)
{
    if (port)
        snprintf(buf, len, "port=\"%u\"", port);
    else
        snprintf(buf, len, "port=\"0\" listenPortFileName=\"%s/%s.port\"", dir, name);
}

static void write_conf(struct rs *r, const char *conf)
{
    char tcp[700], tls[700], tlsglobal[2200] = "";
    port_spec(tcp, sizeof(tcp), r->tcp_port, r->dir, "tcp");
    port_spec(tls, sizeof(tls), r->tls_port, r->dir, "tls");
    if (r->tls)
        snprintf(tlsglobal, sizeof(tlsglobal),
                 " DefaultNetstreamDriverCAFile=\"%s/ca.pem\" "
                 "DefaultNetstreamDriverCertFile=\"%s/srv.pem\" "
                 "DefaultNetstreamDriverKeyFile=\"%s/srv.key\"",
                 r->dir, r->dir, r->dir);
    FILE *f = fopen(conf, "w");
    cr_assert(f);
    fprintf(f,
            "global(workDirectory=\"%s\" maxMessageSize=\"64k\"%s)\n"
            "module(load=\"imtcp\")\n"
            "module(load=\"imudp\")\n"
            "module(load=\"mmpstrucdata\")\n"
            "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
            "template(name=\"fh\" type=\"list\" option.jsonf=\"on\") {\n"
            "  property(outname=\"pri\" name=\"pri\" format=\"jsonf\")\n"
            "  property(outname=\"version\" name=\"protocol-version\" format=\"jsonf\")\n"
            "  property(outname=\"timestamp\" name=\"timereported\" dateFormat=\"rfc3339\" "
            "format=\"jsonf\")\n"
            "  property(outname=\"hostname\" name=\"hostname\" format=\"jsonf\")\n"
            "  property(outname=\"app\" name=\"app-name\" format=\"jsonf\")\n"
            "  property(outname=\"procid\" name=\"procid\" format=\"jsonf\")\n"
            "  property(outname=\"msgid\" name=\"msgid\" format=\"jsonf\")\n"
            "  property(outname=\"msg\" name=\"msg\" format=\"jsonf\")\n"
            "  property(outname=\"raw\" name=\"rawmsg\" format=\"jsonf\")\n"
            "  property(outname=\"parsed\" name=\"$!rfc5424-sd\" format=\"jsonf\")\n"
            "}\n"
            "ruleset(name=\"r\") {\n"
            "  action(type=\"mmpstrucdata\" sd_name.lowercase=\"off\")\n"
            "  action(type=\"omfile\" file=\"%s\" template=\"fh\")\n"
            "}\n"
            "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%u\" ruleset=\"r\")\n"
            "input(type=\"imtcp\" address=\"127.0.0.1\" %s ruleset=\"r\")\n"
            "input(type=\"imuxsock\" Socket=\"%s\" ruleset=\"r\")\n",
            r->dir, tlsglobal, r->out, r->udp_port, tcp, r->logsock);
    if (r->tls)
        fprintf(f,
                "input(type=\"imtcp\" address=\"127.0.0.1\" %s ruleset=\"r\" "
                "streamDriver.name=\"gtls\" streamDriver.mode=\"1\" "
                "streamDriver.authMode=\"%s\")\n",
                tls, r->client_auth ? "x509/certvalid" : "anon");
    fclose(f);
}

static uint16_t read_port(const char *dir, const char *name)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.port", dir, name);
    FILE *f = fopen(path, "r");
    unsigned p = 0;
    if (f) {
        if (fscanf(f, "%u", &p) != 1)
            p = 0;
        fclose(f);
    }
    return (uint16_t)p;
}

static void launch(struct rs *r)
{
    char conf[700], pidfile[700], log[700];
    snprintf(conf, sizeof(conf), "%s/rsyslog.conf", r->dir);
    snprintf(pidfile, sizeof(pidfile), "%s/rsyslog.pid", r->dir);
    snprintf(log, sizeof(log), "%s/rsyslog.log", r->dir);
    write_conf(r, conf);
    char *argv[] = {"rsyslogd", "-n", "-f", conf, "-i", pidfile, NULL};
    pid_t pid = th_spawn(log, argv);
    r->pid = pid;
    for (int i = 0; i < 200; i++) { /* 10 s */
        if (!r->tcp_port)
            r->tcp_port = read_port(r->dir, "tcp");
        if (r->tls && !r->tls_port)
            r->tls_port = read_port(r->dir, "tls");
        if (r->tcp_port && tcp_port_open(r->tcp_port) && (!r->tls || r->tls_port) &&
            udp_port_taken(r->udp_port) && access(r->logsock, F_OK) == 0)
            return;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            r->pid = 0;
            th_system("cat '%s' >&2", log);
            cr_assert_fail("rsyslogd exited at start");
        }
        nap(50);
    }
    th_system("cat '%s' >&2", log);
    cr_assert_fail("rsyslogd did not start listening");
}

static void start(struct rs *r, bool tls, bool client_auth)
{
    memset(r, 0, sizeof(*r));
    r->client_auth = client_auth;
    if (!th_have("rsyslogd"))
        cr_skip_test("rsyslogd is not installed (scripts/install-deps.sh --test)");
    if (tls && !th_have("certtool"))
        cr_skip_test("certtool is not installed (gnutls-bin)");
    r->dir = th_tmpdir();
    r->tls = tls;
    snprintf(r->out, sizeof(r->out), "%s/received.json", r->dir);
    snprintf(r->logsock, sizeof(r->logsock), "%s/log.sock", r->dir);
    if (tls)
        make_certs(r);
    r->udp_port = free_udp_port();
    launch(r);
}

void rs_start(struct rs *r, bool tls)
{
    start(r, tls, false);
}

void rs_start_client_auth(struct rs *r)
{
    start(r, true, true);
}

void rs_stop(struct rs *r)
{
    if (r->pid <= 0)
        return;
    kill(r->pid, SIGTERM);
    int st;
    for (int i = 0; i < 200; i++) {
        if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
            r->pid = 0;
            return;
        }
        nap(25);
    }
    kill(r->pid, SIGKILL);
    waitpid(r->pid, &st, 0);
    r->pid = 0;
}

void rs_restart(struct rs *r)
{
    rs_stop(r);
    launch(r);
}

void rs_cleanup(struct rs *r)
{
    rs_stop(r);
    if (r->dir) {
        th_rmtree(r->dir);
        free(r->dir);
        r->dir = NULL;
    }
}

json_t *rs_messages(struct rs *r)
{
    json_t *all = json_array();
    FILE *f = fopen(r->out, "r");
    if (!f)
        return all;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* rsyslog still writing this one */
        json_error_t jerr;
        json_t *m = json_loads(line, 0, &jerr);
        cr_assert(m, "rsyslog output is not JSON: %s: %s", jerr.text, line);
        const char *parsed = json_string_value(json_object_get(m, "parsed"));
        json_t *sd = parsed && *parsed ? json_loads(parsed, 0, &jerr) : json_object();
        cr_assert(sd, "parsed SD is not JSON: %s", parsed);
        json_object_set_new(m, "sd", sd);
        json_array_append_new(all, m);
    }
    free(line);
    fclose(f);
    return all;
}

size_t rs_wait(struct rs *r, size_t want, int timeout_ms)
{
    size_t have = 0;
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        json_t *m = rs_messages(r);
        have = json_array_size(m);
        json_decref(m);
        if (have >= want)
            return have;
        nap(50);
    }
    return have;
}

const char *rs_param(json_t *m, const char *name)
{
    json_t *params = json_object_get(json_object_get(m, "sd"), "flowhound@32473");
    return json_string_value(json_object_get(params, name));
}
