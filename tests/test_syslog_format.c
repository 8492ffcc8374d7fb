/* test_syslog_format.c - the RFC 5424 formatter against the grammar (tests/syslog_parse.c, a
 * strict parser written from the RFC's ABNF): header fields, escaping, hostile values, size
 * limits. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts/syslog_format.h"
#include "common/addr.h"
#include "common/xmalloc.h"
#include "tests/alert_fixture.h"
#include "tests/syslog_parse.h"

static struct syslog_ident ident;

static void setup(void)
{
    syslog_ident_init(&ident, syslog_facility_from_name("daemon"), "collector-1", 0);
}

/* Formats, checks the length and that it parses; returns the parsed message. */
static void format_ok(const struct syslog_event *e, size_t max_len, struct sp_msg *m, char **raw,
                      size_t *len)
{
    char err[256];
    int rc = syslog_format_5424(&ident, e, max_len, raw, len, err, sizeof(err));
    cr_assert_eq(rc, 0, "format: %s", err);
    cr_assert_eq(strlen(*raw), *len, "no NUL inside the message");
    if (max_len)
        cr_assert_leq(*len, max_len);
    cr_assert_null(memchr(*raw, '\n', *len), "a newline would split the frame");
    cr_assert_null(memchr(*raw, '\r', *len));
    bool ok = sp_parse(*raw, *len, m, err, sizeof(err));
    cr_assert(ok, "not RFC 5424: %s\n%s", err, *raw);
}

TestSuite(syslog_format, .init = setup);

Test(syslog_format, story_alert_header_and_evidence)
{
    struct alert a;
    fx_story_alert(&a);
    a.id = 42;
    struct syslog_event e = {&a, ALERT_EV_OPENED, 7, 1795455074598, 0, false};
    struct sp_msg m;
    char *raw;
    size_t len;
    format_ok(&e, SYSLOG_UDP_MAX, &m, &raw, &len);

    cr_expect_eq(m.pri, 3 * 8 + 4, "daemon.warning");
    cr_expect_str_eq(m.hostname, "collector-1");
    cr_expect_str_eq(m.app, "flowhound");
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    cr_expect_str_eq(m.procid, pid);
    cr_expect_str_eq(m.msgid, "STALE_STATE");
    /* fraction and a numeric offset, never a bare time */
    cr_expect(strchr(m.timestamp, '.') &&
                  (strchr(m.timestamp + 19, '+') || strchr(m.timestamp + 19, '-')),
              "timestamp %s", m.timestamp);
    cr_expect_eq(m.n_elements, 1);
    cr_expect_str_eq(m.params[0].sd_id, "flowhound@32473");
    cr_expect_str_eq(sp_get(&m, "alertId"), "42");
    cr_expect_str_eq(sp_get(&m, "eventId"), "7");
    cr_expect_str_eq(sp_get(&m, "event"), "opened");
    cr_expect_str_eq(sp_get(&m, "kind"), "stale_state");
    cr_expect_str_eq(sp_get(&m, "state"), "open");
    cr_expect_str_eq(sp_get(&m, "client"), "10.1.1.50");
    cr_expect_str_eq(sp_get(&m, "clientPort"), "722");
    cr_expect_str_eq(sp_get(&m, "server"), "10.2.2.10");
    cr_expect_str_eq(sp_get(&m, "serverPort"), "515");
    cr_expect_str_eq(sp_get(&m, "holder"), "middlebox");
    cr_expect_str_eq(sp_get(&m, "attempts"), "3");
    cr_expect_str_eq(sp_get(&m, "opened"), "2026-11-23T17:31:14.598Z");
    cr_expect_null(sp_get(&m, "resolved"));
    cr_expect_str_eq(sp_get(&m, "last_viable.start_ms"), "1795455030120");
    cr_expect_str_eq(sp_get(&m, "last_viable.end_ms"), "1795455040570");
    cr_expect_str_eq(sp_get(&m, "last_viable.c_packets"), "12");
    cr_expect_str_eq(sp_get(&m, "last_viable.state"), "S1");
    cr_expect_str_eq(sp_get(&m, "answered_by"), "middlebox");
    cr_expect_str_eq(sp_get(&m, "exporters"), "192.0.2.1,192.0.2.2");
    cr_expect_null(sp_get(&m, "msgTruncated"));
    cr_expect_null(sp_get(&m, "evidenceOmitted"));
    cr_expect_not(m.has_bom, "ASCII MSG needs no BOM");
    cr_expect_str_eq(m.msg, a.summary);
    sp_free(&m);
    free(raw);
    alert_free_fields(&a);
}

