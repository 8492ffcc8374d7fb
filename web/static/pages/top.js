/* top.js - top N by one key (nfdump -s): a bar chart and a table with shares. Each key links
 * to its flows: the flows page with the key's filter (and the page's own filter) filled in,
 * over the same time range. */
'use strict';

/* [by, label, the filter primitive that selects a key's flows (doc/filter.md)] */
FH.TOP_BY = [['src_addr', 'source address', 'src ip'], ['dst_addr', 'destination address', 'dst ip'],
    ['ip', 'address (either side)', 'ip'], ['src_port', 'source port', 'src port'],
    ['dst_port', 'destination port', 'dst port'], ['port', 'port (either side)', 'port'], ['proto', 'protocol', 'proto'],
    ['src_as', 'source AS', 'src as'], ['dst_as', 'destination AS', 'dst as'], ['in_if', 'input interface', 'in if'],
    ['out_if', 'output interface', 'out if'], ['exporter', 'exporter', 'exporter']];

/* The filter of one key's flows, within the page's filter if there is one. */
FH.keyFilter = function (by, key, base) {
    const entry = FH.TOP_BY.find(([b]) => b === by);
    const prim = entry[2] + ' ' + key;
    return base ? '(' + base + ') and ' + prim : prim;
};

FH.pages.top = async function (main) {
    const h = FH.h, q = FH.query();
    let range = FH.rangeOf(q, '24h');
    const run = () => load(true);
    const sel = (id, opts, cur) => h('select', {id, onchange: run}, opts.map(([v, l]) => h('option', {value: v, selected: v === cur}, l)));
    const by = sel('by', FH.TOP_BY, q.by || 'src_addr');
    const order = sel('order', [['flows', 'by flows'], ['packets', 'by packets'], ['bytes', 'by bytes']], q.order || 'bytes');
    const n = sel('n', [['10', 'top 10'], ['20', 'top 20'], ['50', 'top 50'], ['100', 'top 100']], q.n || '10');
    const picker = FH.rangePicker(range, (r) => { picker.set(r); run(); });
    const fb = FH.filterBox(q, run);
    const form = h('form', {class: 'query', onsubmit: (e) => { e.preventDefault(); run(); }},
        fb.el, by, order, n, h('button', {type: 'submit', class: 'primary'}, 'Run'), picker.el);
    const out = h('div', {id: 'top-out'});
    main.append(h('h1', {}, 'Top N'), form, fb.recent, out);
    const load = (push) => {
        const p = {by: by.value, order: order.value, n: n.value, filter: fb.input.value.trim()};
        range = picker.value();
        picker.set(range);
        FH.setQuery({...p, ...FH.rangeParams(range)}, push);
        return FH.load(out, 'the top ' + p.n, async () => {
            const fq = await FH.flowQuery(p.filter, range);
            picker.show(range, fq.api);
            return FH.api('stats/top', {...p, ...fq.api});
        }, (res) => {
            FH.filterHistory.add(p.filter);
            FH.drawTop(out, res, p, (key) => FH.link('/flows', {filter: FH.keyFilter(p.by, key, p.filter), ...FH.rangeParams(range)}));
        }, {filter: p.filter});
    };
    await load(false);
};

/* The chart and the table of a top-N answer; flowsOf(key) is the link to a key's flows. */
FH.drawTop = function (out, res, p, flowsOf) {
    const h = FH.h;
    const text = (r) => (r.key === null ? '(none)' : p.by === 'proto' ? FH.proto(r.key)
        : p.by === 'exporter' ? FH.exporterText(r.key, r.exporter_name) : String(r.key));
    const cell = (r) => {
        if (r.key === null) return '(none)';
        const label = p.by === 'exporter' ? FH.exporter(r.key, r.exporter_name) : text(r);
        return h('a', {href: flowsOf(r.key), class: 'key', title: 'the flows of ' + text(r)}, label);
    };
    const unit = p.order === 'bytes' ? 'B' : '';
    out.append(FH.barChart(res.top.map((r) => ({label: text(r), value: r[p.order], href: r.key === null ? null : flowsOf(r.key),
        title: text(r) + ': ' + FH.int(r.flows) + ' flows, ' + FH.int(r.packets) + ' packets, ' + FH.int(r.bytes) + ' bytes'})),
    {label: 'top ' + p.by, unit}));
    const tot = res.total[p.order] || 1;
    const body = h('tbody', {}, res.top.map((r, i) => h('tr', {},
        h('td', {class: 'num'}, String(i + 1)), h('td', {class: 'mono'}, cell(r)),
        h('td', {class: 'num'}, FH.int(r.flows)), h('td', {class: 'num'}, FH.int(r.packets)),
        h('td', {class: 'num'}, FH.num(r.bytes, 'B')),
        h('td', {class: 'num'}, ((100 * r[p.order]) / tot).toFixed(1) + ' %'))));
    if (!res.top.length) body.append(h('tr', {}, h('td', {colspan: 6, class: 'empty'}, 'No flows in this range.')));
    out.append(h('table', {class: 'grid', id: 'top'}, h('thead', {}, h('tr', {}, ['#', p.by, 'flows', 'packets', 'bytes', 'share'].map((c, i) =>
        h('th', {class: i === 1 ? '' : 'num'}, c)))), body),
    h('p', {class: 'hint'}, 'Total: ' + FH.int(res.total.flows) + ' flows, ' + FH.int(res.total.packets) + ' packets, ' +
        FH.num(res.total.bytes, 'B') + '. A key links to its flows.'));
};
