/* core.js - helpers every page uses: DOM building (text only, never HTML strings), the JSON
 * API, formatting of times, numbers, protocols and TCP flags, and the URL as page state. */
'use strict';

const FH = {};
/* The pages (web/static/pages/), by name: each draws itself into `main` from the URL. */
FH.pages = {};

/* h('a', {href: '/x', class: 'c', onclick: fn}, 'text', child...) -> element. Strings become
 * text nodes: nothing from the network is ever parsed as HTML. */
FH.h = function (tag, attrs, ...children) {
    const el = document.createElement(tag);
    FH.setAttrs(el, attrs);
    FH.append(el, children);
    return el;
};

FH.SVGNS = 'http://www.w3.org/2000/svg';
FH.s = function (tag, attrs, ...children) {
    const el = document.createElementNS(FH.SVGNS, tag);
    FH.setAttrs(el, attrs);
    FH.append(el, children);
    return el;
};

FH.setAttrs = function (el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'style') throw new Error('no style attributes: the CSP forbids them');
        else el.setAttribute(k, v === true ? '' : String(v));
    }
};

FH.append = function (el, children) {
    for (const c of children.flat(Infinity)) {
        if (c === undefined || c === null || c === false) continue;
        el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
};

FH.clear = function (el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
};

/* ---- the API ---- */

FH.ApiError = class extends Error {
    constructor(message, status, column, path) {
        super(message);
        this.status = status;
        this.column = column;
        this.path = path;
    }
};

FH.api = async function (path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {}))
        if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const url = '/api/v1/' + path + (q.toString() ? '?' + q : '');
    const what = '/api/v1/' + path;
    let resp;
    try {
        resp = await fetch(url, {headers: {Accept: 'application/json'}, credentials: 'same-origin'});
    } catch (e) {
        throw new FH.ApiError('flowhoundd is not answering (' + e.message + ')', 0, undefined, what);
    }
    let body;
    try {
        body = await resp.json();
    } catch (e) {
        throw new FH.ApiError('HTTP ' + resp.status + ': not JSON', resp.status, undefined, what);
    }
    if (!resp.ok) throw new FH.ApiError(body.error || 'HTTP ' + resp.status, resp.status, body.column, what);
    return body;
};

/* ---- formatting ---- */

FH.pad = (n, w) => String(n).padStart(w || 2, '0');

/* Times are shown in UTC, as flow records and logs are compared across sites. */
FH.time = function (ms, withMs) {
    if (ms === null || ms === undefined) return '';
    const d = new Date(ms);
    const s = d.getUTCFullYear() + '-' + FH.pad(d.getUTCMonth() + 1) + '-' + FH.pad(d.getUTCDate()) +
        ' ' + FH.pad(d.getUTCHours()) + ':' + FH.pad(d.getUTCMinutes()) + ':' + FH.pad(d.getUTCSeconds());
    return withMs === false ? s : s + '.' + FH.pad(d.getUTCMilliseconds(), 3);
};

FH.isoTime = (ms) => new Date(ms).toISOString();
/* RFC 3339 for inputs and links, without the milliseconds when they are zero. */
FH.isoShort = (ms) => FH.isoTime(ms).replace('.000Z', 'Z');

/* "14h 31m", or "12m" rather than "12m 0s". */
FH.twoUnits = function (ms, big, bigName, small, smallName) {
    const n = Math.round(ms / small), per = big / small, rest = n % per;
    return Math.floor(n / per) + bigName + (rest ? ' ' + rest + smallName : '');
};

FH.duration = function (ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return '';
    const neg = ms < 0;
    ms = Math.abs(ms);
    let out;
    if (ms < 1000) out = ms + ' ms';
    else if (ms < 60000) out = (ms / 1000).toFixed(ms < 10000 ? 3 : 1).replace(/\.?0+$/, '') + ' s';
    else if (ms < 3600000) out = FH.twoUnits(ms, 60000, 'm', 1000, 's');
    else if (ms < 86400000) out = FH.twoUnits(ms, 3600000, 'h', 60000, 'm');
    else out = FH.twoUnits(ms, 86400000, 'd', 3600000, 'h');
    return (neg ? '-' : '') + out;
};

/* Which *_ms fields are lengths of time, not points in time. A duration shown as a date
 * reads 1970-01-01 00:00:00.233: the names say which is which (the analyzer's evidence,
 * the API's settings); anything else ending in _ms is a Unix time. */
FH.isDurationKey = (key) => /(^|_)(duration|window|timeout|age|offset|skew|quiet|hold|interval|gap|idle|step|span|lookback)_ms$/.test(key);

