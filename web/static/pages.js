/* pages.js - the pages: overview, flows, top N, a client port's history, alerts. Each
 * renders into `main` from the URL's parameters and the JSON API. */
'use strict';

FH.pages = {};
const h = FH.h;

/* ---------------- overview ---------------- */

FH.pages.overview = async function (main) {
    const tiles = h('div', {class: 'tiles'});
    const alertsBox = h('div', {id: 'open-alerts'});
    const expBody = h('tbody');
    const charts = h('div', {class: 'charts'});
    main.append(h('h1', {}, 'Overview'), tiles,
        FH.section('Open alerts', alertsBox),
        FH.section('Exporters', h('table', {class: 'grid', id: 'exporters'},
            h('thead', {}, h('tr', {}, ['exporter', 'versions', 'records', 'records/s', 'datagrams', 'lost',
                'rejected', 'templates', 'dropped', 'clock', 'last seen'].map((c) => h('th', {class: ['exporter', 'versions', 'last seen'].includes(c) ? '' : 'num'}, c)))),
            expBody)),
        FH.section('Traffic', charts));

    const [summary, alerts] = await Promise.all([FH.api('stats/summary'), FH.api('alerts', {state: 'open', limit: 20})]);
    const tile = (label, value, sub, href) => h(href ? 'a' : 'div', {class: 'tile', href}, h('div', {class: 'v'}, value),
        h('div', {class: 'l'}, label), sub ? h('div', {class: 's'}, sub) : null);
    tiles.append(
        tile('flows stored', FH.num(summary.flows), summary.partitions + ' partitions'),
        tile('flow time span', summary.first_ms ? FH.duration(summary.last_ms - summary.first_ms) : '–',
            summary.first_ms ? FH.time(summary.first_ms, false) + ' → ' + FH.time(summary.last_ms, false) : 'no flows yet'),
        tile('exporters', String(summary.exporters)),
        tile('open alerts', String(summary.alerts_open), null, '/alerts?state=open'));
    if (summary.alerts_open > 0) tiles.lastChild.classList.add('bad');

    FH.alertList(alertsBox, alerts.alerts, 'No open alerts.');

    let previous = null;
    const refresh = async () => {
        const ex = await FH.api('exporters');
        FH.clear(expBody);
        for (const e of ex.exporters) {
            const prev = previous && previous.exporters.find((p) => p.exporter === e.exporter);
            const dt = previous ? (ex.now_ms - previous.now_ms) / 1000 : 0;
            const rate = prev && dt > 0 ? (e.flows - prev.flows) / dt : null;
            const versions = [...new Set((e.domains || []).map((d) => 'v' + d.version))].join(' ');
            const rejects = (e.rejects || []).map((r) => r.reason + ': ' + r.count).join(', ');
            expBody.append(h('tr', {},
                h('td', {class: 'mono'}, e.exporter),
                h('td', {}, versions),
                h('td', {class: 'num'}, FH.int(e.flows)),
                h('td', {class: 'num'}, rate === null ? '…' : FH.num(rate)),
                h('td', {class: 'num'}, FH.int(e.packets)),
                h('td', {class: 'num' + (e.seq_lost ? ' warn' : '')}, FH.int(e.seq_lost)),
                h('td', {class: 'num' + (e.rejected + e.records_rejected ? ' warn' : ''), title: rejects || null},
                    FH.int(e.rejected + e.records_rejected)),
                FH.templatesCell(e),
                h('td', {class: 'num' + (e.dropped + e.kernel_drops ? ' warn' : '')}, FH.int(e.dropped + e.kernel_drops)),
                FH.clockCell(e),
                h('td', {title: FH.time(e.last_seen_ms) + ' UTC'}, FH.ago(e.last_seen_ms, ex.now_ms))));
        }
        if (!ex.exporters.length)
            expBody.append(h('tr', {}, h('td', {colspan: 10, class: 'empty'}, 'No exporter has sent anything yet.')));
        previous = ex;
    };
    await refresh();
    /* A second sample soon, so that records/s shows without waiting for the 5 s cycle. */
    FH.timers.push(setTimeout(() => refresh().catch((e) => FH.status(e.message)), 1500));
    FH.every(5000, refresh);

    /* The last day of stored flows: a chart over months would read every flow. */
    const tlFrom = summary.last_ms ? Math.max(summary.first_ms, summary.last_ms - 86400e3) : undefined;
    const tl = await FH.api('stats/timeline', {buckets: 120, from: tlFrom, to: summary.last_ms});
    const step = tl.step_ms || 1000;
    const pts = (k, scale) => tl.points.map((p) => ({t: p.t, v: (p[k] * scale) / (step / 1000)}));
    charts.append(
        h('h3', {}, 'flows/s'), FH.seriesChart(pts('flows', 1), {label: 'flows per second', step, cls: 'flows'}),
        h('h3', {}, 'bytes/s'), FH.seriesChart(pts('bytes', 1), {label: 'bytes per second', step, unit: 'B/s', cls: 'bytes'}),
        h('p', {class: 'hint'}, tl.step_ms ? 'The last day of stored flows (by flow start), ' + FH.duration(step) +
            ' per bar. ' : '', h('a', {href: '/flows'}, 'Query flows →')));
};

