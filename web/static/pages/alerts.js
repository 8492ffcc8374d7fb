/* alerts.js - the alerts: open, resolved or all, for one client or every one. */
'use strict';

FH.pages.alerts = async function (main) {
    const h = FH.h, q = FH.query();
    const tabs = h('div', {class: 'tabs'}, [['', 'all'], ['open', 'open'], ['resolved', 'resolved']].map(([v, l]) =>
        h('a', {href: FH.link('/alerts', {state: v, client: q.client}), class: (q.state || '') === v ? 'active' : ''}, l)));
    const client = h('input', {type: 'text', id: 'alert-client', value: q.client || '', placeholder: 'client address', spellcheck: 'false'});
    const form = h('form', {class: 'query', onsubmit: (e) => {
        e.preventDefault();
        FH.setQuery({state: q.state, client: client.value.trim()}, true);
        FH.route();
    }}, tabs, client, h('button', {type: 'submit'}, 'Filter'));
    const out = h('div', {id: 'alerts-out'});
    main.append(h('h1', {}, 'Alerts'), form, out);
    await FH.load(out, 'the alerts', () => FH.api('alerts', {state: q.state, client: q.client, limit: 500}),
        (res) => out.append(FH.alertTable(res.alerts)));
};

FH.alertTable = function (alerts) {
    const h = FH.h;
    const cols = ['#', 'state', 'kind', 'holder', 'client', 'server', 'attempts', 'opened (UTC)', 'updated (UTC)', 'summary'];
    const row = (a) => h('tr', {class: a.state},
        h('td', {class: 'num'}, h('a', {href: '/alerts/' + a.id}, String(a.id))),
        h('td', {}, FH.badge(a.state)),
        h('td', {}, a.kind.replace('_', ' ')),
        h('td', {}, FH.badge(a.holder, 'holder')),
        h('td', {class: 'mono'}, a.client_port === null ? FH.endpoint(a.client_addr, '*')
            : h('a', {href: FH.link('/port', {client: a.client_addr, port: a.client_port})}, FH.endpoint(a.client_addr, a.client_port))),
        h('td', {class: 'mono'}, FH.endpoint(a.server_addr, a.server_port)),
        h('td', {class: 'num'}, String(a.attempts)),
        h('td', {class: 'mono'}, FH.time(a.opened_ms, false)),
        h('td', {class: 'mono'}, FH.time(a.updated_ms, false)),
        h('td', {class: 'summary'}, h('a', {href: '/alerts/' + a.id}, a.summary || '(no summary)')));
    return h('table', {class: 'grid', id: 'alerts'},
        h('thead', {}, h('tr', {}, cols.map((c) => h('th', {class: c === 'attempts' || c === '#' ? 'num' : ''}, c)))),
        h('tbody', {}, alerts.length ? alerts.map(row) : h('tr', {}, h('td', {colspan: cols.length, class: 'empty'}, 'No alerts.'))));
};
