#!/usr/bin/env node
/* browser.js BASE_URL OUTDIR - drives Debian's headless chromium through chromedriver (the W3C
 * WebDriver protocol over HTTP, with node's own fetch: no npm package needed) over the pages
 * of a flowhoundd holding the story scenario, with exporters named (tests/test_web_browser.c
 * sets that up). Asserts what each page shows, saves a full-page screenshot of each under
 * OUTDIR, fails on any CSP violation or script error in the browser's console. Failed and
 * slow requests are made with chromium's DevTools protocol (blocked URLs, added latency).
 * Exit status 0 = every check passed. */
'use strict';

const {spawn} = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const BASE = process.argv[2];
const OUT = process.argv[3];
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DRIVER = process.env.CHROMEDRIVER || '/usr/bin/chromedriver';
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
const HOSTILE_NAME = '<script>document.body.dataset.pwned=4</script>';
let failures = 0;

function check(cond, what) {
    console.log((cond ? 'ok   ' : 'FAIL ') + what);
    if (!cond) failures++;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.listen(0, '127.0.0.1', () => {
            const p = s.address().port;
            s.close(() => resolve(p));
        });
        s.on('error', reject);
    });
}

class Driver {
    constructor(port) {
        this.base = `http://127.0.0.1:${port}`;
    }
    async call(method, p, body) {
        const resp = await fetch(this.base + p, {method, headers: {'Content-Type': 'application/json'},
            body: body === undefined ? undefined : JSON.stringify(body)});
        const v = await resp.json();
        if (!resp.ok) throw new Error(`${method} ${p}: ${JSON.stringify(v.value && v.value.message || v).slice(0, 400)}`);
        return v.value;
    }
    async start(profile) {
        const v = await this.call('POST', '/session', {capabilities: {alwaysMatch: {
            browserName: 'chrome',
            'goog:loggingPrefs': {browser: 'ALL'},
            'goog:chromeOptions': {binary: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu',
                '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--disable-dev-shm-usage', '--window-size=1400,1000', '--user-data-dir=' + profile]},
        }}});
        this.s = '/session/' + v.sessionId;
    }
    go(url) { return this.call('POST', this.s + '/url', {url}); }
    back() { return this.call('POST', this.s + '/back', {}); }
    js(script, ...args) { return this.call('POST', this.s + '/execute/sync', {script, args}); }
    /* chromium's DevTools protocol, through chromedriver */
    cdp(cmd, params) { return this.call('POST', this.s + '/goog/cdp/execute', {cmd, params: params || {}}); }
    async find(css) {
        const v = await this.call('POST', this.s + '/element', {using: 'css selector', value: css});
        return Object.values(v)[0];
    }
    click(el) { return this.call('POST', `${this.s}/element/${el}/click`, {}); }
    clear(el) { return this.call('POST', `${this.s}/element/${el}/clear`, {}); }
    type(el, text) { return this.call('POST', `${this.s}/element/${el}/value`, {text}); }
    /* The whole page, not only the window (the alert page is long). */
    async shot(name) {
        let b64;
        try {
            const m = await this.cdp('Page.getLayoutMetrics');
            const size = m.cssContentSize || m.contentSize;
            b64 = (await this.cdp('Page.captureScreenshot', {format: 'png', captureBeyondViewport: true,
                clip: {x: 0, y: 0, width: Math.ceil(size.width), height: Math.ceil(size.height), scale: 1}})).data;
        } catch (e) {
            b64 = await this.call('GET', this.s + '/screenshot');
        }
        fs.writeFileSync(path.join(OUT, name + '.png'), Buffer.from(b64, 'base64'));
    }
    async logs() {
        try {
            return await this.call('POST', this.s + '/se/log', {type: 'browser'});
        } catch (e) {
            return [];
        }
    }
    quit() { return this.call('DELETE', this.s).catch(() => {}); }
    /* Finds an element once it exists and clicks it (the page may still be drawing). */
    async press(css) {
        for (let i = 0; i < 150; i++) {
            try {
                return await this.click(await this.find(css));
            } catch (e) {
                await sleep(100);
            }
        }
        check(false, 'could not click ' + css);
        return null;
    }
    /* Polls a JS expression until it is truthy (bounded: 15 s). */
    async until(expr, what) {
        for (let i = 0; i < 150; i++) {
            let v = null;
            try {
                v = await this.js('return (' + expr + ');');
            } catch (e) { /* page still loading */ }
            if (v) return v;
            await sleep(100);
        }
        check(false, 'waited for ' + what);
        return null;
    }
    /* A mouse drag across an element, from and to offsets (CSS px) from its centre. */
    async drag(css, dx0, dx1) {
        const el = {[ELEMENT]: await this.find(css)};
        await this.call('POST', this.s + '/actions', {actions: [{type: 'pointer', id: 'mouse', parameters: {pointerType: 'mouse'},
            actions: [{type: 'pointerMove', origin: el, x: Math.round(dx0), y: 0, duration: 0}, {type: 'pointerDown', button: 0},
                {type: 'pointerMove', origin: el, x: Math.round((dx0 + dx1) / 2), y: 0, duration: 100},
                {type: 'pointerMove', origin: el, x: Math.round(dx1), y: 0, duration: 100}, {type: 'pointerUp', button: 0}]}]});
        await this.call('DELETE', this.s + '/actions');
    }
}