/* An exporter's clock against ours (its last datagram's export time minus our receive time),
 * and how many of its flows were dated out of bounds (clock-skew, clock-max-age): stored and
 * counted, those from the future not analysed (doc/storage.md "Exporters' clocks"). */
FH.clockCell = function (e) {
    const off = e.clock_offset_ms;
    const out = (e.clock_future || 0) + (e.clock_past || 0);
    const text = (off === null || off === undefined ? '' : (off > 0 ? '+' : '') + FH.duration(off)) +
        (out ? ' · ' + FH.int(out) + ' out of bounds' : '');
    return h('td', {class: 'num' + (out ? ' warn' : ''), title: 'its clock minus ours at its last datagram; flows dated ' +
        FH.int(e.clock_future) + ' in the future (not analysed), ' + FH.int(e.clock_past) + ' in the past: stored, counted'}, text);
};

/* An exporter's v9/IPFIX templates: how many it holds; a warning when some were refused
 * (template budget, rate of changes) or expired, with the numbers in its title. */
FH.templatesCell = function (e) {
    if (!(e.domains || []).some((d) => d.version !== 5)) return h('td', {class: 'num'}, '–');
    const trouble = e.templates_refused + e.templates_expired;
    const title = FH.int(e.templates) + ' held (' + FH.num(e.template_bytes, 'B') + '), ' +
        FH.int(e.templates_refused) + ' refused, ' + FH.int(e.templates_expired) + ' expired';
    return h('td', {class: 'num' + (trouble ? ' warn' : ''), title}, FH.int(e.templates));
};

/* A list of alerts as cards (overview) */
FH.alertList = function (box, alerts, emptyText) {
    if (!alerts.length) {
        box.append(h('p', {class: 'empty ok'}, emptyText));
        return;
    }
    const ul = h('ul', {class: 'alerts'});
    for (const a of alerts)
        ul.append(h('li', {class: 'alert ' + a.state},
            h('a', {href: '/alerts/' + a.id, class: 'title'}, '#' + a.id + ' ' + a.kind.replace('_', ' ') + ': ',
                FH.endpoint(a.client_addr, a.client_port === null ? '*' : a.client_port), ' → ',
                FH.endpoint(a.server_addr, a.server_port)),
            ' ', FH.badge(a.holder, 'holder'), ' ', FH.badge(a.state),
            h('div', {class: 'summary'}, a.summary || ''),
            h('div', {class: 'meta'}, 'opened ' + FH.time(a.opened_ms, false) + ' UTC · ' + a.attempts + ' failed attempts · ',
                a.client_port !== null ? h('a', {href: FH.link('/port', {client: a.client_addr, port: a.client_port})}, 'port history') : '')));
    box.append(ul);
};

/* ---------------- flows ---------------- */

FH.FLOW_COLUMNS = [
    ['first_ms', 'start'], ['duration', 'duration'], ['proto', 'proto'], ['src_addr', 'source'],
    ['dst_addr', 'destination'], ['tcp_flags', 'flags'], ['packets', 'packets'], ['bytes', 'bytes'],
    ['exporter', 'exporter'],
];

FH.filterHistory = {
    key: 'flowhound.filters',
    get() {
        try {
            const v = JSON.parse(localStorage.getItem(this.key) || '[]');
            return Array.isArray(v) ? v.filter((s) => typeof s === 'string').slice(0, 20) : [];
        } catch (e) {
            return [];
        }
    },
    add(f) {
        if (!f || !f.trim()) return;
        const list = [f].concat(this.get().filter((x) => x !== f)).slice(0, 20);
        try {
            localStorage.setItem(this.key, JSON.stringify(list));
        } catch (e) { /* private mode: no history */ }
    },
};

