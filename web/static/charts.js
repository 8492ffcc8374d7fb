/* charts.js - SVG charts: a time series, horizontal bars, and the connection timeline of a
 * client port (with idle gaps folded so that evening and next morning fit side by side). */
'use strict';

/* Charts are drawn at the page's width, so that text keeps its size (no viewBox scaling). */
FH.chartWidth = function (fallback) {
    const main = document.getElementById('main');
    const w = main ? main.clientWidth - 40 : 0;
    return w > 400 ? w : fallback;
};

FH.niceTicks = function (max, count) {
    if (!(max > 0)) return [0];
    const raw = max / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const ticks = [];
    for (let v = 0; v <= max * 1.0001 + step * 0.001; v += step) ticks.push(v);
    if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
    return ticks;
};

/* A time series as an area chart. points: [{t, v}], step_ms for the bucket width. */
FH.seriesChart = function (points, opts) {
    const W = opts.width || FH.chartWidth(900), H = opts.height || 160;
    const L = 64, R = 12, T = 10, B = 24;
    const svg = FH.s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart series ' + (opts.cls || ''),
        role: 'img', 'aria-label': opts.label});
    if (!points.length) {
        svg.appendChild(FH.s('text', {x: W / 2, y: H / 2, class: 'empty', 'text-anchor': 'middle'}, 'no data'));
        return svg;
    }
    const t0 = points[0].t, t1 = points[points.length - 1].t + (opts.step || 0);
    const maxV = Math.max(...points.map((p) => p.v), 0);
    const ticks = FH.niceTicks(maxV, 4);
    const top = ticks[ticks.length - 1] || 1;
    const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R);
    const y = (v) => H - B - (v / top) * (H - T - B);
    for (const tv of ticks) {
        svg.appendChild(FH.s('line', {x1: L, x2: W - R, y1: y(tv), y2: y(tv), class: 'grid'}));
        svg.appendChild(FH.s('text', {x: L - 6, y: y(tv) + 4, 'text-anchor': 'end', class: 'tick'}, FH.num(tv, opts.unit)));
    }
    for (let i = 0; i <= 4; i++) {
        const t = t0 + ((t1 - t0) * i) / 4;
        svg.appendChild(FH.s('text', {x: x(t), y: H - 6, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle',
            class: 'tick'}, FH.time(t, false).slice(t1 - t0 > 86400e3 ? 5 : 11, 16) + (i === 4 ? ' UTC' : '')));
    }
    let d = `M ${x(t0)} ${y(0)}`;
    for (const p of points) d += ` L ${x(p.t)} ${y(p.v)} L ${x(p.t + (opts.step || 0))} ${y(p.v)}`;
    d += ` L ${x(t1)} ${y(0)} Z`;
    svg.appendChild(FH.s('path', {d, class: 'area'}));
    /* A hover target per bucket with its value as a native tooltip. */
    for (const p of points) {
        const w = Math.max(1, x(p.t + (opts.step || 0)) - x(p.t));
        svg.appendChild(FH.s('rect', {x: x(p.t), y: T, width: w, height: H - T - B, class: 'hit'},
            FH.s('title', {}, FH.time(p.t, false) + ' UTC: ' + FH.num(p.v, opts.unit))));
    }
    return svg;
};

