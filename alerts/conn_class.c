/* conn_class.c - the outcome of a rebuilt connection, in Zeek's conn_state words.
 *
 * Flow records carry the OR of each direction's TCP flags, not the packet sequence, so the
 * words are decided from which flags each side ever sent:
 *   client sent SYN but never ACK -> an attempt that never completed: S0 (no reply), SBA
 *     (answered by a bare ACK: someone holds old state), REJ (RST), RSTOS0, SH;
 *   client ACKed and a SYN was seen -> established: S1 (no FIN/RST), SF, S2, S3, RSTO, RSTR;
 *   no SYN at all -> OTH (mid-stream; established when both sides sent ACKs). */
#include "config.h"

#include "alerts/conn.h"

const char *conn_state_name(enum conn_state s)
{
    static const char *const names[] = {"S0", "SBA", "REJ", "RSTOS0", "SH",   "S1",
                                        "SF", "S2",  "S3",  "RSTO",   "RSTR", "OTH"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "OTH";
}

const char *conn_role_rule_name(enum conn_role_rule r)
{
    switch (r) {
    case ROLE_INITIAL_FLAGS:
        return "initial_flags";
    case ROLE_SYN:
        return "syn";
    case ROLE_SYN_FIRST:
        return "syn_first";
    case ROLE_PRIOR:
        return "prior";
    default:
        return "port";
    }
}

static enum conn_state classify_attempt(uint16_t cf, uint16_t sf, bool s_seen)
{
    if (cf & TH_RST_)
        return CS_RSTOS0;
    if (!s_seen)
        return (cf & TH_FIN_) ? CS_SH : CS_S0;
    if (sf & TH_RST_)
        return CS_REJ;
    if (sf & TH_SYN_)
        return CS_SH; /* SYN-ACK came, the client never completed the handshake */
    if (sf & TH_ACK_)
        return CS_SBA;
    return CS_SH;
}

static enum conn_state classify_established(uint16_t cf, uint16_t sf)
{
    if (cf & TH_RST_)
        return CS_RSTO;
    if (sf & TH_RST_)
        return CS_RSTR;
    if ((cf & TH_FIN_) && (sf & TH_FIN_))
        return CS_SF;
    if (cf & TH_FIN_)
        return CS_S2;
    if (sf & TH_FIN_)
        return CS_S3;
    return CS_S1;
}

enum conn_state conn_classify(const struct conn_dir *c, const struct conn_dir *s)
{
    bool c_seen = c->records > 0, s_seen = s->records > 0;
    uint16_t cf = c_seen ? c->flags : 0, sf = s_seen ? s->flags : 0;
    if ((cf & TH_SYN_) && !(cf & TH_ACK_))
        return classify_attempt(cf, sf, s_seen);
    if ((cf & TH_ACK_) && ((cf | sf) & TH_SYN_))
        return classify_established(cf, sf);
    return CS_OTH;
}

bool conn_state_established(enum conn_state s)
{
    return s >= CS_S1 && s <= CS_RSTR;
}

bool conn_state_unclosed(enum conn_state s)
{
    return s == CS_S1;
}

bool conn_state_attempt(enum conn_state s)
{
    return s <= CS_SH;
}

/* OTH counts as established when both sides sent ACKs: the exporter (or we) missed the
 * handshake, but data flowed both ways. */
bool conn_established(const struct conn_info *ci)
{
    if (conn_state_established(ci->state))
        return true;
    return ci->state == CS_OTH && ci->c.records && ci->s.records && (ci->c.flags & TH_ACK_) &&
           (ci->s.flags & TH_ACK_);
}

/* The exporter's own word counts too: flowEndReason "end of flow" means it saw FIN or RST,
 * even when its records carry no flags for them. */
bool conn_unclosed(const struct conn_info *ci)
{
    if (!conn_established(ci))
        return false;
    if (ci->c.end_reason == END_OF_FLOW || ci->s.end_reason == END_OF_FLOW)
        return false;
    return !((ci->c.flags | ci->s.flags) & (TH_FIN_ | TH_RST_));
}