const text = (css) => `(document.querySelector(${JSON.stringify(css)}) || {}).textContent || ''`;
const count = (css) => `document.querySelectorAll(${JSON.stringify(css)}).length`;
const texts = (css) => `[...document.querySelectorAll(${JSON.stringify(css)})].map((e) => e.textContent)`;
const notPwned = 'document.body.dataset.pwned === undefined && !document.querySelector("main img")';
const q = (d, expr) => d.js('return ' + expr + ';');

async function consoleClean(d, page) {
    /* A 4xx answer the page asked for (a bad filter) is logged by chromium too: not an error. */
    const bad = (await d.logs()).filter((l) => (l.level === 'SEVERE' || /Content Security Policy/.test(l.message)) &&
        !/status of 4\d\d/.test(l.message));
    check(bad.length === 0, page + ': no script error or CSP violation in the console' +
        (bad.length ? ': ' + bad.map((l) => l.message).join(' | ').slice(0, 300) : ''));
}

/* The text of the page's main part: what a person reads. */
const mainText = (d) => q(d, 'document.getElementById("main").innerText');

async function overview(d) {
    await d.go(BASE + '/');
    await d.until(count('#exporters tbody tr') + ' === 4 && ' + count('.timechart canvas') + ' >= 2', 'overview loaded');
    check(/stale state/.test(await q(d, text('#open-alerts'))), 'overview: open alerts listed');
    check((await q(d, count('#open-alerts li.alert'))) === 3, 'overview: the three open alerts, first');
    check(await q(d, notPwned), 'overview: hostile reject reason and exporter name not interpreted');
    await d.until('/^[0-9]/.test(document.querySelector("#exporters tbody tr td:nth-child(5)").textContent)',
        'overview: records/s measured');
    await exportersTable(d);
    await trafficChart(d);
    await consoleClean(d, 'overview');
}

/* Exporters by address as numbers, with their names; sortable. */
async function exportersTable(d) {
    const addrs = () => q(d, texts('#exporters tbody td:nth-child(1)'));
    check(JSON.stringify(await addrs()) === '["127.0.1.1","127.0.1.2","127.0.1.9","127.0.1.10"]',
        'exporters: addresses in numeric order (' + (await addrs()).join(' ') + ')');
    const names = await q(d, texts('#exporters tbody td:nth-child(2)'));
    check(names[0] === 'fw-outside' && names[1] === 'lpd-inside' && names[2] === '', 'exporters: names beside addresses');
    check(names[3] === HOSTILE_NAME, 'exporters: a hostile name from the configuration shown as text');
    await d.press('#exporters th[data-col="exporter"]');
    await d.until(text('#exporters tbody td') + ' === "127.0.1.10"', 'exporters: sorted by address, descending');
    check(JSON.stringify(await addrs()) === '["127.0.1.10","127.0.1.9","127.0.1.2","127.0.1.1"]', 'exporters: .10 .9 .2 .1 descending');
    await d.press('#exporters th[data-col="exporter"]');
    await d.until(text('#exporters tbody td') + ' === "127.0.1.1"', 'exporters: sorted by address again');
    await d.js('document.getElementById("exporters").scrollIntoView();');
}