Test(syslog_format, resolved_is_a_notice_with_msgid_resolved)
{
    struct alert a;
    fx_story_alert(&a);
    a.id = 3;
    a.state = ALERT_RESOLVED;
    a.resolved_ms = 1795510000000;
    struct syslog_event e = {&a, ALERT_EV_RESOLVED, 9, 1795510000000, 4, false};
    struct sp_msg m;
    char *raw;
    size_t len;
    format_ok(&e, 0, &m, &raw, &len);
    cr_expect_eq(m.pri, 3 * 8 + 5);
    cr_expect_str_eq(m.msgid, "RESOLVED");
    cr_expect_str_eq(sp_get(&m, "state"), "resolved");
    cr_expect_str_eq(sp_get(&m, "resolved"), "2026-11-24T08:46:40.000Z");
    cr_expect_str_eq(sp_get(&m, "suppressed"), "4");
    cr_expect(strstr(m.msg, "Resolved: "), "%s", m.msg);
    cr_expect(strstr(m.msg, "(4 similar events suppressed)"), "%s", m.msg);
    sp_free(&m);
    free(raw);
    alert_free_fields(&a);
}

Test(syslog_format, port_exhaustion_without_client_port_and_ipv6)
{
    struct alert a;
    fx_story_alert(&a);
    a.kind = ALERT_PORT_EXHAUSTION;
    a.client_port = -1;
    addr_from_str("2001:db8::50", &a.client_addr);
    addr_from_str("2001:db8:2::10", &a.server_addr);
    free(a.summary);
    a.summary = NULL;
    struct syslog_event e = {&a, ALERT_EV_UPDATED, 1, 1795455074598, 0, false};
    struct sp_msg m;
    char *raw;
    size_t len;
    format_ok(&e, SYSLOG_UDP_MAX, &m, &raw, &len);
    cr_expect_str_eq(m.msgid, "PORT_EXHAUSTION");
    cr_expect_null(sp_get(&m, "clientPort"));
    cr_expect_str_eq(sp_get(&m, "client"), "2001:db8::50");
    cr_expect_str_eq(sp_get(&m, "server"), "2001:db8:2::10");
    cr_expect(strstr(m.msg, "Update: client 2001:db8::50"), "generated MSG: %s", m.msg);
    sp_free(&m);
    free(raw);
    alert_free_fields(&a);
}

/* Quotes, backslashes, brackets, newlines and bytes that are not UTF-8, where flow data or
 * names can put them: summary, evidence keys and values. */