FH.filterBox = function (q, onSubmit) {
    const input = h('input', {type: 'text', id: 'filter', name: 'filter', class: 'filter', value: q.filter || '',
        placeholder: 'nfdump filter, e.g.  dst port 515 and flags S and not flags A', list: 'filter-history',
        autocomplete: 'off', spellcheck: 'false'});
    const dl = h('datalist', {id: 'filter-history'}, FH.filterHistory.get().map((f) => h('option', {value: f})));
    const recent = h('div', {class: 'recent'}, FH.filterHistory.get().slice(0, 6).length ? 'recent: ' : '',
        FH.filterHistory.get().slice(0, 6).map((f) => h('button', {type: 'button', class: 'chip', title: f,
            onclick: () => { input.value = f; onSubmit(); }}, f.length > 40 ? f.slice(0, 40) + '…' : f)));
    return {input, el: h('div', {class: 'filterbox'}, input, dl), recent};
};

FH.pages.flows = async function (main) {
    const q = FH.query();
    /* Without a range in the URL: the last day of stored flows, when the store holds more. A
     * filter no index serves reads every flow in range, and over months of flows that runs
     * into the query time limit (doc/web.md). The range shows in the inputs; "all" clears it. */
    if (!q.from && !q.to) {
        const s = await FH.api('stats/summary').catch(() => null);
        if (s && s.last_ms && s.first_ms < s.last_ms - 86400e3)
            q.from = FH.isoTime(s.last_ms - 86400e3).replace('.000Z', 'Z');
    }
    const state = {order: q.order || 'first_ms', offset: parseInt(q.offset || '0', 10) || 0, limit: parseInt(q.limit || '100', 10) || 100};
    const run = () => { state.offset = 0; load(true); };
    const range = FH.rangeInputs(q, run);
    const fb = FH.filterBox(q, run);
    const limitSel = h('select', {id: 'limit', onchange: run}, [50, 100, 500, 1000].map((n) =>
        h('option', {value: n, selected: n === state.limit}, n + ' rows')));
    const form = h('form', {class: 'query', id: 'flow-form', onsubmit: (e) => { e.preventDefault(); run(); }},
        fb.el, range.el, limitSel, h('button', {type: 'submit', class: 'primary', id: 'run'}, 'Run'));
    const out = h('div', {id: 'flows-out'});
    const info = h('div', {class: 'tablebar'});
    main.append(h('h1', {}, 'Flows'), form, fb.recent, info, out);

    const params = () => ({filter: fb.input.value.trim(), from: range.from.value.trim(), to: range.to.value.trim()});
    const load = async (push) => {
        const p = params();
        FH.setQuery({...p, order: state.order === 'first_ms' ? '' : state.order, offset: state.offset || '',
            limit: state.limit === 100 ? '' : state.limit}, push);
        FH.clear(out);
        FH.clear(info);
        out.append(h('div', {class: 'loading'}, 'querying…'));
        const t0 = performance.now();
        let res;
        try {
            res = await FH.api('flows', {...p, order: state.order, offset: state.offset, limit: state.limit});
        } catch (e) {
            FH.clear(out).append(FH.errorBox(e, p.filter));
            return;
        }
        FH.filterHistory.add(p.filter);
        const ms = Math.round(performance.now() - t0);
        FH.clear(out).append(FH.flowTable(res.flows, state, (col) => {
            const cur = state.order.replace(/^-/, '');
            state.order = cur === col && !state.order.startsWith('-') ? '-' + col : col;
            state.offset = 0;
            load(false);
        }));
        const n = res.flows.length;
        info.append(
            h('span', {id: 'rowinfo'}, n ? `rows ${state.offset + 1}–${state.offset + n}${res.more ? '' : ' (end)'}` : 'no flows match', ' · ' + ms + ' ms'),
            h('span', {class: 'spacer'}),
            h('button', {type: 'button', disabled: state.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - state.limit); load(true); }}, '← previous'),
            h('button', {type: 'button', id: 'next', disabled: !res.more, onclick: () => { state.offset += state.limit; load(true); }}, 'next →'),
            h('button', {type: 'button', onclick: () => FH.exportFlows(params(), state, 'csv')}, 'CSV'),
            h('button', {type: 'button', onclick: () => FH.exportFlows(params(), state, 'json')}, 'JSON'),
            h('a', {href: location.pathname + location.search, class: 'permalink', title: 'this query, as a link'}, 'permalink'));
    };
    window.onpopstate = () => FH.route();
    await load(false);
};

