#!/usr/bin/env node
/* browser.js BASE_URL OUTDIR - drives Debian's headless chromium through chromedriver (the W3C
 * WebDriver protocol over HTTP, with node's own fetch: no npm package needed) over the pages
 * of a flowhoundd holding the story scenario (tests/test_web_browser.c sets that up).
 * Asserts what each page shows, saves a screenshot of each under OUTDIR, fails on any CSP
 * violation or script error in the browser's console. Exit status 0 = every check passed. */
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
    js(script, ...args) { return this.call('POST', this.s + '/execute/sync', {script, args}); }
    async find(css) {
        const v = await this.call('POST', this.s + '/element', {using: 'css selector', value: css});
        return Object.values(v)[0];
    }
    click(el) { return this.call('POST', `${this.s}/element/${el}/click`, {}); }
    clear(el) { return this.call('POST', `${this.s}/element/${el}/clear`, {}); }
    type(el, text) { return this.call('POST', `${this.s}/element/${el}/value`, {text}); }
    url() { return this.call('GET', this.s + '/url'); }
    async shot(name) {
        const b64 = await this.call('GET', this.s + '/screenshot');
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
}

const text = (css) => `(document.querySelector(${JSON.stringify(css)}) || {}).textContent || ''`;
const count = (css) => `document.querySelectorAll(${JSON.stringify(css)}).length`;
const notPwned = 'document.body.dataset.pwned === undefined && !document.querySelector("main img")';

async function consoleClean(d, page) {
    /* A 4xx answer the page asked for (a bad filter) is logged by chromium too: not an error. */
    const bad = (await d.logs()).filter((l) => (l.level === 'SEVERE' || /Content Security Policy/.test(l.message)) &&
        !/status of 4\d\d/.test(l.message));
    check(bad.length === 0, page + ': no script error or CSP violation in the console' +
        (bad.length ? ': ' + bad.map((l) => l.message).join(' | ').slice(0, 300) : ''));
}

async function overview(d) {
    await d.go(BASE + '/');
    await d.until(count('#exporters tbody tr') + ' === 2 && ' + count('svg.series') + ' === 2', 'overview loaded');
    check(/stale state/.test(await d.js('return ' + text('#open-alerts') + ';')), 'overview: open alerts listed');
    check((await d.js('return ' + count('#open-alerts li.alert') + ';')) === 3, 'overview: the three open alerts, first');
    check(/127\.0\.1\.1/.test(await d.js('return ' + text('#exporters') + ';')), 'overview: exporter 127.0.1.1 shown');
    check(await d.js('return ' + notPwned + ';'), 'overview: hostile reject reason not interpreted');
    await d.until('/^[0-9]/.test(document.querySelector("#exporters tbody tr td:nth-child(4)").textContent)',
        'overview: records/s measured');
    await d.shot('overview');
    await consoleClean(d, 'overview');
}

async function flows(d) {
    await d.go(BASE + '/flows');
    await d.until(count('#flows tbody tr') + ' === 26', 'flows: 26 rows');
    check(/rows 1–26/.test(await d.js('return ' + text('#rowinfo') + ';')), 'flows: row counter');
    /* Sort by bytes, twice: descending; the URL is the permalink. */
    await d.press('th[data-col="bytes"]');
    await d.until('location.search.includes("order=bytes")', 'flows: sorted by bytes');
    await d.press('th[data-col="bytes"]');
    await d.until('location.search.includes("order=-bytes")', 'flows: sorted by bytes, descending');
    await d.until(count('#flows tbody tr') + ' === 26', 'flows: rows after sort');
    const firstBytes = await d.js('return document.querySelector("#flows tbody tr td:nth-child(8)").title;');
    check(/^26,856 bytes$/.test(firstBytes), 'flows: largest flow first (' + firstBytes + ')');
    /* The story's question, as a filter. */
    const filter = 'dst port 515 and flags S and not flags A';
    const box = await d.find('#filter');
    await d.clear(box);
    await d.type(box, filter);
    await d.press('#run');
    await d.until('document.querySelector("#flows-out .error") || (' + count('#flows tbody tr') + ' > 0 && location.search.includes("filter="))',
        'flows: filter answered');
    const err = await d.js('return ' + text('#flows-out .error') + ';');
    if (err) {
        /* A build without the filter language says so, pointing at a column. */
        check(/column/.test(err), 'flows: filter error names a column: ' + err.replace(/\s+/g, ' '));
    } else {
        const rows = await d.js('return [...document.querySelectorAll("#flows tbody tr")].map((r) => [r.children[4].textContent, r.children[5].textContent]);');
        check(rows.length > 0 && rows.every(([dst, fl]) => /:515$/.test(dst) && fl.includes('S') && !fl.includes('A')),
            'flows: every row matches the filter (' + rows.length + ' rows)');
    }
    check((await d.js('return new URLSearchParams(location.search).get("filter");')) === filter, 'flows: the filter is in the URL');
    check((await d.js('return JSON.parse(localStorage.getItem("flowhound.filters") || "[]")[0] || "";')) === filter ||
        Boolean(err), 'flows: the filter is in the history');
    await d.shot('flows-filter');
    /* A permalink with a range: only the morning. */
    await d.go(BASE + '/flows?from=2026-11-24T00:00:00Z');
    await d.until(count('#flows tbody tr') + ' === 12', 'flows: permalink with a range shows the 12 morning flows');
    check((await d.js('return document.getElementById("from").value;')) === '2026-11-24T00:00:00Z', 'flows: range restored from the URL');
    await d.shot('flows');
    /* The CSV export quotes what needs quoting and defuses spreadsheet formulas. */
    const csv = await d.js('return FH.csv([{a: "=1+1", b: \'x,"y"\', c: 5}], ["a", "b", "c"]);');
    check(csv === 'a,b,c\r\n\'=1+1,"x,""y""",5\r\n', 'flows: CSV export escaping (' + JSON.stringify(csv) + ')');
    await consoleClean(d, 'flows');
}

