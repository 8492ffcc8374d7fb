/* alert.js - one alert, for the engineer woken by it: the facts first (who, which port, who
 * holds the state and why, since when, how many attempts), then the client port's timeline
 * (the last viable connection, the failed attempts, what the client did next), the
 * evidence as tables (evidence.js), and every connection around it. */
'use strict';

FH.KINDS = {stale_state: 'Stale connection state', port_exhaustion: 'Port exhaustion'};
FH.HOLDERS = {
    middlebox: 'A middlebox between the vantage points (e.g. a firewall) answered the SYNs itself: only the outside exporter saw them.',
    server: 'The server itself answered the SYNs with ACKs of the old connection: every vantage point saw the SYNs and the answers.',
    unknown: 'flowhound cannot tell whether a middlebox or the server holds the old state (one vantage point, or not enough seen).',
};

FH.pages.alert = async function (main, id) {
    const h = FH.h;
    const out = h('div', {id: 'alert-out'});
    main.append(h('div', {class: 'crumbs'}, h('a', {href: '/alerts'}, 'Alerts'), ' / #' + id), out);
    await FH.load(out, 'alert #' + id, () => FH.api('alerts/' + id), (res) => FH.drawAlert(out, res));
};

/* Which connections tell the story: the failed attempts (the evidence's times), the last
 * viable connection (the evidence's, else the last established one before them, as the
 * exporter of the first failure saw it) and what the client did next (client_next). */
FH.alertStory = function (a, conns) {
    const ev = a.evidence && typeof a.evidence === 'object' ? a.evidence : {};
    const fa = ev.failed_attempts || {};
    const f0 = fa.first_ms !== undefined ? fa.first_ms : ev.first_attempt_ms !== undefined ? ev.first_attempt_ms : a.opened_ms - 3600e3;
    const f1 = fa.last_ms !== undefined ? fa.last_ms : ev.last_attempt_ms !== undefined ? ev.last_attempt_ms : a.updated_ms;
    const mine = (c) => a.client_port === null || c.client_port === a.client_port;
    const failed = conns.filter((c) => mine(c) && !FH.viable(c) && c.start_ms >= f0 - 1000 && c.start_ms <= f1 + 1000);
    const firstFail = failed.length ? failed[0].start_ms : a.opened_ms;
    const lv = ev.last_viable_connection || ev.last_viable;
    let last = lv ? conns.find((c) => mine(c) && c.start_ms === lv.start_ms && (!lv.exporter || c.exporter === lv.exporter)) : null;
    if (!last && a.client_port !== null) {
        const viable = conns.filter((c) => mine(c) && FH.viable(c) && c.start_ms < firstFail);
        const same = failed.length ? viable.filter((c) => c.exporter === failed[0].exporter) : [];
        const pick = same.length ? same : viable;
        last = pick.length ? pick[pick.length - 1] : null;
    }
    const next = (Array.isArray(ev.client_next) ? ev.client_next : []).flatMap((n) =>
        conns.filter((c) => c.client_port === n.client_port && Math.abs(c.start_ms - n.start_ms) < 1000));
    return {ev, failed, last, next, firstFail};
};

FH.drawAlert = function (out, res) {
    const h = FH.h, a = res.alert, conns = res.connections;
    const st = FH.alertStory(a, conns);
    const marks = {};
    if (st.last) marks[st.last.id] = 'last viable';
    st.failed.forEach((c, i) => { marks[c.id] = '#' + (i + 1); });
    /* one label per port the client moved to, on the first vantage point's lane */
    const labelled = new Set();
    for (const c of st.next) {
        if (!labelled.has(c.client_port)) marks[c.id] = 'next: port ' + c.client_port;
        labelled.add(c.client_port);
    }
    document.title = 'flowhound · alert #' + a.id;
    out.append(
        h('h1', {}, (FH.KINDS[a.kind] || a.kind) + ': ', h('span', {class: 'mono'},
            FH.endpoint(a.client_addr, a.client_port === null ? '*' : a.client_port), ' → ', FH.endpoint(a.server_addr, a.server_port)),
        ' ', FH.badge(a.state), ' ', FH.badge(a.holder, 'holder')),
        h('p', {class: 'lead', id: 'alert-summary'}, a.summary || ''),
        FH.section('Facts', FH.alertFacts(a, st)),
        FH.section(a.client_port === null ? 'Timeline of the client\'s ports and their failed attempts'
            : 'Timeline of the client port: the last viable connection, the failed attempts, what the client did next',
            FH.connTimeline(conns, [a], {highlight: st.failed.map((c) => c.id).concat(st.last ? [st.last.id] : []),
                next: st.next.map((c) => c.id), marks, label: 'connections around alert ' + a.id}),
            FH.legend()),
        h('section', {class: 'card', id: 'evidence'}, h('h2', {}, 'Evidence'), FH.evidenceView(a.evidence),
            h('p', {class: 'hint'}, 'As the analyzer recorded it; the same as JSON: ', h('a', {href: '/api/v1/alerts/' + a.id}, '/api/v1/alerts/' + a.id))),
        FH.section('Connections', FH.connTable(conns, new Set(st.failed.concat(st.last ? [st.last] : []).map((c) => c.id)))));
};

