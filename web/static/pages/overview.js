/* overview.js - the first page: what the store holds, the open alerts first, the exporters
 * (exporters.js), and the traffic over a time range (range.js; drag across a chart to zoom
 * in, the browser's Back to zoom out again). */
'use strict';

FH.pages.overview = async function (main) {
    const h = FH.h;
    let range = FH.rangeOf(FH.query(), '24h');
    const tiles = h('div', {class: 'tiles', id: 'tiles'});
    const alertsBox = h('div', {id: 'open-alerts'});
    const exporters = h('div', {id: 'exporters-box'});
    const traffic = h('div', {class: 'charts', id: 'traffic'});
    const picker = FH.rangePicker(range, (r) => setRange(r));
    main.append(h('h1', {}, 'Overview'), tiles,
        FH.section('Open alerts', alertsBox),
        FH.section('Exporters', exporters),
        FH.section('Traffic', picker.el, traffic));
    const loadTraffic = () => FH.load(traffic, 'the traffic chart', async () => {
        const s = await FH.api('stats/summary');
        const api = FH.rangeApi(range, s.last_ms);
        return {api, tl: await FH.api('stats/timeline', {buckets: 120, ...api})};
    }, ({api, tl}) => {
        picker.show(range, api);
        FH.drawTraffic(traffic, tl, {flows: FH.link('/flows', FH.rangeParams(range)),
            onZoom: (a, b) => setRange({from: FH.isoShort(a), to: FH.isoShort(b)})});
    });
    /* A zoom or a preset is a new view: a new URL, so that Back returns to the one before. */
    const setRange = (r) => {
        range = r;
        FH.setQuery(FH.rangeParams(r), true);
        picker.set(r);
        return loadTraffic();
    };
    await Promise.all([
        FH.load(tiles, 'the store summary', () => FH.api('stats/summary'), (s) => FH.drawTiles(tiles, s)),
        FH.load(alertsBox, 'the open alerts', () => FH.api('alerts', {state: 'open', limit: 20}),
            (res) => FH.alertList(alertsBox, res.alerts, 'No open alerts.')),
        FH.exportersTable(exporters),
        loadTraffic(),
    ]);
};

FH.drawTiles = function (tiles, s) {
    const h = FH.h;
    const tile = (label, value, sub, href) => h(href ? 'a' : 'div', {class: 'tile', href}, h('div', {class: 'v'}, value),
        h('div', {class: 'l'}, label), sub ? h('div', {class: 's'}, sub) : null);
    tiles.append(
        tile('flows stored', FH.num(s.flows), s.partitions + ' partitions'),
        tile('flow time span', s.first_ms ? FH.duration(s.last_ms - s.first_ms) : '–',
            s.first_ms ? FH.time(s.first_ms, false) + ' → ' + FH.time(s.last_ms, false) : 'no flows yet'),
        tile('exporters', String(s.exporters)),
        tile('open alerts', String(s.alerts_open), null, '/alerts?state=open'));
    if (s.alerts_open > 0) tiles.lastChild.classList.add('bad');
};

/* Flows/s and bytes/s of a timeline answer, each in the unit its values need. */
FH.drawTraffic = function (box, tl, opts) {
    const h = FH.h;
    const any = tl.points.some((p) => p.flows > 0);
    if (!any) {
        box.append(h('p', {class: 'empty'}, 'No flows in this range.'));
        return;
    }
    const flows = h('div', {class: 'chartbox'}), bytes = h('div', {class: 'chartbox'});
    box.append(h('h3', {}, 'flows'), flows, h('h3', {}, 'bytes'), bytes);
    FH.timeChart(flows, tl, 'flows', {noun: 'flows', onZoom: opts.onZoom});
    FH.timeChart(bytes, tl, 'bytes', {noun: 'bytes', onZoom: opts.onZoom});
    box.append(h('p', {class: 'hint'}, 'By flow start, ' + FH.duration(tl.step_ms) + ' a step, times in UTC. ' +
        'Drag across a chart to zoom in; Back zooms out. ', h('a', {href: opts.flows, id: 'traffic-flows'}, 'These flows →')));
};

/* Alerts as cards (the overview's open alerts, a port's alerts). */
FH.alertList = function (box, alerts, emptyText) {
    const h = FH.h;
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
            h('div', {class: 'meta'}, 'opened ' + FH.time(a.opened_ms, false) + ' UTC · ' + a.attempts + ' failed attempts',
                a.client_port !== null ? [' · ', h('a', {href: FH.link('/port', {client: a.client_addr, port: a.client_port})}, 'port history')] : '')));
    box.append(ul);
};