async function top(d) {
    await d.go(BASE + '/top?by=dst_port&order=bytes');
    await d.until(count('#top tbody tr') + ' > 0', 'top: table');
    check((await d.js('return document.querySelector("#top tbody tr td:nth-child(2)").textContent;')) === '515', 'top: port 515 first by bytes');
    check((await d.js('return ' + count('svg.bars rect') + ';')) > 0, 'top: bar chart drawn');
    await d.shot('top');
    await consoleClean(d, 'top');
}

async function alertsAndPort(d) {
    await d.go(BASE + '/alerts');
    await d.until(count('#alerts tbody tr') + ' === 4', 'alerts: 4 rows');
    const hostile = await d.js('return [...document.querySelectorAll("#alerts td.summary")].map((t) => t.textContent);');
    check(hostile.includes('<img src=x onerror="document.body.dataset.pwned=1">hostile summary'), 'alerts: hostile summary shown as text');
    check(await d.js('return ' + notPwned + ';'), 'alerts: hostile summary not interpreted');
    await d.shot('alerts');
    await d.press('#alerts a[href="/alerts/1"]');
    await d.until('location.pathname === "/alerts/1" && ' + count('svg.timeline rect.conn') + ' > 0', 'alert 1: detail');
    check(/middlebox/.test(await d.js('return ' + text('#alert-summary') + ';')), 'alert 1: summary names the middlebox');
    check((await d.js('return ' + count('svg.timeline rect.conn.highlight') + ';')) === 2, 'alert 1: last viable connection + the failed attempts (one flow of 3 SYNs) highlighted');
    check(/17:30:40\.337/.test(await d.js('return ' + text('dl.facts') + ';')), 'alert 1: last viable connection at 17:30:40.337');
    check(/last viable/.test(await d.js('return ' + text('svg.timeline') + ';')), 'alert 1: timeline labels the last viable connection');
    await d.shot('alert');
    await consoleClean(d, 'alert');
    await d.press('#port-history');
    await d.until('location.pathname === "/port" && ' + count('svg.timeline rect.conn') + ' === 5', 'port 722: 5 connections rebuilt from the flows on the timeline');
    check((await d.js('return ' + count('svg.timeline rect.alertband') + ';')) === 3, 'port 722: its two alerts and the client\'s port exhaustion on the timeline');
    check((await d.js('return ' + count('svg.timeline rect.conn.bare-ack') + ';')) === 3, 'port 722: 3 attempt connections answered by bare ACKs (evening outside; morning outside and inside)');
    check((await d.js('return ' + count('svg.timeline rect.conn.unclosed') + ';')) === 2, 'port 722: the unclosed connection, as both exporters saw it');
    check(/\+14h/.test(await d.js('return ' + text('svg.timeline') + ';')), 'port 722: the 14 h gap is folded and labelled');
    await d.shot('port-722');
    await consoleClean(d, 'port');
    await d.go(BASE + '/alerts/3');
    await d.until(count('dl.json') + ' > 0', 'alert 3: evidence');
    check((await d.js('return ' + text('dl.json') + ';')).includes('</script><script>'), 'alert 3: hostile evidence shown as text');
    check(await d.js('return ' + notPwned + ';'), 'alert 3: hostile evidence not interpreted');
    await d.shot('alert-hostile');
    /* Port exhaustion: no client port, every port of the client in the picture. */
    await d.go(BASE + '/alerts/4');
    await d.until(count('svg.timeline rect.conn') + ' === 13', 'alert 4 (port exhaustion): 13 connections of ports 721-723');
    check(/10\.1\.1\.50:\*/.test(await d.js('return ' + text('dl.facts') + ';')), 'alert 4: client shown with any port');
    await d.shot('alert-port-exhaustion');
    await consoleClean(d, 'alert 4');
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
        console.error('FAIL browser test took longer than 100 s');
        drv.kill('SIGKILL');
        process.exit(1);
    }, 100000);
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
        await flows(d);
        await top(d);
        await alertsAndPort(d);
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