/* The chart: ticks that read apart, in a unit for the data; the picker; a drag zooms. */
async function trafficChart(d) {
    for (const key of ['flows', 'bytes']) {
        const ticks = JSON.parse(await q(d, `document.querySelector(".timechart.${key}").dataset.yticks || "[]"`));
        const unit = await q(d, `document.querySelector(".timechart.${key}").dataset.unit`);
        check(ticks.length >= 3 && new Set(ticks).size === ticks.length && ticks.every((t) => t !== ''),
            `overview: ${key} ticks read apart (${ticks.join(', ')})`);
        check(Math.max(...ticks.map((t) => parseFloat(t))) >= 1, `overview: ${key} ticks in a unit where they reach 1 or more (${unit})`);
        check(new RegExp('^' + key + '/(s|min|h)$').test(unit), `overview: ${key} chart says its unit (${unit})`);
    }
    check(/flows\/min/.test(await q(d, text('.timechart.flows'))), 'overview: 26 flows over a day are counted per minute');
    check((await q(d, 'document.querySelector("button.preset[aria-pressed=true]").dataset.range')) === '24h',
        'overview: the last 24 h by default');
    check(/2026-11-23 08:00:51 → 2026-11-24 08:00:51 UTC/.test(await q(d, text('#range-shown'))),
        'overview: the picker says which times are shown (' + (await q(d, text('#range-shown'))) + ')');
    await d.shot('overview');
    /* Drag over the evening burst (17:30 is 40% into the day shown): from 35% to 45% of the
     * chart's width. */
    const w = await q(d, 'document.querySelector(".timechart.flows .u-over").getBoundingClientRect().width');
    await d.drag('.timechart.flows .u-over', w * -0.15, w * -0.05);
    await d.until('new URLSearchParams(location.search).get("from") && ' + count('.timechart canvas') + ' >= 2 && ' +
        'document.querySelector(".timechart.flows").dataset.from === String(Date.parse(new URLSearchParams(location.search).get("from")))',
    'overview: a drag zooms in');
    const url = new URLSearchParams(await q(d, 'location.search'));
    const from = Date.parse(url.get('from')), to = Date.parse(url.get('to'));
    check(to > from && to - from < 0.15 * 86400e3 && from > Date.parse('2026-11-23T08:00:51Z'),
        'overview: the range is the dragged part of the day (' + url.get('from') + ' → ' + url.get('to') + ')');
    check((await q(d, 'document.querySelector("button.preset[aria-pressed=true]").dataset.range')) === 'custom',
        'overview: the picker shows a custom range');
    check((await q(d, 'document.getElementById("from").value')) === url.get('from'), 'overview: the range is in the inputs');
    await d.shot('overview-zoomed');
    await d.back();
    await d.until('!location.search.includes("from") && ' + count('.timechart canvas') + ' >= 2 && ' +
        'document.querySelector("button.preset[aria-pressed=true]").dataset.range === "24h"', 'overview: Back zooms out');
    await d.press('button.preset[data-range="6h"]');
    await d.until('location.search.includes("last=6h") && /2026-11-24 02:00:51 → 08:00:51 UTC/.test(' + text('#range-shown') + ')',
        'overview: the 6 h preset');
}