Test(syslog_format, hostile_values_never_break_the_frame)
{
    struct alert a;
    fx_story_alert(&a);
    free(a.summary);
    free(a.evidence_json);
    a.summary = xstrdup("evil \"quoted\" \\back] [x=\"y\"]\nnext line\r\x01 bad:\xff\xc0\x80"
                        " cut:\xe2\x82 caf\xc3\xa9");
    a.evidence_json = xstrdup("{\"name\":\"a\\\"b\\\\c]d\",\"bad key= ]\\\"\":\"v\","
                              "\"nl\":\"one\\ntwo\",\"nested\":{\"deep\":[1,{\"x\":\"]\"}]},"
                              "\"u\":\"\\u00e9\\u2028end\"}");
    struct syslog_event e = {&a, ALERT_EV_OPENED, 1, 1795455074598, 0, false};
    struct sp_msg m;
    char *raw;
    size_t len;
    format_ok(&e, SYSLOG_UDP_MAX, &m, &raw, &len);
    /* RFC 5424 6.3.3: '"', '\' and ']' escaped with a backslash, nothing else. */
    cr_expect(strstr(raw, " name=\"a\\\"b\\\\c\\]d\""), "%s", raw);
    cr_expect_str_eq(sp_get(&m, "name"), "a\"b\\c]d");
    cr_expect_str_eq(sp_get(&m, "bad_key____"), "v", "name sanitized to SD-NAME");
    cr_expect_str_eq(sp_get(&m, "nl"), "one two");
    cr_expect_str_eq(sp_get(&m, "nested.deep"), "[1,{\"x\":\"]\"}]");
    cr_expect_str_eq(sp_get(&m, "u"), "\xc3\xa9 end");
    cr_expect(m.has_bom, "non-ASCII MSG carries the BOM");
    cr_expect(sp_valid_utf8(m.msg, m.msg_len));
    cr_expect_str_eq(m.msg, "evil \"quoted\" \\back] [x=\"y\"] next line   bad:\xef\xbf\xbd"
                            "\xef\xbf\xbd\xef\xbf\xbd cut:\xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9");
    sp_free(&m);
    free(raw);
    alert_free_fields(&a);
}

/* Receivers keep one value per name: evidence never shadows a core parameter or itself. */
Test(syslog_format, evidence_names_are_unique)
{
    struct alert a;
    fx_story_alert(&a);
    free(a.evidence_json);
    a.evidence_json = xstrdup("{\"attempts\":[1795455065598,1795455068598],\"client\":\"x\","
                              "\"a_very_long_key_name_that_is_cut_1\":1,"
                              "\"a_very_long_key_name_that_is_cut_2\":2,"
                              "\"a_very_long_key_name_that_is_cut_3\":3}");
    struct syslog_event e = {&a, ALERT_EV_OPENED, 1, 1795455074598, 0, false};
    struct sp_msg m;
    char *raw;
    size_t len;
    format_ok(&e, SYSLOG_UDP_MAX, &m, &raw, &len);
    for (size_t i = 0; i < m.n_params; i++)
        for (size_t k = i + 1; k < m.n_params; k++)
            cr_expect_str_neq(m.params[i].name, m.params[k].name, "repeated name");
    cr_expect_str_eq(sp_get(&m, "attempts"), "3");
    cr_expect_str_eq(sp_get(&m, "ev.attempts"), "1795455065598,1795455068598");
    cr_expect_str_eq(sp_get(&m, "client"), "10.1.1.50");
    cr_expect_str_eq(sp_get(&m, "ev.client"), "x");
    cr_expect_str_eq(sp_get(&m, "a_very_long_key_name_that_is_cut"), "1");
    cr_expect_str_eq(sp_get(&m, "ev.a_very_long_key_name_that_is_"), "2");
    cr_expect_str_eq(sp_get(&m, "a_very_long_key_name_that_is_c~2"), "3");
    sp_free(&m);
    free(raw);
    alert_free_fields(&a);
}

Test(syslog_format, invalid_evidence_json_is_reported_not_fatal)
{
    struct alert a;
    fx_story_alert(&a);
    free(a.evidence_json);
    a.evidence_json = xstrdup("{\"unterminated");
    struct syslog_event e = {&a, ALERT_EV_OPENED, 1, 1795455074598, 0, false};
    struct sp_msg m;
    char *raw;
    size_t len;
    format_ok(&e, SYSLOG_UDP_MAX, &m, &raw, &len);
    cr_expect_str_eq(sp_get(&m, "evidence"), "unreadable");
    cr_expect_str_eq(sp_get(&m, "client"), "10.1.1.50");
    sp_free(&m);
    free(raw);
    alert_free_fields(&a);
}