FH.flowTable = function (flows, state, onSort) {
    const cur = state.order.replace(/^-/, ''), desc = state.order.startsWith('-');
    const head = h('tr', {}, FH.FLOW_COLUMNS.map(([col, label]) => {
        const sortable = col !== 'duration';
        const num = ['packets', 'bytes', 'duration'].includes(col);
        return h('th', {class: (num ? 'num ' : '') + (sortable ? 'sortable' : '') + (cur === col ? ' sorted' : ''),
            'data-col': col, onclick: sortable ? () => onSort(col) : null},
        label, cur === col ? (desc ? ' ▼' : ' ▲') : '');
    }));
    const body = h('tbody');
    for (const f of flows) {
        const portLink = (addr, port) => h('a', {href: FH.link('/port', {client: addr, port}), title: 'history of this port'},
            FH.endpoint(addr, port));
        body.append(h('tr', {},
            h('td', {class: 'mono', title: String(f.first_ms)}, FH.time(f.first_ms)),
            h('td', {class: 'num'}, FH.duration(f.last_ms - f.first_ms)),
            h('td', {}, FH.proto(f.proto)),
            h('td', {class: 'mono'}, portLink(f.src_addr, f.src_port)),
            h('td', {class: 'mono'}, portLink(f.dst_addr, f.dst_port)),
            h('td', {class: 'mono flags'}, FH.flags(f.tcp_flags)),
            h('td', {class: 'num'}, FH.int(f.packets)),
            h('td', {class: 'num', title: FH.int(f.bytes) + ' bytes'}, FH.num(f.bytes, 'B')),
            h('td', {class: 'mono'}, f.exporter)));
    }
    if (!flows.length) body.append(h('tr', {}, h('td', {colspan: FH.FLOW_COLUMNS.length, class: 'empty'}, 'No flows in this range.')));
    return h('table', {class: 'grid flows', id: 'flows'}, h('thead', {}, head), body);
};

FH.exportFlows = async function (p, state, fmt) {
    try {
        const res = await FH.api('flows', {...p, order: state.order, limit: 10000});
        const cols = res.flows.length ? Object.keys(res.flows[0]) : [];
        if (fmt === 'csv') FH.download('flows.csv', 'text/csv', FH.csv(res.flows, cols));
        else FH.download('flows.json', 'application/json', JSON.stringify(res.flows, null, 1));
    } catch (e) {
        document.getElementById('flows-out').prepend(FH.errorBox(e, p.filter));
    }
};

/* ---------------- top N ---------------- */

FH.TOP_BY = [['src_addr', 'source address'], ['dst_addr', 'destination address'], ['ip', 'address (either side)'],
    ['src_port', 'source port'], ['dst_port', 'destination port'], ['port', 'port (either side)'], ['proto', 'protocol'], ['src_as', 'source AS'], ['dst_as', 'destination AS'],
    ['in_if', 'input interface'], ['out_if', 'output interface'], ['exporter', 'exporter']];