/* The formatting the pages rely on, called in the page as it runs. */
async function formatting(d) {
    const j = async (expr) => JSON.stringify(await q(d, expr));
    check((await j('FH.tickLabels([0, 0.0025, 0.005, 0.0075, 0.01])')) === '["0","0.0025","0.0050","0.0075","0.0100"]',
        'format: small ticks differ (the old chart printed 0.01, 0.01, 0.01, 0.00)');
    check((await j('FH.tickLabels([0, 500, 1000, 1500])')) === '["0","0.5 k","1.0 k","1.5 k"]', 'format: one SI prefix for all ticks');
    check((await j('[FH.rateUnit(26 / 86400), FH.rateUnit(0.5), FH.rateUnit(3)].map((u) => u.per)')) === '["h","min","s"]',
        'format: a rate\'s unit from its size');
    check((await j('["10.0.0.10", "2001:db8::1", "10.0.0.9", "::1", "10.0.0.1"].sort((a, b) => FH.addrKey(a) < FH.addrKey(b) ? -1 : 1)')) ===
        '["10.0.0.1","10.0.0.9","10.0.0.10","::1","2001:db8::1"]', 'format: addresses sort as numbers, IPv4 first');
    check((await j('["duration_ms", "stale_since_ms", "start_ms", "window_ms"].map(FH.isDurationKey)')) === '[true,false,false,true]',
        'format: which *_ms are durations');
    check((await j('[FH.duration(233), FH.duration(720000), FH.duration(52231000), FH.num(0.004)]')) === '["233 ms","12m","14h 31m","0.0040"]',
        'format: durations and small numbers');
}

async function flows(d) {
    await d.go(BASE + '/flows');
    await d.until(count('#flows tbody tr') + ' === 26', 'flows: 26 rows');
    check(/rows 1–26/.test(await q(d, text('#rowinfo'))), 'flows: row counter');
    const ex = await q(d, texts('#flows tbody td:nth-child(9) .xname'));
    check(ex.length === 26 && ex.every((n) => n === 'fw-outside' || n === 'lpd-inside'), 'flows: every exporter by its name');
    check(/127\.0\.1\.1/.test(await q(d, text('#flows tbody td:nth-child(9)'))), 'flows: and its address');
    await d.press('th[data-col="bytes"]');
    await d.until('location.search.includes("order=bytes")', 'flows: sorted by bytes');
    await d.press('th[data-col="bytes"]');
    await d.until('location.search.includes("order=-bytes")', 'flows: sorted by bytes, descending');
    await d.until(count('#flows tbody tr') + ' === 26', 'flows: rows after sort');
    const firstBytes = await q(d, 'document.querySelector("#flows tbody tr td:nth-child(8)").title');
    check(/^26,856 bytes$/.test(firstBytes), 'flows: largest flow first (' + firstBytes + ')');
    /* The story's question, as a filter. */
    const filter = 'dst port 515 and flags S and not flags A';
    const box = await d.find('#filter');
    await d.clear(box);
    await d.type(box, filter);
    await d.press('#run');
    await d.until(count('#flows tbody tr') + ' > 0 && location.search.includes("filter=")', 'flows: filter answered');
    const rows = await q(d, '[...document.querySelectorAll("#flows tbody tr")].map((r) => [r.children[4].textContent, r.children[5].textContent])');
    check(rows.length > 0 && rows.every(([dst, fl]) => /:515$/.test(dst) && fl.includes('S') && !fl.includes('A')),
        'flows: every row matches the filter (' + rows.length + ' rows)');
    check((await q(d, 'new URLSearchParams(location.search).get("filter")')) === filter, 'flows: the filter is in the URL');
    check((await q(d, 'JSON.parse(localStorage.getItem("flowhound.filters") || "[]")[0] || ""')) === filter, 'flows: the filter is in the history');
    await d.shot('flows-filter');
    /* A bad filter: the error points at the column and offers a retry. */
    await d.go(BASE + '/flows?filter=' + encodeURIComponent('dst port 515 and flags SQ'));
    await d.until(count('#flows-out .error') + ' > 0', 'flows: a bad filter is an error');
    check(/column 25/.test(await q(d, text('#flows-out .error pre.caret'))), 'flows: the caret under column 25');
    /* A permalink with a range: only the morning. */
    await d.go(BASE + '/flows?from=2026-11-24T00:00:00Z');
    await d.until(count('#flows tbody tr') + ' === 12', 'flows: permalink with a range shows the 12 morning flows');
    check((await q(d, 'document.getElementById("from").value')) === '2026-11-24T00:00:00Z', 'flows: range restored from the URL');
    const csv = await q(d, 'FH.csv([{a: "=1+1", b: \'x,"y"\', c: 5}], ["a", "b", "c"])');
    check(csv === 'a,b,c\r\n\'=1+1,"x,""y""",5\r\n', 'flows: CSV export escaping (' + JSON.stringify(csv) + ')');
    await consoleClean(d, 'flows');
}

