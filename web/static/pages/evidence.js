/* evidence.js - an alert's evidence (the analyzer's JSON, alerts/analyzer_evidence.c) as
 * tables people read: the last viable connection, the failed attempts per vantage point,
 * what the client did next, the ports of a port exhaustion, why and what to do. Whatever
 * else an evidence holds goes into one more table, every value typed by its name (a
 * *_ms that is a duration is not a date) and shown as text. */
'use strict';

/* Sections of the analyzer's evidence: [key, id, title, columns [[field, heading]] or null
 * for a key/value table]. */
FH.EVIDENCE_TABLES = [
    ['last_viable_connection', 'ev-last-viable', 'Last viable connection', [['exporter', 'seen by'], ['start_ms', 'start (UTC)'],
        ['end_ms', 'end (UTC)'], ['duration_ms', 'duration'], ['state', 'state'], ['end_reason', 'end reason'],
        ['client_to_server', 'client → server'], ['server_to_client', 'server → client']]],
    ['failed_attempts.by_exporter', 'ev-attempts', 'Failed attempts, by vantage point', [['exporter', 'seen by'],
        ['syn_packets', 'SYNs'], ['answer', 'answer'], ['answer_packets', 'answers'], ['connections', 'connections'],
        ['first_ms', 'first (UTC)'], ['last_ms', 'last (UTC)'], ['client_seen_as', 'client seen as']]],
    ['client_next', 'ev-next', 'What the client did next', [['client_port', 'client port'], ['start_ms', 'start (UTC)'],
        ['state', 'state'], ['worked', 'worked']]],
    ['per_port', 'ev-ports', 'Ports', [['client_port', 'client port'], ['attempts', 'attempts'], ['holder', 'state held by']]],
];
/* Shown elsewhere on the page (the facts, the sections above), or the text twin of a *_ms. */
FH.EVIDENCE_SHOWN = ['last_viable_connection', 'failed_attempts', 'client_next', 'per_port', 'ports', 'holder',
    'explanation', 'fixes', 'resolved_because', 'stale_since_ms', 'first_attempt_ms', 'last_attempt_ms'];

FH.ANSWERS = {bare_ack: 'bare ACK', rst: 'RST', nothing: 'nothing'};

/* One direction of a connection: "24 packets, 25.1 kB, flags SAP". */
FH.dirText = (d) => FH.int(d.packets) + ' packets, ' + FH.num(d.bytes, 'B') + (d.flags ? ', flags ' + d.flags : '');

/* A value of the evidence, by its key: times and durations, exporters with their names,
 * directions, yes/no, nested objects as key/value tables; the rest as text. */
FH.evidenceValue = function (key, v, row) {
    const h = FH.h;
    if (v === null || v === undefined) return '–';
    if (typeof v === 'number' && /_ms$/.test(key))
        return FH.isDurationKey(key) ? FH.duration(v) : h('span', {class: 'mono', title: String(v)}, FH.time(v));
    if (key === 'exporter') return FH.exporter(v, row && row.exporter_name);
    if (key === 'answer' && FH.ANSWERS[v]) return FH.ANSWERS[v];
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'object' && !Array.isArray(v) && 'packets' in v && 'bytes' in v) return FH.dirText(v);
    if (key === 'client_seen_as' && typeof v === 'object') return FH.endpoint(v.addr, v.port);
    if (Array.isArray(v)) return v.every((x) => typeof x !== 'object' || x === null) ? v.join(', ') : FH.evidenceRows(v);
    if (typeof v === 'object') return FH.evidenceKV(v);
    return String(v);
};

/* A field's text twin: {"start": "2026-...", "start_ms": ...} shows once. */
FH.isTwin = (obj, k) => typeof obj[k] === 'string' && typeof obj[k + '_ms'] === 'number';
FH.fieldName = (k) => k.replace(/_ms$/, '').replace(/_/g, ' ');

/* An object as a key/value table. */
FH.evidenceKV = function (obj, id) {
    const h = FH.h;
    const keys = Object.keys(obj).filter((k) => k !== 'exporter_name' && !FH.isTwin(obj, k));
    return h('table', {class: 'grid kv', id}, h('tbody', {}, keys.map((k) =>
        h('tr', {}, h('th', {}, FH.fieldName(k)), h('td', {}, FH.evidenceValue(k, obj[k], obj))))));
};

/* Objects as rows of a table: `columns` [[field, heading]], or every field they have. */
FH.evidenceRows = function (rows, columns, id) {
    const h = FH.h;
    if (!columns) {
        const keys = [...new Set(rows.flatMap((r) => (r && typeof r === 'object' ? Object.keys(r) : [])))]
            .filter((k) => k !== 'exporter_name' && !rows.every((r) => !r || FH.isTwin(r, k)));
        columns = keys.map((k) => [k, FH.fieldName(k)]);
    }
    columns = columns.filter(([k]) => rows.some((r) => r && r[k] !== undefined));
    return h('table', {class: 'grid evidence', id},
        h('thead', {}, h('tr', {}, columns.map(([, label]) => h('th', {}, label)))),
        h('tbody', {}, rows.map((r) => h('tr', {}, columns.map(([k]) => h('td', {}, FH.evidenceValue(k, (r || {})[k], r)))))));
};

FH.evidencePath = (ev, path) => path.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), ev);

/* The evidence as sections of tables; a string (stored text that was not JSON) as text. */
FH.evidenceView = function (ev) {
    const h = FH.h, out = [];
    if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) {
        out.push(h('p', {class: 'evidence-text'}, ev === null || ev === undefined ? 'No evidence recorded.' : String(ev)));
        return out;
    }
    for (const [path, id, title, columns] of FH.EVIDENCE_TABLES) {
        const v = FH.evidencePath(ev, path);
        if (v === undefined || v === null) continue;
        const rows = Array.isArray(v) ? v : [v];
        out.push(h('h3', {}, title), rows.length ? FH.evidenceRows(rows, columns, id) : h('p', {class: 'hint'}, 'none'));
    }
    if (typeof ev.explanation === 'string') out.push(h('h3', {}, 'Why'), h('p', {class: 'explanation'}, ev.explanation));
    if (Array.isArray(ev.fixes) && ev.fixes.length)
        out.push(h('h3', {}, 'What to do'), h('ol', {class: 'fixes'}, ev.fixes.map((f) => h('li', {}, String(f)))));
    const rest = Object.fromEntries(Object.entries(ev).filter(([k]) => !FH.EVIDENCE_SHOWN.includes(k) && !FH.isTwin(ev, k)));
    if (Object.keys(rest).length) out.push(h('h3', {}, 'Other evidence'), FH.evidenceKV(rest, 'ev-other'));
    return out;
};
