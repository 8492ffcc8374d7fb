/* syslog_parse.h - a strict RFC 5424 parser for the tests: it follows the ABNF of section 6
 * (PRI, VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID, STRUCTURED-DATA, MSG) and
 * rejects anything else, so a test can ask "does this parse as RFC 5424?" and read the fields
 * (PARAM-VALUEs unescaped). Independent of the code under test on purpose. */
#ifndef FLOWHOUND_TEST_SYSLOG_PARSE_H
#define FLOWHOUND_TEST_SYSLOG_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define SP_MAX_PARAMS 128

struct sp_param {
    char sd_id[33];
    char name[33];
    char *value; /* unescaped, malloc'd */
};

struct sp_msg {
    int pri;
    char timestamp[64];
    char hostname[256];
    char app[49];
    char procid[129];
    char msgid[33];
    struct sp_param params[SP_MAX_PARAMS];
    size_t n_params;
    size_t n_elements;
    bool has_bom;
    char *msg; /* MSG without the BOM, malloc'd ("" if none) */
    size_t msg_len;
};

/* Parses len octets. Returns true, or false with why in err. */
bool sp_parse(const char *buf, size_t len, struct sp_msg *m, char *err, size_t errlen);
/* Value of a parameter, or NULL. */
const char *sp_get(const struct sp_msg *m, const char *name);
void sp_free(struct sp_msg *m);
/* Is the whole buffer valid UTF-8? */
bool sp_valid_utf8(const char *s, size_t n);

#endif
