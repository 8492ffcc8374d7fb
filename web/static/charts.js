/* charts.js - SVG charts: horizontal bars, and the connection timeline of a client port (with
 * idle gaps folded so that evening and next morning fit side by side). Rates over time are
 * timechart.js's (uPlot). */
'use strict';

/* Charts are drawn at the page's width, so that text keeps its size (no viewBox scaling). */
FH.chartWidth = function (fallback) {
    const main = document.getElementById('main');
    const w = main ? main.clientWidth - 40 : 0;
    return w > 400 ? w : fallback;
};

/* Horizontal bars: rows [{label, value, title, href}]; a bar with href links there. */
FH.barChart = function (rows, opts) {
    const W = opts.width || FH.chartWidth(900), rowH = 22, R = 90;
    const L = opts.labelWidth || Math.min(280, 24 + 7.5 * Math.max(4, ...rows.map((r) => String(r.label).length)));
    const H = rows.length * rowH + 8;
    const svg = FH.s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart bars', role: 'img', 'aria-label': opts.label});
    const max = Math.max(...rows.map((r) => r.value), 1);
    rows.forEach((r, i) => {
        const y = 4 + i * rowH;
        const w = Math.max(1, (r.value / max) * (W - L - R));
        const g = FH.s(r.href ? 'a' : 'g', {class: 'bar', href: r.href}, FH.s('title', {}, r.title || r.label));
        g.appendChild(FH.s('text', {x: L - 8, y: y + 15, 'text-anchor': 'end', class: 'label'}, r.label));
        g.appendChild(FH.s('rect', {x: L, y: y + 3, width: w, height: rowH - 6, rx: 2}));
        g.appendChild(FH.s('text', {x: L + w + 6, y: y + 15, class: 'value'}, FH.num(r.value, opts.unit)));
        svg.appendChild(g);
    });
    return svg;
};

/* Outcome of a connection from its Zeek-style state (+ SBA: SYN answered by a bare ACK; SA is
 * the same, as older exports spelled it). */
FH.outcome = function (state) {
    switch (state) {
    case 'SF': return 'closed';
    case 'S1': case 'S2': case 'S3': return 'unclosed';
    case 'RSTO': case 'RSTR': return 'reset';
    case 'SBA': case 'SA': return 'bare-ack';
    case 'S0': case 'REJ': case 'RSTOS0': case 'RSTRH': case 'SH': case 'SHR': return 'failed';
    default: return 'other';
    }
};
FH.OUTCOMES = {
    closed: 'established, closed (SF)',
    unclosed: 'established, never closed (S1/S2/S3)',
    reset: 'established, reset',
    'bare-ack': 'SYN answered by a bare ACK (SBA)',
    failed: 'failed (S0, REJ, ...)',
    other: 'other',
};
FH.viable = (c) => ['closed', 'unclosed', 'reset'].includes(FH.outcome(c.state));

/* Splits the times into clusters separated by long idle gaps, so that a connection at 17:30
 * and the attempts 14 hours later are both readable. Returns segments [{a, b}]. */
FH.foldTime = function (times) {
    const ts = times.filter((t) => t !== null && t !== undefined).sort((p, q) => p - q);
    if (!ts.length) return [];
    const span = ts[ts.length - 1] - ts[0];
    const gap = Math.max(60e3, span * 0.1);
    const segs = [{a: ts[0], b: ts[0]}];
    for (const t of ts.slice(1)) {
        const s = segs[segs.length - 1];
        if (t - s.b > gap) segs.push({a: t, b: t});
        else s.b = t;
    }
    for (const s of segs) {
        const pad = Math.max(1000, (s.b - s.a) * 0.06);
        s.a -= pad;
        s.b += pad;
    }
    return segs;
};

/* The lanes of a timeline: one per server endpoint and vantage point, and per client port
 * when the picture holds several (an alert's next port, a port exhaustion). Returns
 * {of(c): index, list: [{label, via}]}. */
FH.timelineLanes = function (conns) {
    const many = new Set(conns.map((c) => c.client_port)).size > 1;
    const keyOf = (c) => [many ? c.client_port : '', c.server_addr, c.server_port, c.exporter].join('|');
    const list = [], index = new Map();
    for (const c of conns) {
        if (index.has(keyOf(c))) continue;
        index.set(keyOf(c), list.length);
        list.push({label: (many ? ':' + c.client_port + ' → ' : '') + FH.endpoint(c.server_addr, c.server_port),
            via: c.exporter_name || c.exporter});
    }
    return {of: (c) => index.get(keyOf(c)), list, many};
};

/* The folded segments' frames and times, and each fold's length between them. */
FH.drawSegments = function (svg, segs, g) {
    segs.forEach((s, i) => {
        svg.appendChild(FH.s('rect', {x: g.segX[i], y: g.T - 4, width: g.segW, height: g.bottom - g.T + 8, class: 'seg'}));
        svg.appendChild(FH.s('text', {x: g.segX[i], y: g.bottom + 18, class: 'tick'}, FH.time(s.a, false) + ''));
        svg.appendChild(FH.s('text', {x: g.segX[i] + g.segW, y: g.bottom + 18, 'text-anchor': 'end', class: 'tick'},
            FH.time(s.b, false).slice(11)));
        if (i > 0) {
            const gx = g.segX[i] - g.GAP / 2;
            svg.appendChild(FH.s('path', {d: `M ${gx - 4} ${g.T - 6} l 8 -8 M ${gx - 4} ${g.bottom + 4} l 8 -8`, class: 'fold'}));
            svg.appendChild(FH.s('text', {x: gx, y: g.T - 12, 'text-anchor': 'middle', class: 'foldlabel'},
                '+' + FH.duration(s.a - segs[i - 1].b)));
        }
    });
};

