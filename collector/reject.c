/* reject.c - names of reject reasons. */
#include "config.h"

#include "collector/reject.h"

const char *reject_reason_name(enum reject_reason r)
{
    static const char *const names[REJ__COUNT] = {
        [REJ_NONE] = "none",
        [REJ_EMPTY] = "empty",
        [REJ_TRUNCATED] = "truncated",
        [REJ_BAD_LENGTH] = "bad_length",
        [REJ_BAD_COUNT] = "bad_count",
        [REJ_UNKNOWN_VERSION] = "unknown_version",
        [REJ_MALFORMED_SET] = "malformed_set",
        [REJ_TEMPLATE_MISSING] = "template_missing",
        [REJ_TEMPLATE_LIMIT] = "template_limit",
        [REJ_EXPORTER_LIMIT] = "exporter_limit",
        [REJ_NOT_ALLOWED] = "not_allowed",
        [REJ_BAD_RECORD] = "bad_record",
        [REJ_TEMPLATE_BUDGET] = "template_budget",
        [REJ_TEMPLATE_CHURN] = "template_churn",
        [REJ_JOURNAL_LOST] = "journal_lost",
    };
    return (unsigned)r < REJ__COUNT && names[r] ? names[r] : "unknown";
}