FH.pages.top = async function (main) {
    const q = FH.query();
    const run = () => load(true);
    const sel = (id, opts, cur) => h('select', {id, onchange: run}, opts.map(([v, l]) => h('option', {value: v, selected: v === cur}, l)));
    const by = sel('by', FH.TOP_BY, q.by || 'src_addr');
    const order = sel('order', [['flows', 'by flows'], ['packets', 'by packets'], ['bytes', 'by bytes']], q.order || 'bytes');
    const n = sel('n', [['10', 'top 10'], ['20', 'top 20'], ['50', 'top 50'], ['100', 'top 100']], q.n || '10');
    const range = FH.rangeInputs(q, run);
    const fb = FH.filterBox(q, run);
    const form = h('form', {class: 'query', onsubmit: (e) => { e.preventDefault(); run(); }},
        fb.el, range.el, by, order, n, h('button', {type: 'submit', class: 'primary'}, 'Run'));
    const out = h('div', {id: 'top-out'});
    main.append(h('h1', {}, 'Top N'), form, fb.recent, out);
    const load = async (push) => {
        const p = {by: by.value, order: order.value, n: n.value, filter: fb.input.value.trim(), from: range.from.value.trim(), to: range.to.value.trim()};
        FH.setQuery(p, push);
        FH.clear(out);
        let res;
        try {
            res = await FH.api('stats/top', p);
        } catch (e) {
            out.append(FH.errorBox(e, p.filter));
            return;
        }
        FH.filterHistory.add(p.filter);
        const label = (k) => (k === null ? '(none)' : p.by === 'proto' ? FH.proto(k) : String(k));
        const unit = p.order === 'bytes' ? 'B' : '';
        out.append(FH.barChart(res.top.map((r) => ({label: label(r.key), value: r[p.order],
            title: label(r.key) + ': ' + FH.int(r.flows) + ' flows, ' + FH.int(r.packets) + ' packets, ' + FH.int(r.bytes) + ' bytes'})),
        {label: 'top ' + p.by, unit}));
        const tot = res.total[p.order] || 1;
        const body = h('tbody', {}, res.top.map((r, i) => h('tr', {},
            h('td', {class: 'num'}, String(i + 1)), h('td', {class: 'mono'}, label(r.key)),
            h('td', {class: 'num'}, FH.int(r.flows)), h('td', {class: 'num'}, FH.int(r.packets)),
            h('td', {class: 'num'}, FH.num(r.bytes, 'B')),
            h('td', {class: 'num'}, ((100 * r[p.order]) / tot).toFixed(1) + ' %'))));
        out.append(h('table', {class: 'grid', id: 'top'}, h('thead', {}, h('tr', {}, ['#', p.by, 'flows', 'packets', 'bytes', 'share'].map((c, i) =>
            h('th', {class: i === 1 ? '' : 'num'}, c)))), body),
        h('p', {class: 'hint'}, 'Total: ' + FH.int(res.total.flows) + ' flows, ' + FH.int(res.total.packets) + ' packets, ' +
            FH.num(res.total.bytes, 'B') + '.'));
    };
    window.onpopstate = () => FH.route();
    await load(false);
};

/* ---------------- a client port's history ---------------- */

FH.pages.port = async function (main) {
    const q = FH.query();
    const client = h('input', {type: 'text', id: 'client', value: q.client || '', placeholder: 'client address', spellcheck: 'false'});
    const port = h('input', {type: 'number', id: 'port', min: 0, max: 65535, value: q.port || '', placeholder: 'port'});
    const form = h('form', {class: 'query', onsubmit: (e) => {
        e.preventDefault();
        FH.setQuery({client: client.value.trim(), port: port.value}, true);
        FH.route();
    }}, client, port, h('button', {type: 'submit', class: 'primary'}, 'Show'));
    main.append(h('h1', {}, 'Client port history'), form);
    if (!q.client || !q.port) {
        main.append(h('p', {class: 'hint'}, 'Every connection from one client address and port, on a time axis, with the alerts on it. ' +
            'Enter a client and port, or follow a link from a flow or an alert.'));
        return;
    }
    let res;
    try {
        res = await FH.api('connections', {client: q.client, port: q.port, from: q.from, to: q.to});
    } catch (e) {
        main.append(FH.errorBox(e));
        return;
    }
    main.append(h('h2', {class: 'subject'}, FH.endpoint(res.client, res.port)));
    if (!res.connections.length) {
        main.append(h('p', {class: 'empty'}, 'No connection from this client port in the stored flows (connections are rebuilt from the flows of the time range).'));
        return;
    }
    main.append(FH.section('Timeline', FH.connTimeline(res.connections, res.alerts, {label: 'connections of ' + res.client + ':' + res.port}),
        FH.legend()));
    if (res.alerts.length) {
        const box = h('div');
        FH.alertList(box, res.alerts, '');
        main.append(FH.section('Alerts on this port', box));
    }
    main.append(FH.section('Connections', FH.connTable(res.connections, new Set())));
};