/* UDP: 2048 octets; a long MSG is cut (at a character boundary), the SD is kept whole. */
Test(syslog_format, udp_limit_truncates_msg_never_sd)
{
    struct alert a;
    fx_story_alert(&a);
    free(a.summary);
    size_t n = 6000;
    a.summary = xmalloc(n + 1);
    for (size_t i = 0; i < n; i += 2)
        memcpy(a.summary + i, "\xc3\xa9", 2); /* é: a cut in the middle would be invalid */
    a.summary[n] = '\0';
    struct syslog_event e = {&a, ALERT_EV_OPENED, 1, 1795455074598, 0, false};
    struct sp_msg m;
    char *raw;
    size_t len;
    format_ok(&e, SYSLOG_UDP_MAX, &m, &raw, &len);
    cr_expect_geq(len, SYSLOG_UDP_MAX - 4, "uses the room: %zu", len);
    cr_expect_str_eq(sp_get(&m, "msgTruncated"), "1");
    cr_expect_str_eq(sp_get(&m, "exporters"), "192.0.2.1,192.0.2.2", "evidence kept");
    cr_expect_str_eq(sp_get(&m, "client"), "10.1.1.50");
    cr_expect(m.has_bom);
    cr_expect(sp_valid_utf8(m.msg, m.msg_len));
    cr_expect_gt(m.msg_len, 500);
    cr_expect_eq(strncmp(m.msg, a.summary, m.msg_len), 0, "MSG is a prefix of the summary");
    sp_free(&m);
    free(raw);

    /* Over TCP/TLS (8192) the same alert is cut later. */
    format_ok(&e, SYSLOG_STREAM_MAX, &m, &raw, &len);
    cr_expect_gt(m.msg_len, 5000);
    sp_free(&m);
    free(raw);
    alert_free_fields(&a);
}

/* Evidence that cannot fit is left out whole and counted; the core is always there. */
Test(syslog_format, oversized_evidence_is_omitted_and_counted)
{
    struct alert a;
    fx_story_alert(&a);
    free(a.evidence_json);
    char *big = xstrdup("{");
    for (int i = 0; i < 60; i++) {
        char *next = xasprintf("%s%s\"key%02d\":\"%0150d\"", big, i ? "," : "", i, i);
        free(big);
        big = next;
    }
    a.evidence_json = xasprintf("%s}", big);
    free(big);
    struct syslog_event e = {&a, ALERT_EV_OPENED, 1, 1795455074598, 12, false};
    struct sp_msg m;
    char *raw;
    size_t len;
    format_ok(&e, SYSLOG_UDP_MAX, &m, &raw, &len);
    const char *om = sp_get(&m, "evidenceOmitted");
    cr_assert(om);
    int omitted = atoi(om), kept = 0;
    for (int i = 0; i < 60; i++) {
        char k[16];
        snprintf(k, sizeof(k), "key%02d", i);
        const char *v = sp_get(&m, k);
        if (v) {
            kept++;
            cr_expect_eq(strlen(v), 150, "a value is whole or absent");
        }
    }
    cr_expect_eq(kept + omitted, 60);
    cr_expect_gt(kept, 3);
    cr_expect_str_eq(sp_get(&m, "suppressed"), "12");
    cr_expect_str_eq(sp_get(&m, "holder"), "middlebox");
    sp_free(&m);
    free(raw);
    alert_free_fields(&a);
}

Test(syslog_format, refuses_when_even_the_core_cannot_fit)
{
    struct alert a;
    fx_story_alert(&a);
    struct syslog_event e = {&a, ALERT_EV_OPENED, 1, 1795455074598, 0, false};
    char *raw = NULL, err[256] = "";
    size_t len;
    cr_expect_eq(syslog_format_5424(&ident, &e, 200, &raw, &len, err, sizeof(err)), -1);
    cr_expect_null(raw);
    cr_expect(strstr(err, "limit 200"), "%s", err);
    alert_free_fields(&a);
}