FH.ago = function (ms, now) {
    if (!ms) return 'never';
    const d = (now || Date.now()) - ms;
    return d < 1500 ? 'just now' : FH.duration(Math.round(d / 1000) * 1000) + ' ago';
};

/* 1234567 -> "1.23 M" (SI; bytes use the same prefixes as nfdump). */
FH.num = function (v, unit) {
    if (v === null || v === undefined) return '';
    const u = unit ? ' ' + unit : '';
    const a = Math.abs(v);
    const steps = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
    for (const [m, p] of steps)
        if (a >= m) return (v / m).toFixed(v / m >= 100 ? 0 : v / m >= 10 ? 1 : 2) + ' ' + p + (unit || '');
    /* Below 0.1 two significant digits: a rate of 0.004 is not "0.00". */
    return (Number.isInteger(v) ? String(v) : a >= 10 ? v.toFixed(1) : a >= 0.1 ? v.toFixed(2) : v.toPrecision(2)) + u;
};

FH.int = (v) => (v === null || v === undefined ? '' : Number(v).toLocaleString('en-US'));

FH.PROTOS = {1: 'ICMP', 2: 'IGMP', 6: 'TCP', 17: 'UDP', 41: 'IPv6', 47: 'GRE', 50: 'ESP', 51: 'AH',
    58: 'ICMP6', 89: 'OSPF', 132: 'SCTP'};
FH.proto = (p) => (p === null || p === undefined ? '' : FH.PROTOS[p] || String(p));

/* nfdump's flag column: U A P R S F, a dot where the flag is absent. */
FH.flags = function (f) {
    if (f === null || f === undefined) return '';
    const names = 'UAPRSF';
    let s = '';
    for (let i = 0; i < 6; i++) s += f & (1 << (5 - i)) ? names[i] : '.';
    return s;
};

/* An exporter as people know it: its configured name (exporter-name) with the address, or the
 * address alone. `addr` may carry the observation domain ("192.0.2.1/1"). */
FH.exporter = function (addr, name) {
    if (addr === null || addr === undefined) return '';
    if (!name) return FH.h('span', {class: 'exporter mono'}, String(addr));
    return FH.h('span', {class: 'exporter', title: String(addr)}, FH.h('span', {class: 'xname'}, String(name)), ' ',
        FH.h('span', {class: 'xaddr mono'}, String(addr)));
};
FH.exporterText = (addr, name) => (name ? name + ' (' + addr + ')' : String(addr || ''));

/* A key that orders addresses as numbers (10.0.0.9 before 10.0.0.10), IPv4 before IPv6;
 * text that is no address sorts last, as text. */
FH.addrKey = function (addr) {
    const s = String(addr || '').replace(/\/.*$/, '');
    const v4 = s.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
    if (v4) return '4' + v4.slice(1).map((o) => FH.pad(parseInt(o, 10).toString(16), 2)).join('');
    if (!s.includes(':')) return '9' + s;
    const [head, tail] = s.split('::');
    const groups = (x) => (x ? x.split(':') : []);
    const h = groups(head), t = tail === undefined ? [] : groups(tail);
    const all = h.concat(Array(Math.max(0, 8 - h.length - t.length)).fill('0'), t);
    return '6' + all.map((g) => FH.pad(g.toLowerCase(), 4)).join('');
};

FH.endpoint = (addr, port) => (String(addr).includes(':') ? '[' + addr + ']' : addr) + ':' + port;

/* ---- the URL is the page's state: every view is a permalink ---- */

FH.query = () => Object.fromEntries(new URLSearchParams(location.search));

FH.setQuery = function (params, push) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params))
        if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const url = location.pathname + (q.toString() ? '?' + q : '');
    if (url === location.pathname + location.search) return;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
};

FH.link = (path, params) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {}))
        if (v !== undefined && v !== null && v !== '') q.set(k, v);
    return path + (q.toString() ? '?' + q : '');
};

/* ---- small UI pieces ---- */

FH.section = (title, ...children) => FH.h('section', {class: 'card'}, FH.h('h2', {}, title), children);

FH.badge = (text, kind) => FH.h('span', {class: 'badge ' + (kind || text)}, text);

FH.download = function (name, type, text) {
    const url = URL.createObjectURL(new Blob([text], {type}));
    const a = FH.h('a', {href: url, download: name});
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
};

/* CSV with every field quoted when needed; a leading = + - @ is neutralised so that a
 * spreadsheet never runs an exporter-sent string as a formula. */
FH.csv = function (rows, columns) {
    const cell = (v) => {
        if (v === null || v === undefined) return '';
        let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
        if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = "'" + s;
        return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    };
    return [columns.join(',')].concat(rows.map((r) => columns.map((c) => cell(r[c])).join(','))).join('\r\n') + '\r\n';
};