/* Top N: a key links to the flows page with its filter and the same range. */
async function top(d) {
    await d.go(BASE + '/top?by=dst_port&order=bytes&last=7d');
    await d.until(count('#top tbody tr') + ' > 0', 'top: table');
    check((await q(d, text('#top tbody tr td:nth-child(2)'))) === '515', 'top: port 515 first by bytes');
    check((await q(d, count('svg.bars rect'))) > 0, 'top: bar chart drawn');
    const shown = await q(d, text('#range-shown'));
    await d.shot('top');
    await d.press('#top tbody tr:first-child a.key');
    await d.until('location.pathname === "/flows" && ' + count('#flows tbody tr') + ' > 0', 'top: the key link lands on the flows page');
    const p = new URLSearchParams(await q(d, 'location.search'));
    check(p.get('filter') === 'dst port 515' && p.get('last') === '7d', 'top: the link carries the filter and the range (' + p + ')');
    check((await q(d, 'document.getElementById("filter").value')) === 'dst port 515', 'top: the filter is filled in');
    check((await q(d, text('#range-shown'))) === shown && (await q(d, 'document.querySelector("button.preset[aria-pressed=true]").dataset.range')) === '7d',
        'top: the same range (' + shown + ')');
    const dst = await q(d, texts('#flows tbody td:nth-child(5)'));
    check(dst.length === 13 && dst.every((t) => /:515$/.test(t)), 'top: the flows of port 515, all 13');
    await d.shot('top-key-flows');
    /* With a filter of its own: the link keeps it. */
    await d.go(BASE + '/top?by=exporter&order=flows&filter=' + encodeURIComponent('proto tcp'));
    await d.until(count('#top tbody tr a.key') + ' === 2', 'top: by exporter');
    check((await q(d, text('#top tbody tr:first-child .xname'))) === 'fw-outside', 'top: exporters by name');
    const href = await q(d, 'document.querySelector("#top tbody tr:first-child a.key").getAttribute("href")');
    check(new URLSearchParams(href.split('?')[1]).get('filter') === '(proto tcp) and exporter 127.0.1.1', 'top: the key filter within the page\'s (' + href + ')');
    await consoleClean(d, 'top');
}

async function alertsList(d) {
    await d.go(BASE + '/alerts');
    await d.until(count('#alerts tbody tr') + ' === 4', 'alerts: 4 rows');
    const hostile = await q(d, texts('#alerts td.summary'));
    check(hostile.includes('<img src=x onerror="document.body.dataset.pwned=1">hostile summary'), 'alerts: hostile summary shown as text');
    check(await q(d, notPwned), 'alerts: hostile summary not interpreted');
    check(/port exhaustion/.test(await q(d, text('#alerts'))), 'alerts: kinds in words');
    await d.shot('alerts');
    await consoleClean(d, 'alerts');
}

