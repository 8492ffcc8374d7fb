/* port.js - a client port's history: every connection from one client address and port,
 * rebuilt from the stored flows, on a folded time axis with the alerts on it, and as a table. */
'use strict';

FH.pages.port = async function (main) {
    const h = FH.h, q = FH.query();
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
    const out = h('div', {id: 'port-out'});
    main.append(out);
    await FH.load(out, 'the connections of ' + FH.endpoint(q.client, q.port),
        () => FH.api('connections', {client: q.client, port: q.port, from: q.from, to: q.to}), (res) => FH.drawPort(out, res));
};

FH.drawPort = function (out, res) {
    const h = FH.h;
    out.append(h('h2', {class: 'subject'}, FH.endpoint(res.client, res.port)));
    if (!res.connections.length) {
        out.append(h('p', {class: 'empty'}, 'No connection from this client port in the stored flows (connections are rebuilt from the flows of the time range).'));
        return;
    }
    out.append(FH.section('Timeline', FH.connTimeline(res.connections, res.alerts, {label: 'connections of ' + res.client + ':' + res.port}),
        FH.legend()));
    if (res.alerts.length) {
        const box = h('div');
        FH.alertList(box, res.alerts, '');
        out.append(FH.section('Alerts on this port', box));
    }
    out.append(FH.section('Connections', FH.connTable(res.connections, new Set())));
};

/* Connections as a table; `highlight` ids (a Set) marked. */
FH.connTable = function (conns, highlight) {
    const h = FH.h;
    const cols = ['start', 'duration', 'client', 'server', 'state', 'client flags', 'server flags', 'c→s pkts', 's→c pkts', 'bytes', 'records', 'exporter'];
    return h('table', {class: 'grid', id: 'connections'},
        h('thead', {}, h('tr', {}, cols.map((c) => h('th', {class: /pkts|bytes|records|duration/.test(c) ? 'num' : ''}, c)))),
        h('tbody', {}, conns.length ? [] : h('tr', {}, h('td', {colspan: cols.length, class: 'empty'},
            'No connection in the stored flows (connections are rebuilt from them).')), conns.map((c) => h('tr', {class: 'o-' + FH.outcome(c.state) + (highlight.has(c.id) ? ' highlight' : '')},
            h('td', {class: 'mono'}, FH.time(c.start_ms)),
            h('td', {class: 'num'}, FH.duration(c.end_ms - c.start_ms)),
            h('td', {class: 'mono'}, FH.endpoint(c.client_addr, c.client_port)),
            h('td', {class: 'mono'}, FH.endpoint(c.server_addr, c.server_port)),
            h('td', {}, FH.badge(c.state, 'state o-' + FH.outcome(c.state))),
            h('td', {class: 'mono flags'}, FH.flags(c.c_flags)),
            h('td', {class: 'mono flags'}, FH.flags(c.s_flags)),
            h('td', {class: 'num'}, FH.int(c.c_packets)),
            h('td', {class: 'num'}, FH.int(c.s_packets)),
            h('td', {class: 'num'}, FH.num((c.c_bytes || 0) + (c.s_bytes || 0), 'B')),
            h('td', {class: 'num'}, FH.int(c.records)),
            h('td', {}, FH.exporter(c.exporter, c.exporter_name))))));
};
