/* port_holder.c - the process bound to a UDP port, from /proc (see port_holder.h). Only
 * called when a bind failed, so reading every process's descriptors is affordable. */
#include "config.h"

#include <dirent.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/port_holder.h"

/* One socket of /proc/net/udp{,6}: its local address (16 bytes, or 4), port, owner, inode. */
struct udp_sock {
    uint8_t addr[16];
    unsigned port, uid;
    unsigned long inode;
};

/* The kernel prints each 32-bit word of the address as the host sees it (%08X). */
static bool parse_addr(const char *hex, uint8_t *addr, size_t words)
{
    if (strlen(hex) != words * 8)
        return false;
    for (size_t w = 0; w < words; w++) {
        char part[9];
        memcpy(part, hex + 8 * w, 8);
        part[8] = '\0';
        uint32_t v = (uint32_t)strtoul(part, NULL, 16);
        memcpy(addr + 4 * w, &v, 4);
    }
    return true;
}

static bool parse_line(const char *line, size_t words, struct udp_sock *s)
{
    char hex[33];
    if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %*s %*x %*s %*s %*s %u %*d %lu", hex, &s->port,
               &s->uid, &s->inode) != 4)
        return false;
    memset(s->addr, 0, sizeof(s->addr));
    return parse_addr(hex, s->addr, words);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Does a socket bound to (addr, port) conflict with ours: same port, and the same address or a
 * wildcard on either side? */
static bool conflicts(const struct udp_sock *s, const uint8_t *addr, size_t alen, unsigned port)
{
    return s->port == port &&
           (all_zero(s->addr, alen) || all_zero(addr, alen) || !memcmp(s->addr, addr, alen));
}

static bool find_socket(const char *table, const uint8_t *addr, size_t alen, unsigned port,
                        struct udp_sock *found)
{
    FILE *f = fopen(table, "r");
    if (!f)
        return false;
    char line[512];
    bool ok = false;
    while (!ok && fgets(line, sizeof(line), f))
        ok = parse_line(line, alen / 4, found) && conflicts(found, addr, alen, port);
    fclose(f);
    return ok;
}

/* Does process `pid` have socket `inode` open? */
static bool has_socket(const char *pid, unsigned long inode)
{
    char dir[300], want[48];
    snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    for (struct dirent *de; !found && (de = readdir(d));) {
        char path[600], target[64];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            found = strcmp(target, want) == 0;
        }
    }
    closedir(d);
    return found;
}

/* "name, pid N" of the process holding socket `inode`; false when none can be seen. */
static bool find_process(unsigned long inode, char *out, size_t outlen)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return false;
    bool found = false;
    for (struct dirent *de; !found && (de = readdir(proc));) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || !has_socket(de->d_name, inode))
            continue;
        char path[300], name[64] = "?";
        snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(name, sizeof(name), f))
                name[strcspn(name, "\n")] = '\0';
            fclose(f);
        }
        if (strtol(de->d_name, NULL, 10) == (long)getpid())
            snprintf(out, outlen, "this %s: is the port in listen twice?", name);
        else
            snprintf(out, outlen, "%s, pid %s", name, de->d_name);
        found = true;
    }
    closedir(proc);
    return found;
}

bool port_holder(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    const uint8_t *addr;
    size_t alen;
    unsigned port;
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        addr = s6->sin6_addr.s6_addr, alen = 16, port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        addr = (const uint8_t *)&s4->sin_addr, alen = 4, port = ntohs(s4->sin_port);
    }
    struct udp_sock s;
    out[0] = '\0';
    if (!find_socket(alen == 16 ? "/proc/net/udp6" : "/proc/net/udp", addr, alen, port, &s))
        return false;
    if (!find_process(s.inode, out, outlen))
        snprintf(out, outlen, "uid %u", s.uid);
    return true;
}