Test(syslog_format, clean_utf8_rules)
{
    char out[64];
    size_t w = syslog_clean_utf8(out, sizeof(out), "a\"b\\c]d", 7, true);
    cr_expect_eq(w, 10);
    cr_expect_eq(memcmp(out, "a\\\"b\\\\c\\]d", 10), 0);
    /* an escape is never split by the cap */
    w = syslog_clean_utf8(out, 2, "a]", 2, true);
    cr_expect_eq(w, 1);
    /* overlong, surrogate, above U+10FFFF, lone continuation: one U+FFFD per byte */
    w = syslog_clean_utf8(out, sizeof(out), "\xc0\xaf", 2, false);
    cr_expect_eq(w, 6);
    w = syslog_clean_utf8(out, sizeof(out), "\xed\xa0\x80", 3, false);
    cr_expect_eq(w, 9);
    w = syslog_clean_utf8(out, sizeof(out), "\xf4\x90\x80\x80", 4, false);
    cr_expect_eq(w, 12);
    w = syslog_clean_utf8(out, sizeof(out), "\x80", 1, false);
    cr_expect_eq(memcmp(out, "\xef\xbf\xbd", 3), 0);
    /* valid 4-octet characters and embedded NUL */
    w = syslog_clean_utf8(out, sizeof(out), "\xf0\x9f\x90\xb6\0x", 6, false);
    cr_expect_eq(w, 6);
    cr_expect_eq(memcmp(out, "\xf0\x9f\x90\xb6 x", 6), 0);
    /* a character that does not fit is left out whole */
    w = syslog_clean_utf8(out, 3, "ab\xc3\xa9", 4, false);
    cr_expect_eq(w, 2);
}

Test(syslog_format, hostname_and_names)
{
    struct syslog_ident id;
    syslog_ident_init(&id, 16, "bad host\n\xc3\xa9", 99999);
    cr_expect_str_eq(id.hostname, "bad-host---");
    cr_expect_str_eq(id.sd_id, "flowhound@99999");
    syslog_ident_init(&id, 16, NULL, 0);
    cr_expect_neq(id.hostname[0], '\0');
    cr_expect_null(strchr(id.hostname, ' '));
    cr_expect_eq(syslog_facility_from_name("local0"), 16);
    cr_expect_eq(syslog_facility_from_name("LOCAL7"), 23);
    cr_expect_eq(syslog_facility_from_name("daemon"), 3);
    cr_expect_eq(syslog_facility_from_name("local8"), -1);
    cr_expect_eq(syslog_severity_from_name("warning"), 4);
    cr_expect_eq(syslog_severity_from_name("notice"), 5);
    cr_expect_eq(syslog_severity_from_name("error"), 3);
    cr_expect_eq(syslog_severity_from_name("loud"), -1);
}

Test(syslog_format, local_line_is_one_readable_line)
{
    struct alert a;
    fx_story_alert(&a);
    a.id = 5;
    free(a.summary);
    a.summary = xstrdup("two\nlines \xff");
    struct syslog_event e = {&a, ALERT_EV_OPENED, 1, 1795455074598, 2, false};
    char *line = syslog_format_line(&e);
    cr_expect_null(strchr(line, '\n'));
    cr_expect(sp_valid_utf8(line, strlen(line)));
    cr_expect(strstr(line, "alert 5 opened stale_state: client 10.1.1.50 port 722 -> server "
                           "10.2.2.10 port 515, held by middlebox, 3 attempts"),
              "%s", line);
    cr_expect(strstr(line, "exporters=\"192.0.2.1,192.0.2.2\""), "%s", line);
    cr_expect(strstr(line, "two lines \xef\xbf\xbd (2 similar events suppressed)"), "%s", line);
    free(line);
    alert_free_fields(&a);
}