/* The facts of an alert as a definition list, most telling first. */
FH.alertFacts = function (a, st) {
    const h = FH.h, ev = st.ev, fa = ev.failed_attempts || {};
    const kv = (k, ...v) => [h('dt', {}, k), h('dd', {}, v)];
    const t = (ms) => (ms === undefined || ms === null ? '' : FH.time(ms) + ' UTC');
    const holder = ev.holder && typeof ev.holder === 'object' ? ev.holder : {};
    const answers = [...new Set((fa.by_exporter || []).map((o) => FH.ANSWERS[o.answer] || o.answer))].join(', ');
    const first = fa.first_ms !== undefined ? fa.first_ms : ev.first_attempt_ms;
    const last = fa.last_ms !== undefined ? fa.last_ms : ev.last_attempt_ms;
    const lvEnd = st.last ? st.last.end_ms : ev.stale_since_ms;
    return h('dl', {class: 'facts', id: 'facts'},
        kv('client', h('span', {class: 'mono'}, FH.endpoint(a.client_addr, a.client_port === null ? '*' : a.client_port)), ' ',
            a.client_port !== null ? h('a', {href: FH.link('/port', {client: a.client_addr, port: a.client_port}), id: 'port-history'}, 'port history →') : ''),
        kv('server', h('span', {class: 'mono'}, FH.endpoint(a.server_addr, a.server_port))),
        kv('state held by', h('strong', {}, a.holder), holder.why ? ': ' + holder.why : '', h('div', {class: 'hint'}, FH.HOLDERS[a.holder] || '')),
        ev.stale_since_ms !== undefined ? kv('stale since', t(ev.stale_since_ms),
            ' (the last viable connection ended without FIN or RST' +
            (lvEnd !== undefined ? ', ' + FH.duration(st.firstFail - lvEnd) + ' before the first failed attempt)' : ')')) : null,
        kv('failed attempts', h('strong', {}, String(a.attempts)),
            first !== undefined ? ' from ' + t(first) + ' to ' + t(last) + (answers ? ', answered by ' + answers : '') : ''),
        st.last ? kv('last viable connection', h('span', {class: 'mono'}, t(st.last.start_ms)),
            ' (' + st.last.state + ', ' + FH.duration(st.last.end_ms - st.last.start_ms) + ', seen by ',
            FH.exporter(st.last.exporter, st.last.exporter_name), ')') : null,
        Array.isArray(ev.client_next) && ev.client_next.length ? kv('then the client', ev.client_next.map((n, i) => [i ? '; ' : '',
            'used port ' + n.client_port + ' at ' + t(n.start_ms) + ' (' + n.state + (n.worked ? ': it worked' : ': it failed too') + ')'])) : null,
        kv('alert', 'opened ' + t(a.opened_ms) + ', updated ' + t(a.updated_ms) +
            (a.resolved_ms ? ', resolved ' + t(a.resolved_ms) + (ev.resolved_because ? ' (' + ev.resolved_because + ')' : '') : '')),
        kv('flows', h('a', {id: 'alert-flows', href: FH.link('/flows', {
            filter: 'host ' + a.client_addr + (a.client_port !== null ? ' and port ' + a.client_port : '') +
                ' and host ' + a.server_addr + ' and port ' + a.server_port,
            from: FH.isoTime((st.last ? st.last.start_ms : a.opened_ms) - 60e3),
            to: FH.isoTime(a.updated_ms + 60e3)})}, 'flows of this conversation →')));
};