/* Horizontal bars: rows [{label, value, title}]. */
FH.barChart = function (rows, opts) {
    const W = opts.width || FH.chartWidth(900), rowH = 22, R = 90;
    const L = opts.labelWidth || Math.min(280, 24 + 7.5 * Math.max(4, ...rows.map((r) => String(r.label).length)));
    const H = rows.length * rowH + 8;
    const svg = FH.s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart bars', role: 'img', 'aria-label': opts.label});
    const max = Math.max(...rows.map((r) => r.value), 1);
    rows.forEach((r, i) => {
        const y = 4 + i * rowH;
        const w = Math.max(1, (r.value / max) * (W - L - R));
        const g = FH.s('g', {class: 'bar'}, FH.s('title', {}, r.title || r.label));
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

/* The connections of a client port on a folded time axis, one lane per server endpoint,
 * coloured by outcome; alerts as bands; `highlight` ids drawn with an outline. */
FH.connTimeline = function (conns, alerts, opts) {
    opts = opts || {};
    const W = opts.width || FH.chartWidth(1000), L = 150, R = 16, T = 30, laneH = 30, GAP = 34;
    const lanes = [...new Set(conns.map((c) => FH.endpoint(c.server_addr, c.server_port) + ' ' + (c.exporter || '')))];
    const H = T + Math.max(1, lanes.length) * laneH + 40 + (alerts.length ? 38 : 0);
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
    const bottom = T + Math.max(1, lanes.length) * laneH;
    /* Segment axes, with the folded gap's length between them. */
    segs.forEach((s, i) => {
        svg.appendChild(FH.s('rect', {x: segX[i], y: T - 4, width: segW, height: bottom - T + 8, class: 'seg'}));
        svg.appendChild(FH.s('text', {x: segX[i], y: bottom + 18, class: 'tick'}, FH.time(s.a, false) + ''));
        svg.appendChild(FH.s('text', {x: segX[i] + segW, y: bottom + 18, 'text-anchor': 'end', class: 'tick'},
            FH.time(s.b, false).slice(11)));
        if (i > 0) {
            const gx = segX[i] - GAP / 2;
            svg.appendChild(FH.s('path', {d: `M ${gx - 4} ${T - 6} l 8 -8 M ${gx - 4} ${bottom + 4} l 8 -8`, class: 'fold'}));
            svg.appendChild(FH.s('text', {x: gx, y: T - 12, 'text-anchor': 'middle', class: 'foldlabel'},
                '+' + FH.duration(s.a - segs[i - 1].b)));
        }
    });
    lanes.forEach((lane, i) => {
        const [server, via] = lane.split(' ');
        svg.appendChild(FH.s('text', {x: L - 8, y: T + i * laneH + laneH / 2, 'text-anchor': 'end', class: 'label'}, server));
        if (via) svg.appendChild(FH.s('text', {x: L - 8, y: T + i * laneH + laneH / 2 + 11, 'text-anchor': 'end', class: 'via'}, 'via ' + via));
    });
    if (!conns.length)
        svg.appendChild(FH.s('text', {x: W / 2, y: T + laneH / 2 + 4, 'text-anchor': 'middle', class: 'empty'}, 'no connections recorded'));
    const hl = new Set(opts.highlight || []);
    for (const c of conns) {
        const lane = lanes.indexOf(FH.endpoint(c.server_addr, c.server_port) + ' ' + (c.exporter || ''));
        const x0 = x(c.start_ms), x1 = Math.max(x(c.end_ms), x0 + 4);
        const cls = 'conn ' + FH.outcome(c.state) + (hl.has(c.id) ? ' highlight' : '');
        const tip = FH.endpoint(c.client_addr, c.client_port) + ' → ' + FH.endpoint(c.server_addr, c.server_port) + ', ' +
            FH.time(c.start_ms) + ' UTC, ' + FH.duration(c.end_ms - c.start_ms) + ', state ' + c.state +
            ', client flags ' + FH.flags(c.c_flags) + ', server flags ' + FH.flags(c.s_flags) +
            (c.exporter ? ', exporter ' + c.exporter : '');
        svg.appendChild(FH.s('rect', {x: x0, y: T + lane * laneH + 6, width: x1 - x0, height: laneH - 12, rx: 2, class: cls,
            'data-id': c.id, 'data-state': c.state}, FH.s('title', {}, tip)));
        const mark = (opts.marks || {})[c.id];
        if (mark) svg.appendChild(FH.s('text', {x: x0, y: T + lane * laneH + 4, class: 'mark'}, mark));
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