FH.connTable = function (conns, highlight) {
    const cols = ['start', 'duration', 'server', 'state', 'client flags', 'server flags', 'c→s pkts', 's→c pkts', 'bytes', 'records', 'exporter'];
    return h('table', {class: 'grid', id: 'connections'},
        h('thead', {}, h('tr', {}, cols.map((c) => h('th', {class: /pkts|bytes|records|duration/.test(c) ? 'num' : ''}, c)))),
        h('tbody', {}, conns.length ? [] : h('tr', {}, h('td', {colspan: cols.length, class: 'empty'},
            'No connection in the stored flows (connections are rebuilt from them).')), conns.map((c) => h('tr', {class: 'o-' + FH.outcome(c.state) + (highlight.has(c.id) ? ' highlight' : '')},
            h('td', {class: 'mono'}, FH.time(c.start_ms)),
            h('td', {class: 'num'}, FH.duration(c.end_ms - c.start_ms)),
            h('td', {class: 'mono'}, FH.endpoint(c.server_addr, c.server_port)),
            h('td', {}, FH.badge(c.state, 'state o-' + FH.outcome(c.state))),
            h('td', {class: 'mono flags'}, FH.flags(c.c_flags)),
            h('td', {class: 'mono flags'}, FH.flags(c.s_flags)),
            h('td', {class: 'num'}, FH.int(c.c_packets)),
            h('td', {class: 'num'}, FH.int(c.s_packets)),
            h('td', {class: 'num'}, FH.num((c.c_bytes || 0) + (c.s_bytes || 0), 'B')),
            h('td', {class: 'num'}, FH.int(c.records)),
            h('td', {class: 'mono'}, c.exporter)))));
};

/* ---------------- alerts ---------------- */

FH.pages.alerts = async function (main) {
    const q = FH.query();
    const tabs = h('div', {class: 'tabs'}, [['', 'all'], ['open', 'open'], ['resolved', 'resolved']].map(([v, l]) =>
        h('a', {href: FH.link('/alerts', {state: v, client: q.client}), class: (q.state || '') === v ? 'active' : ''}, l)));
    const client = h('input', {type: 'text', id: 'alert-client', value: q.client || '', placeholder: 'client address', spellcheck: 'false'});
    const form = h('form', {class: 'query', onsubmit: (e) => {
        e.preventDefault();
        FH.setQuery({state: q.state, client: client.value.trim()}, true);
        FH.route();
    }}, tabs, client, h('button', {type: 'submit'}, 'Filter'));
    main.append(h('h1', {}, 'Alerts'), form);
    let res;
    try {
        res = await FH.api('alerts', {state: q.state, client: q.client, limit: 500});
    } catch (e) {
        main.append(FH.errorBox(e));
        return;
    }
    const cols = ['#', 'state', 'kind', 'holder', 'client', 'server', 'attempts', 'opened', 'updated', 'summary'];
    main.append(h('table', {class: 'grid', id: 'alerts'},
        h('thead', {}, h('tr', {}, cols.map((c) => h('th', {class: c === 'attempts' || c === '#' ? 'num' : ''}, c)))),
        h('tbody', {}, res.alerts.length ? res.alerts.map((a) => h('tr', {class: a.state},
            h('td', {class: 'num'}, h('a', {href: '/alerts/' + a.id}, String(a.id))),
            h('td', {}, FH.badge(a.state)),
            h('td', {}, a.kind),
            h('td', {}, FH.badge(a.holder, 'holder')),
            h('td', {class: 'mono'}, a.client_port === null ? a.client_addr
                : h('a', {href: FH.link('/port', {client: a.client_addr, port: a.client_port})}, FH.endpoint(a.client_addr, a.client_port))),
            h('td', {class: 'mono'}, FH.endpoint(a.server_addr, a.server_port)),
            h('td', {class: 'num'}, String(a.attempts)),
            h('td', {class: 'mono'}, FH.time(a.opened_ms, false)),
            h('td', {class: 'mono'}, FH.time(a.updated_ms, false)),
            h('td', {class: 'summary'}, h('a', {href: '/alerts/' + a.id}, a.summary || '(no summary)'))))
            : h('tr', {}, h('td', {colspan: cols.length, class: 'empty'}, 'No alerts.')))));
};

FH.HOLDERS = {
    middlebox: 'A middlebox between the two vantage points (e.g. a firewall) answered the SYNs itself: only the outside exporter saw them.',
    server: 'The server itself answered the SYNs with an ACK of the old connection: both exporters saw the SYN and the answer.',
    unknown: 'One vantage point only: flowhound cannot tell whether a middlebox or the server holds the old state.',
};

