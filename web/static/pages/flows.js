/* flows.js - the flows page: a filter (nfdump syntax, with a history), a time range
 * (range.js), a sortable, paginated table, CSV and JSON export. Every query is a permalink:
 * /flows?filter=dst+port+515&last=1h&order=-bytes&offset=100. */
'use strict';

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
    const h = FH.h;
    const input = h('input', {type: 'text', id: 'filter', name: 'filter', class: 'filter', value: q.filter || '',
        placeholder: 'nfdump filter, e.g.  dst port 515 and flags S and not flags A', list: 'filter-history',
        autocomplete: 'off', spellcheck: 'false'});
    const dl = h('datalist', {id: 'filter-history'}, FH.filterHistory.get().map((f) => h('option', {value: f})));
    const recent = h('div', {class: 'recent'}, FH.filterHistory.get().slice(0, 6).length ? 'recent: ' : '',
        FH.filterHistory.get().slice(0, 6).map((f) => h('button', {type: 'button', class: 'chip', title: f,
            onclick: () => { input.value = f; onSubmit(); }}, f.length > 40 ? f.slice(0, 40) + '…' : f)));
    return {input, el: h('div', {class: 'filterbox'}, input, dl), recent};
};

/* The filter, range and time bounds of a flow page's form, and the API's from/to for them. */
FH.flowQuery = async function (filter, range) {
    const s = range.last && range.last !== 'all' ? await FH.api('stats/summary') : null;
    return {filter, range, api: FH.rangeApi(range, s && s.last_ms)};
};

FH.pages.flows = async function (main) {
    const h = FH.h, q = FH.query();
    const state = {order: q.order || 'first_ms', offset: parseInt(q.offset || '0', 10) || 0,
        limit: parseInt(q.limit || '100', 10) || 100, range: FH.rangeOf(q, '24h')};
    const run = () => { state.offset = 0; load(true); };
    const picker = FH.rangePicker(state.range, (r) => { picker.set(r); run(); });
    const fb = FH.filterBox(q, run);
    const limitSel = h('select', {id: 'limit', onchange: run}, [50, 100, 500, 1000].map((n) =>
        h('option', {value: n, selected: n === state.limit}, n + ' rows')));
    const form = h('form', {class: 'query', id: 'flow-form', onsubmit: (e) => { e.preventDefault(); run(); }},
        fb.el, limitSel, h('button', {type: 'submit', class: 'primary', id: 'run'}, 'Run'), picker.el);
    const out = h('div', {id: 'flows-out'});
    const info = h('div', {class: 'tablebar'});
    main.append(h('h1', {}, 'Flows'), form, fb.recent, info, out);

    const load = (push) => {
        const filter = fb.input.value.trim();
        state.range = picker.value();
        picker.set(state.range);
        FH.setQuery({filter, ...FH.rangeParams(state.range), order: state.order === 'first_ms' ? '' : state.order,
            offset: state.offset || '', limit: state.limit === 100 ? '' : state.limit}, push);
        FH.clear(info);
        const t0 = performance.now();
        return FH.load(out, 'the flows', async () => {
            const fq = await FH.flowQuery(filter, state.range);
            picker.show(fq.range, fq.api);
            const res = await FH.api('flows', {filter, ...fq.api, order: state.order, offset: state.offset, limit: state.limit});
            return {fq, res};
        }, ({fq, res}) => {
            FH.filterHistory.add(filter);
            out.append(FH.flowTable(res.flows, state, (col) => {
                const cur = state.order.replace(/^-/, '');
                state.order = cur === col && !state.order.startsWith('-') ? '-' + col : col;
                state.offset = 0;
                load(false);
            }));
            FH.flowBar(info, res, state, Math.round(performance.now() - t0), {
                page: (offset) => { state.offset = offset; load(true); },
                exportAs: (fmt) => FH.exportFlows({filter, ...fq.api}, state, fmt),
            });
        }, {filter});
    };
    await load(false);
};

/* The bar above the table: rows shown, paging, export, permalink. */
FH.flowBar = function (info, res, state, ms, act) {
    const h = FH.h, n = res.flows.length;
    info.append(
        h('span', {id: 'rowinfo'}, n ? `rows ${state.offset + 1}–${state.offset + n}${res.more ? '' : ' (end)'}` : 'no flows match', ' · ' + ms + ' ms'),
        h('span', {class: 'spacer'}),
        h('button', {type: 'button', disabled: state.offset === 0, onclick: () => act.page(Math.max(0, state.offset - state.limit))}, '← previous'),
        h('button', {type: 'button', id: 'next', disabled: !res.more, onclick: () => act.page(state.offset + state.limit)}, 'next →'),
        h('button', {type: 'button', onclick: () => act.exportAs('csv')}, 'CSV'),
        h('button', {type: 'button', onclick: () => act.exportAs('json')}, 'JSON'),
        h('a', {href: location.pathname + location.search, class: 'permalink', title: 'this query, as a link'}, 'permalink'));
};

FH.flowTable = function (flows, state, onSort) {
    const h = FH.h;
    const cur = state.order.replace(/^-/, ''), desc = state.order.startsWith('-');
    const head = h('tr', {}, FH.FLOW_COLUMNS.map(([col, label]) => {
        const sortable = col !== 'duration';
        const num = ['packets', 'bytes', 'duration'].includes(col);
        return h('th', {class: (num ? 'num ' : '') + (sortable ? 'sortable' : '') + (cur === col ? ' sorted' : ''),
            'data-col': col, onclick: sortable ? () => onSort(col) : null},
        label, cur === col ? (desc ? ' ▼' : ' ▲') : '');
    }));
    const body = h('tbody');
    const portLink = (addr, port) => h('a', {href: FH.link('/port', {client: addr, port}), title: 'history of this port'},
        FH.endpoint(addr, port));
    for (const f of flows) {
        body.append(h('tr', {},
            h('td', {class: 'mono', title: String(f.first_ms)}, FH.time(f.first_ms)),
            h('td', {class: 'num'}, FH.duration(f.last_ms - f.first_ms)),
            h('td', {}, FH.proto(f.proto)),
            h('td', {class: 'mono'}, portLink(f.src_addr, f.src_port)),
            h('td', {class: 'mono'}, portLink(f.dst_addr, f.dst_port)),
            h('td', {class: 'mono flags'}, FH.flags(f.tcp_flags)),
            h('td', {class: 'num'}, FH.int(f.packets)),
            h('td', {class: 'num', title: FH.int(f.bytes) + ' bytes'}, FH.num(f.bytes, 'B')),
            h('td', {}, FH.exporter(f.exporter, f.exporter_name))));
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
        document.getElementById('flows-out').prepend(FH.failure('the export', e, () => FH.exportFlows(p, state, fmt), p.filter));
    }
};
