/* timechart.js - a rate over time (flows/s, bytes/s) drawn by uPlot (web/static/vendor/):
 * a time axis in UTC, value ticks that read apart in a unit chosen for the data, a legend
 * that follows the cursor, and drag-to-zoom, which hands the selected times to the page. */
'use strict';

/* Rates below one a second are shown per minute or per hour: 26 flows over a day read
 * "1.1 flows/h" rather than "0.0003 flows/s". */
FH.rateUnit = function (maxPerSec) {
    if (!(maxPerSec > 0) || maxPerSec >= 1) return {scale: 1, per: 's'};
    if (maxPerSec * 60 >= 1) return {scale: 60, per: 'min'};
    return {scale: 3600, per: 'h'};
};

/* The decimals v needs to be written exactly (nice tick values have few), at most 6. */
FH.decimals = function (v) {
    for (let d = 0; d < 6; d++) {
        const x = v * Math.pow(10, d);
        if (Math.abs(x - Math.round(x)) < 1e-6) return d;
    }
    return 6;
};

/* Labels of axis ticks: one SI prefix for all, from the largest, and the decimals the ticks
 * need to read apart: 0, 0.0025, 0.005 become "0 0.0025 0.0050", never "0.00 0.00 0.01"
 * (what the overview's chart used to print). */
FH.tickLabels = function (ticks) {
    const vals = ticks.filter((t) => t !== null && isFinite(t));
    const max = Math.max(0, ...vals.map(Math.abs));
    const [m, p] = [[1e12, ' T'], [1e9, ' G'], [1e6, ' M'], [1e3, ' k']].find(([x]) => max >= x) || [1, ''];
    const dec = Math.max(0, ...vals.map((t) => FH.decimals(t / m)));
    return ticks.map((t) => (t === null || !isFinite(t) ? '' : t === 0 ? '0' : (t / m).toFixed(dec) + p));
};

/* Time ticks in UTC on a 24-hour clock (uPlot's default is local time, 12-hour), with the
 * date under the first tick of each day; incr is the step between ticks in ms. */
FH.timeTicks = function (splits, incr) {
    let day = '';
    return splits.map((t) => {
        const s = FH.time(t, false), date = s.slice(0, 10);
        if (incr >= 86400e3) return date;
        const label = incr < 60e3 ? s.slice(11) : s.slice(11, 16);
        const first = date !== day;
        day = date;
        return first ? label + '\n' + date : label;
    });
};

/* CSS colours of app.css, for the canvas. */
FH.CHART_INK = {muted: '#5f6b7a', grid: '#edf0f3', font: '11px system-ui, "DejaVu Sans", sans-serif',
    flows: ['#1f5fbf', 'rgba(31, 95, 191, .22)'], bytes: ['#2e8540', 'rgba(46, 133, 64, .2)']};

/* The uPlot data of a timeline answer: rates of `key` in the unit the largest needs, one
 * point per bucket start plus the end of the last bucket, so that its step is drawn. */
FH.rateSeries = function (tl, key) {
    const step = tl.step_ms || 1000;
    const perSec = tl.points.map((p) => p[key] / (step / 1000));
    const unit = FH.rateUnit(Math.max(0, ...perSec));
    const xs = tl.points.map((p) => p.t), ys = perSec.map((v) => v * unit.scale);
    if (xs.length) {
        xs.push(xs[xs.length - 1] + step);
        ys.push(ys[ys.length - 1]);
    }
    return {xs, ys, per: unit.per};
};

/* Draws tl[key] as a rate into box. opts: noun ('flows', 'bytes'), onZoom(fromMs, toMs) after
 * a drag over the times to see. Returns the chart's element (its ticks and unit in data
 * attributes, for tests and for the curious). */
FH.timeChart = function (box, tl, key, opts) {
    const s = FH.rateSeries(tl, key), unit = opts.noun + '/' + s.per, ink = FH.CHART_INK[key] || FH.CHART_INK.flows;
    const el = FH.h('div', {class: 'timechart ' + key, 'data-unit': unit, 'data-from': tl.from, 'data-to': tl.to});
    box.append(el);
    let ticks = [];
    const axis = {stroke: FH.CHART_INK.muted, font: FH.CHART_INK.font, grid: {stroke: FH.CHART_INK.grid, width: 1},
        ticks: {stroke: FH.CHART_INK.grid, width: 1}};
    const u = new uPlot({
        width: Math.max(300, box.clientWidth), height: 170, ms: 1,
        tzDate: (ms) => uPlot.tzDate(new Date(ms), 'Etc/UTC'),
        cursor: {drag: {x: true, y: false, setScale: false}, sync: {key: 'fh-traffic'}, points: {show: false}},
        scales: {x: {time: true, min: tl.from, max: tl.to + 1}, y: {range: (self, min, max) => [0, max > 0 ? max * 1.08 : 1]}},
        axes: [{...axis, space: 60, values: (self, splits, i, space, incr) => FH.timeTicks(splits, incr)},
            {...axis, size: 64, space: 24, label: unit, labelSize: 20, labelFont: FH.CHART_INK.font,
            values: (self, splits) => (ticks = FH.tickLabels(splits))}],
        series: [
            {label: 'time (UTC)', value: (self, v) => (v === null ? '–' : FH.time(v, false))},
            {label: unit, stroke: ink[0], fill: ink[1], width: 1.2, paths: uPlot.paths.stepped({align: 1}),
                value: (self, v) => (v === null ? '–' : FH.num(v) + ' ' + unit)},
        ],
        hooks: {
            setSelect: [(self) => {
                const sel = self.select;
                if (sel.width < 3) return;
                const a = self.posToVal(sel.left, 'x'), b = self.posToVal(sel.left + sel.width, 'x');
                self.setSelect({left: 0, top: 0, width: 0, height: 0}, false);
                /* whole seconds: the range goes into the URL and the inputs, for people */
                opts.onZoom(Math.floor(a / 1000) * 1000, Math.ceil(b / 1000) * 1000);
            }],
            draw: [() => { el.dataset.yticks = JSON.stringify(ticks); }],
        },
    }, [s.xs, s.ys], el);
    /* Gone with the page, or with its section when that reloads (a zoom): uPlot's listeners
     * go with it, at the page's end or at the next resize, whichever comes first. */
    let alive = true;
    const destroy = () => {
        if (!alive) return;
        alive = false;
        window.removeEventListener('resize', resize);
        u.destroy();
    };
    const resize = () => (el.isConnected ? u.setSize({width: Math.max(300, box.clientWidth), height: 170}) : destroy());
    window.addEventListener('resize', resize);
    FH.onLeave(destroy);
    return el;
};