FH.pages.alert = async function (main, id) {
    let res;
    try {
        res = await FH.api('alerts/' + id);
    } catch (e) {
        main.append(h('h1', {}, 'Alert #' + id), FH.errorBox(e));
        return;
    }
    const a = res.alert, conns = res.connections;
    /* The failed attempts: failures since the alert opened; the last viable connection: the
     * last established one that started before the first of them. */
    const failed = conns.filter((c) => !FH.viable(c) && c.start_ms >= a.opened_ms - 3600e3 && c.start_ms <= a.updated_ms + 1000);
    const firstFail = failed.length ? failed[0].start_ms : a.opened_ms;
    const viable = conns.filter((c) => FH.viable(c) && c.start_ms < firstFail);
    /* Two vantage points see the same connection: prefer the one the first failure's exporter saw. */
    const mine = failed.length ? viable.filter((c) => c.exporter === failed[0].exporter) : [];
    const pick = mine.length ? mine : viable;
    const last = pick.length ? pick[pick.length - 1] : null;
    const hl = new Set(failed.map((c) => c.id).concat(last ? [last.id] : []));
    const kv = (k, ...v) => [h('dt', {}, k), h('dd', {}, v)];
    main.append(
        h('div', {class: 'crumbs'}, h('a', {href: '/alerts'}, 'Alerts'), ' / #' + a.id),
        h('h1', {}, a.kind.replace('_', ' ') + ' ', FH.badge(a.state), ' ', FH.badge(a.holder, 'holder')),
        h('p', {class: 'lead', id: 'alert-summary'}, a.summary || ''),
        h('div', {class: 'columns'},
            FH.section('Facts', h('dl', {class: 'facts'},
                kv('client', h('span', {class: 'mono'}, FH.endpoint(a.client_addr, a.client_port === null ? '*' : a.client_port)), ' ',
                    a.client_port !== null ? h('a', {href: FH.link('/port', {client: a.client_addr, port: a.client_port}), id: 'port-history'}, 'port history →') : ''),
                kv('server', h('span', {class: 'mono'}, FH.endpoint(a.server_addr, a.server_port))),
                kv('state held by', a.holder, h('div', {class: 'hint'}, FH.HOLDERS[a.holder] || '')),
                kv('failed attempts', String(a.attempts)),
                kv('flows', h('a', {id: 'alert-flows', href: FH.link('/flows', {
                    filter: 'host ' + a.client_addr + (a.client_port !== null ? ' and port ' + a.client_port : '') +
                        ' and host ' + a.server_addr + ' and port ' + a.server_port,
                    from: FH.isoTime((last ? last.start_ms : a.opened_ms) - 60e3),
                    to: FH.isoTime(a.updated_ms + 60e3)})}, 'flows of this conversation →')),
                kv('opened', FH.time(a.opened_ms) + ' UTC'),
                kv('updated', FH.time(a.updated_ms) + ' UTC'),
                a.resolved_ms ? kv('resolved', FH.time(a.resolved_ms) + ' UTC') : null,
                last ? kv('last viable connection', h('span', {class: 'mono'}, FH.time(last.start_ms) + ' UTC'),
                    ' (' + last.state + ', ' + FH.duration(last.end_ms - last.start_ms) + ', ended ' +
                    FH.duration(firstFail - last.end_ms) + ' before the first failed attempt)') : null)),
            FH.section('Evidence', FH.jsonView(a.evidence))),
        FH.section('Timeline: the last viable connection and the failed attempts',
            FH.connTimeline(conns, [a], {highlight: [...hl], label: 'connections around alert ' + a.id,
                marks: Object.fromEntries([[last ? last.id : -1, 'last viable']].concat(failed.map((c, i) => [c.id, '#' + (i + 1)])))}),
            FH.legend()),
        FH.section('Connections', FH.connTable(conns, hl)));
};

/* Any JSON value as nested definition lists: every string shown as text. */
FH.jsonView = function (v, isTime) {
    if (isTime && typeof v === 'number') return h('span', {class: 'json-time', title: String(v)}, FH.time(v) + ' UTC');
    if (v === null || v === undefined) return h('span', {class: 'null'}, 'null');
    if (Array.isArray(v)) {
        if (!v.length) return h('span', {class: 'null'}, '[]');
        return h('ol', {class: 'json'}, v.map((x) => h('li', {}, FH.jsonView(x, isTime))));
    }
    if (typeof v === 'object')
        return h('dl', {class: 'json'}, Object.entries(v).map(([k, x]) => [h('dt', {}, k),
            h('dd', {}, FH.jsonView(x, /_ms$/.test(k)))]));
    return h('span', {class: 'json-' + typeof v}, String(v));
};