FH.connTip = (c) => FH.endpoint(c.client_addr, c.client_port) + ' → ' + FH.endpoint(c.server_addr, c.server_port) + ', ' +
    FH.time(c.start_ms) + ' UTC, ' + FH.duration(c.end_ms - c.start_ms) + ', state ' + c.state +
    ', client flags ' + FH.flags(c.c_flags) + ', server flags ' + FH.flags(c.s_flags) +
    (c.exporter ? ', exporter ' + FH.exporterText(c.exporter, c.exporter_name) : '');

/* The connections of a client port on a folded time axis, one lane each (timelineLanes),
 * coloured by outcome; alerts as bands. opts: highlight (ids outlined), next (ids of what
 * the client did next, outlined apart), marks ({id: label}). */
FH.connTimeline = function (conns, alerts, opts) {
    opts = opts || {};
    const lanes = FH.timelineLanes(conns);
    const W = opts.width || FH.chartWidth(1000), L = lanes.many ? 190 : 150, R = 16, T = 30, laneH = 30, GAP = 34;
    const H = T + Math.max(1, lanes.list.length) * laneH + 40 + (alerts.length ? 38 : 0);
    const svg = FH.s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart timeline', role: 'img', 'aria-label': opts.label || 'connections'});
    const times = [];
    for (const c of conns) times.push(c.start_ms, c.end_ms);
    for (const a of alerts) times.push(a.opened_ms, a.updated_ms);
    const segs = FH.foldTime(times);
    if (!segs.length) {
        svg.appendChild(FH.s('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty'}, 'no connections recorded'));
        return svg;
    }
    const segW = (W - L - R - GAP * (segs.length - 1)) / segs.length;
    const segX = segs.map((s, i) => L + i * (segW + GAP));
    const x = (t) => {
        let i = segs.findIndex((s) => t <= s.b);
        if (i < 0) i = segs.length - 1;
        const s = segs[i];
        const f = Math.min(1, Math.max(0, (t - s.a) / Math.max(1, s.b - s.a)));
        return segX[i] + f * segW;
    };
    const bottom = T + Math.max(1, lanes.list.length) * laneH;
    FH.drawSegments(svg, segs, {segX, segW, T, bottom, GAP});
    lanes.list.forEach((lane, i) => {
        svg.appendChild(FH.s('text', {x: L - 8, y: T + i * laneH + laneH / 2, 'text-anchor': 'end', class: 'label'}, lane.label));
        if (lane.via) svg.appendChild(FH.s('text', {x: L - 8, y: T + i * laneH + laneH / 2 + 11, 'text-anchor': 'end', class: 'via'}, 'via ' + lane.via));
    });
    if (!conns.length)
        svg.appendChild(FH.s('text', {x: W / 2, y: T + laneH / 2 + 4, 'text-anchor': 'middle', class: 'empty'}, 'no connections recorded'));
    const hl = new Set(opts.highlight || []), next = new Set(opts.next || []);
    for (const c of conns) {
        const lane = lanes.of(c);
        const x0 = x(c.start_ms), x1 = Math.max(x(c.end_ms), x0 + 4);
        const cls = 'conn ' + FH.outcome(c.state) + (hl.has(c.id) ? ' highlight' : '') + (next.has(c.id) ? ' next' : '');
        svg.appendChild(FH.s('rect', {x: x0, y: T + lane * laneH + 6, width: x1 - x0, height: laneH - 12, rx: 2, class: cls,
            'data-id': c.id, 'data-state': c.state}, FH.s('title', {}, FH.connTip(c))));
        const mark = (opts.marks || {})[c.id];
        /* a label that would run off the right edge ends at its connection instead */
        const right = mark && x0 + 6.5 * mark.length > W - R;
        if (mark) svg.appendChild(FH.s('text', {x: right ? x1 : x0, y: T + lane * laneH + 4, class: 'mark',
            'text-anchor': right ? 'end' : 'start'}, mark));
    }
    const ay = bottom + 26;
    for (const a of alerts) {
        const x0 = x(a.opened_ms), x1 = Math.max(x(a.updated_ms), x0 + 6);
        svg.appendChild(FH.s('rect', {x: x0, y: ay, width: x1 - x0, height: 10, rx: 2, class: 'alertband ' + a.state},
            FH.s('title', {}, 'alert #' + a.id + ' (' + a.kind + ', ' + a.holder + '): ' + (a.summary || ''))));
        svg.appendChild(FH.s('line', {x1: x0, x2: x0, y1: T - 4, y2: ay, class: 'alertline'}));
        svg.appendChild(FH.s('text', {x: x0, y: ay + 23, class: 'alertlabel'}, 'alert #' + a.id + ' (' + a.holder + ')'));
    }
    return svg;
};

FH.legend = function () {
    return FH.h('div', {class: 'legend'}, Object.entries(FH.OUTCOMES).map(([k, v]) =>
        FH.h('span', {class: 'item'}, FH.h('span', {class: 'swatch ' + k}), v)),
    FH.h('span', {class: 'item'}, FH.h('span', {class: 'swatch alertband'}), 'alert'));
};