/* The alert page leads with the facts, then the timeline, then the evidence as tables. */
async function alertDetail(d) {
    await d.go(BASE + '/alerts');
    await d.press('#alerts a[href="/alerts/1"]');
    await d.until('location.pathname === "/alerts/1" && ' + count('svg.timeline rect.conn') + ' > 0', 'alert 1: detail');
    const sections = await q(d, texts('#alert-out > section > h2'));
    check(sections.length === 4 && sections[0] === 'Facts' && /^Timeline/.test(sections[1]) && sections[2] === 'Evidence' &&
        sections[3] === 'Connections', 'alert 1: facts, timeline, evidence, connections, in that order (' + sections.join(' | ') + ')');
    const facts = await q(d, text('#facts'));
    check(/10\.1\.1\.50:722/.test(facts) && /10\.2\.2\.10:515/.test(facts), 'alert 1: who and which port');
    check(/middlebox: 127\.0\.1\.1\/1 saw the SYNs answered by bare ACKs/.test(facts), 'alert 1: who holds the state, and why');
    check(/stale since2026-11-23 17:30:40\.570 UTC/.test(facts) && /25 s before the first failed attempt/.test(facts),
        'alert 1: since when');
    check(/failed attempts3 from 2026-11-23 17:31:05\.598 UTC to 2026-11-23 17:31:14\.598 UTC, answered by bare ACK/.test(facts),
        'alert 1: how many attempts, when, answered how');
    check(/last viable connection2026-11-23 17:30:40\.337 UTC \(S1, 233 ms, seen by fw-outside/.test(facts), 'alert 1: the last viable connection');
    check(/then the clientused port 723 at 2026-11-23 17:31:26\.598 UTC \(SF: it worked\)/.test(facts), 'alert 1: what the client did next');
    const all = await mainText(d);
    check(!/1970/.test(all), 'alert 1: no 1970 date anywhere');
    check(!/[{[]\s*"/.test(all) && (await q(d, count('#main pre'))) === 0, 'alert 1: no raw JSON');
    check((await q(d, text('#ev-last-viable td:nth-child(4)'))) === '233 ms', 'alert 1: the duration of the last viable connection, as a duration');
    check(/fw-outside/.test(await q(d, text('#ev-last-viable'))) && /24 packets, 25\.1 kB, flags SAP/.test(await q(d, text('#ev-last-viable'))),
        'alert 1: last viable connection table');
    check(/fw-outside 127\.0\.1\.1\/13bare ACK31/.test(await q(d, text('#ev-attempts tbody'))), 'alert 1: failed attempts by vantage point');
    check(/723.*SF.*yes/.test(await q(d, text('#ev-next tbody'))), 'alert 1: what the client did next, as a table');
    check((await q(d, count('#evidence ol.fixes li'))) === 4, 'alert 1: what to do');
    check((await q(d, count('svg.timeline rect.conn.highlight'))) === 2, 'alert 1: the last viable connection and the failed attempt (one flow of 3 SYNs) outlined');
    check((await q(d, count('svg.timeline rect.conn.next'))) === 2, 'alert 1: the next port\'s connection, as both exporters saw it');
    const marks = await q(d, texts('svg.timeline text.mark'));
    check(marks.includes('last viable') && marks.includes('#1') && marks.includes('next: port 723'), 'alert 1: timeline labels (' + marks.join(', ') + ')');
    check(/via fw-outside/.test(await q(d, text('svg.timeline'))), 'alert 1: lanes name their exporter');
    await d.shot('alert');
    await consoleClean(d, 'alert');
    await d.press('#port-history');
    await d.until('location.pathname === "/port" && ' + count('svg.timeline rect.conn') + ' === 5', 'port 722: 5 connections rebuilt from the flows on the timeline');
    check((await q(d, count('svg.timeline rect.alertband'))) === 3, 'port 722: its two alerts and the client\'s port exhaustion on the timeline');
    check((await q(d, count('svg.timeline rect.conn.bare-ack'))) === 3, 'port 722: 3 attempt connections answered by bare ACKs (evening outside; morning outside and inside)');
    check((await q(d, count('svg.timeline rect.conn.unclosed'))) === 2, 'port 722: the unclosed connection, as both exporters saw it');
    check(/\+14h/.test(await q(d, text('svg.timeline'))), 'port 722: the 14 h gap is folded and labelled');
    check(/via lpd-inside/.test(await q(d, text('svg.timeline'))), 'port 722: lanes name their exporter');
    check(!/1970/.test(await mainText(d)), 'port 722: no 1970 date');
    await d.shot('port-722');
    await consoleClean(d, 'port');
}

async function alertsHostileAndExhaustion(d) {
    await d.go(BASE + '/alerts/3');
    await d.until(count('#ev-other') + ' > 0', 'alert 3: evidence');
    check((await q(d, text('#ev-other'))).includes('</script><script>'), 'alert 3: hostile evidence shown as text');
    check((await q(d, texts('#ev-other th'))).includes('<b>key</b>'), 'alert 3: a hostile key shown as text');
    check(await q(d, notPwned), 'alert 3: hostile evidence not interpreted');
    await d.shot('alert-hostile');
    await d.go(BASE + '/alerts/4');
    await d.until(count('svg.timeline rect.conn') + ' === 13', 'alert 4 (port exhaustion): 13 connections of ports 721-723');
    check(/10\.1\.1\.50:\*/.test(await q(d, text('#facts'))), 'alert 4: client shown with any port');
    check((await q(d, count('#ev-ports tbody tr'))) === 11, 'alert 4: the 11 ports as a table');
    check(!/1970/.test(await mainText(d)), 'alert 4: no 1970 date');
    await d.shot('alert-port-exhaustion');
    await consoleClean(d, 'alert 4');
}

/* Every page says what failed and offers a retry when the API does not answer, and shows
 * that it is loading while a request is on the way. */
async function failuresAndLoading(d) {
    await d.cdp('Network.enable');
    await d.cdp('Network.setBlockedURLs', {urls: ['*/api/v1/*']});
    const pages = [['/', 4], ['/flows', 1], ['/top', 1], ['/alerts', 1], ['/alerts/1', 1], ['/port?client=10.1.1.50&port=722', 1]];
    for (const [page, parts] of pages) {
        await d.go(BASE + page);
        await d.until(count('.error button.retry') + ' === ' + parts, page + ': every part that failed says so');
        const errors = await q(d, texts('.error .what'));
        check(errors.length === parts && errors.every((t) => /^Could not load .+\.$/.test(t)),
            page + ': what failed (' + errors.join(' ') + ')');
        check(/\/api\/v1\//.test(await q(d, text('.error .where'))), page + ': which request failed');
        if (page === '/') await d.shot('error-overview');
    }
    await d.go(BASE + '/alerts');
    await d.until(count('.error button.retry'), 'alerts: the failure');
    await d.cdp('Network.setBlockedURLs', {urls: []});
    await d.press('.error button.retry');
    await d.until(count('#alerts tbody tr') + ' === 4 && ' + count('.error') + ' === 0', 'alerts: Retry loads them');
    /* Slow answers: the page says it is loading. */
    await d.cdp('Network.emulateNetworkConditions', {offline: false, latency: 1500, downloadThroughput: -1, uploadThroughput: -1});
    await d.go(BASE + '/alerts/1');
    check(await d.until('/Loading alert #1…/.test(' + text('#alert-out .loading') + ')', 'alert 1: loading shown'),
        'alert 1: "Loading alert #1…" while the request is on the way');
    await d.shot('loading-alert');
    await d.until(count('#facts') + ' === 1 && ' + count('#alert-out .loading') + ' === 0', 'alert 1: loaded after the delay');
    await d.cdp('Network.emulateNetworkConditions', {offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1});
    await d.cdp('Network.disable');
    /* The blocked requests were logged as failures, rightly: not script errors. */
    const bad = (await d.logs()).filter((l) => l.level === 'SEVERE' && !/ERR_BLOCKED_BY_CLIENT/.test(l.message));
    check(bad.length === 0, 'failures: no other error in the console' + (bad.length ? ': ' + bad.map((l) => l.message).join(' | ').slice(0, 300) : ''));
}

async function main() {
    if (!BASE || !OUT) {
        console.error('usage: browser.js BASE_URL OUTDIR');
        process.exit(2);
    }
    fs.mkdirSync(OUT, {recursive: true});
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fh-chromium-'));
    const port = await freePort();
    const drv = spawn(DRIVER, ['--port=' + port], {stdio: ['ignore', 'ignore', 'inherit']});
    const d = new Driver(port);
    const deadline = setTimeout(() => {
        console.error('FAIL browser test took longer than 160 s');
        drv.kill('SIGKILL');
        process.exit(1);
    }, 160000);
    try {
        for (let i = 0; i < 100; i++) {
            try {
                await d.call('GET', '/status');
                break;
            } catch (e) {
                await sleep(100);
            }
        }
        await d.start(profile);
        await overview(d);
        await formatting(d);
        await flows(d);
        await top(d);
        await alertsList(d);
        await alertDetail(d);
        await alertsHostileAndExhaustion(d);
        await failuresAndLoading(d);
    } catch (e) {
        check(false, 'browser test: ' + e.message);
    } finally {
        await d.quit();
        drv.kill('SIGTERM');
        clearTimeout(deadline);
        fs.rmSync(profile, {recursive: true, force: true});
    }
    console.log(failures ? failures + ' check(s) failed' : 'all checks passed; screenshots in ' + OUT);
    process.exit(failures ? 1 : 0);
}

main();
