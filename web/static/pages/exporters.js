/* exporters.js - the overview's table of exporters: address and name (exporter-name),
 * versions, records and records/s (the difference of two samples of the counters), losses,
 * v9/IPFIX templates, clock and last seen; sorted by any column (click a heading; addresses
 * as numbers, so 10.0.0.9 comes before 10.0.0.10), refreshed every 5 s. */
'use strict';

/* [key, heading, numeric, sort value of a row]. Rows are {e: the API's exporter, rate}. */
FH.EXPORTER_COLUMNS = [
    ['exporter', 'exporter', false, (r) => FH.addrKey(r.e.exporter)],
    ['name', 'name', false, (r) => (r.e.exporter_name || '\uffff').toLowerCase()],
    ['versions', 'versions', false, (r) => FH.exporterVersions(r.e)],
    ['flows', 'records', true, (r) => r.e.flows],
    ['rate', 'records/s', true, (r) => (r.rate === null ? -1 : r.rate)],
    ['packets', 'datagrams', true, (r) => r.e.packets],
    ['seq_lost', 'lost', true, (r) => r.e.seq_lost],
    ['rejected', 'rejected', true, (r) => r.e.rejected + r.e.records_rejected],
    ['templates', 'templates', true, (r) => (FH.hasTemplates(r.e) ? r.e.templates : -1)],
    ['dropped', 'dropped', true, (r) => r.e.dropped + r.e.kernel_drops],
    ['clock', 'clock', true, (r) => (typeof r.e.clock_offset_ms === 'number' ? Math.abs(r.e.clock_offset_ms) : -1)],
    ['last_seen_ms', 'last seen', false, (r) => -r.e.last_seen_ms],
];

FH.hasTemplates = (e) => (e.domains || []).some((d) => d.version !== 5);

/* An exporter's clock against ours (its last datagram's export time minus our receive time),
 * and how many of its flows were dated out of bounds (clock-skew, clock-max-age): stored and
 * counted, those from the future not analysed (doc/storage.md "Exporters' clocks"). */
FH.clockCell = function (e) {
    const off = e.clock_offset_ms;
    const out = (e.clock_future || 0) + (e.clock_past || 0);
    const text = (off === null || off === undefined ? '' : (off > 0 ? '+' : '') + FH.duration(off)) +
        (out ? ' · ' + FH.int(out) + ' out of bounds' : '');
    return FH.h('td', {class: 'num' + (out ? ' warn' : ''), title: 'its clock minus ours at its last datagram; flows dated ' +
        FH.int(e.clock_future) + ' in the future (not analysed), ' + FH.int(e.clock_past) + ' in the past: stored, counted'}, text);
};

/* An exporter's v9/IPFIX templates: how many it holds; a warning when some were refused
 * (template budget, rate of changes) or expired, with the numbers in its title. */
FH.templatesCell = function (e) {
    if (!FH.hasTemplates(e)) return FH.h('td', {class: 'num'}, '–');
    const trouble = e.templates_refused + e.templates_expired;
    const title = FH.int(e.templates) + ' held (' + FH.num(e.template_bytes, 'B') + '), ' +
        FH.int(e.templates_refused) + ' refused, ' + FH.int(e.templates_expired) + ' expired';
    return FH.h('td', {class: 'num' + (trouble ? ' warn' : ''), title}, FH.int(e.templates));
};

FH.exporterVersions = (e) => [...new Set((e.domains || []).map((d) => 'v' + d.version))].join(' ');

FH.exporterRow = function (r, now) {
    const h = FH.h, e = r.e;
    const rejects = (e.rejects || []).map((x) => x.reason + ': ' + x.count).join(', ');
    const warn = (n) => 'num' + (n ? ' warn' : '');
    return h('tr', {'data-exporter': e.exporter},
        h('td', {class: 'mono'}, e.exporter),
        h('td', {class: 'xname'}, e.exporter_name || ''),
        h('td', {}, FH.exporterVersions(e)),
        h('td', {class: 'num'}, FH.int(e.flows)),
        h('td', {class: 'num'}, r.rate === null ? '…' : FH.num(r.rate)),
        h('td', {class: 'num'}, FH.int(e.packets)),
        h('td', {class: warn(e.seq_lost)}, FH.int(e.seq_lost)),
        h('td', {class: warn(e.rejected + e.records_rejected), title: rejects || null}, FH.int(e.rejected + e.records_rejected)),
        FH.templatesCell(e),
        h('td', {class: warn(e.dropped + e.kernel_drops)}, FH.int(e.dropped + e.kernel_drops)),
        FH.clockCell(e),
        h('td', {title: FH.time(e.last_seen_ms) + ' UTC'}, FH.ago(e.last_seen_ms, now)));
};

/* Loads the table into box and keeps it fresh. */
FH.exportersTable = function (box) {
    const h = FH.h;
    const sort = {col: 'exporter', desc: false};
    let previous = null, rows = [], now = 0;
    const body = h('tbody');
    const head = h('tr', {}, FH.EXPORTER_COLUMNS.map(([key, label, num]) => h('th', {
        class: (num ? 'num ' : '') + 'sortable', 'data-col': key, onclick: () => {
            sort.desc = sort.col === key ? !sort.desc : false;
            sort.col = key;
            draw();
        }}, label)));
    const table = h('table', {class: 'grid', id: 'exporters'}, h('thead', {}, head), body);
    const draw = () => {
        const [, , , value] = FH.EXPORTER_COLUMNS.find(([k]) => k === sort.col);
        const cmp = (a, b) => (value(a) < value(b) ? -1 : value(a) > value(b) ? 1 : FH.addrKey(a.e.exporter) < FH.addrKey(b.e.exporter) ? -1 : 1);
        const sorted = rows.slice().sort((a, b) => (sort.desc ? -cmp(a, b) : cmp(a, b)));
        for (const th of head.children) {
            const on = th.dataset.col === sort.col;
            th.classList.toggle('sorted', on);
            th.setAttribute('aria-sort', on ? (sort.desc ? 'descending' : 'ascending') : 'none');
            th.dataset.arrow = on ? (sort.desc ? ' ▼' : ' ▲') : '';
        }
        FH.append(FH.clear(body), sorted.map((r) => FH.exporterRow(r, now)));
        if (!rows.length)
            body.append(h('tr', {}, h('td', {colspan: FH.EXPORTER_COLUMNS.length, class: 'empty'}, 'No exporter has sent anything yet.')));
    };
    /* records/s: the difference of the counters over the difference of the server's clock. */
    const take = (ex) => {
        rows = ex.exporters.map((e) => {
            const prev = previous && previous.exporters.find((p) => p.exporter === e.exporter);
            const dt = previous ? (ex.now_ms - previous.now_ms) / 1000 : 0;
            return {e, rate: prev && dt > 0 ? (e.flows - prev.flows) / dt : null};
        });
        now = ex.now_ms;
        previous = ex;
    };
    const refresh = async () => {
        take(await FH.api('exporters'));
        draw();
    };
    return FH.load(box, 'the exporters', () => FH.api('exporters'), (ex) => {
        take(ex);
        box.append(table);
        draw();
        /* A second sample soon, so that records/s shows without waiting for the 5 s cycle. */
        FH.timers.push(setTimeout(() => refresh().catch((e) => FH.status('refresh failed: ' + e.message)), 1500));
        FH.every(5000, refresh);
    });
};
