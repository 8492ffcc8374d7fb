/* core.js - helpers every page uses: DOM building (text only, never HTML strings), the JSON
 * API, formatting of times, numbers, protocols and TCP flags, and the URL as page state. */
'use strict';

const FH = {};

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
    constructor(message, status, column) {
        super(message);
        this.status = status;
        this.column = column;
    }
};

FH.api = async function (path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {}))
        if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const url = '/api/v1/' + path + (q.toString() ? '?' + q : '');
    let resp;
    try {
        resp = await fetch(url, {headers: {Accept: 'application/json'}, credentials: 'same-origin'});
    } catch (e) {
        throw new FH.ApiError('flowhoundd is not answering (' + e.message + ')', 0);
    }
    let body;
    try {
        body = await resp.json();
    } catch (e) {
        throw new FH.ApiError('HTTP ' + resp.status + ': not JSON', resp.status);
    }
    if (!resp.ok) throw new FH.ApiError(body.error || 'HTTP ' + resp.status, resp.status, body.column);
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

FH.duration = function (ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return '';
    const neg = ms < 0;
    ms = Math.abs(ms);
    let out;
    if (ms < 1000) out = ms + ' ms';
    else if (ms < 60000) out = (ms / 1000).toFixed(ms < 10000 ? 3 : 1).replace(/\.?0+$/, '') + ' s';
    else if (ms < 3600000) out = Math.floor(ms / 60000) + 'm ' + Math.round((ms % 60000) / 1000) + 's';
    else if (ms < 86400000) out = Math.floor(ms / 3600000) + 'h ' + Math.round((ms % 3600000) / 60000) + 'm';
    else out = Math.floor(ms / 86400000) + 'd ' + Math.round((ms % 86400000) / 3600000) + 'h';
    return (neg ? '-' : '') + out;
};

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
    return (Number.isInteger(v) ? String(v) : v.toFixed(v >= 10 ? 1 : 2)) + u;
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

FH.errorBox = function (err, filterText) {
    const box = FH.h('div', {class: 'error', role: 'alert'}, err.message);
    if (err.column && filterText !== undefined && filterText !== null) {
        /* The filter with a caret under the column the server named. */
        const col = Math.max(1, Math.min(err.column, filterText.length + 1));
        box.appendChild(FH.h('pre', {class: 'caret'}, filterText + '\n' + ' '.repeat(col - 1) + '^ column ' + err.column));
    }
    return box;
};

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

/* Time range inputs shared by the flow pages: from, to, and presets. */
FH.rangeInputs = function (q, onPreset) {
    const from = FH.h('input', {type: 'text', name: 'from', id: 'from', class: 'time', value: q.from || '',
        placeholder: 'from (RFC 3339 or Unix ms)', autocomplete: 'off', spellcheck: 'false'});
    const to = FH.h('input', {type: 'text', name: 'to', id: 'to', class: 'time', value: q.to || '',
        placeholder: 'to (empty = now)', autocomplete: 'off', spellcheck: 'false'});
    const preset = (label, ms) => FH.h('button', {type: 'button', class: 'preset', onclick: () => {
        if (ms) {
            const now = Date.now();
            from.value = FH.isoTime(now - ms).replace('.000Z', 'Z');
            to.value = '';
        } else {
            from.value = '';
            to.value = '';
        }
        onPreset();
    }}, label);
    const el = FH.h('div', {class: 'range'}, from, FH.h('span', {class: 'dash'}, '–'), to,
        preset('1h', 3600e3), preset('24h', 86400e3), preset('7d', 7 * 86400e3), preset('all', 0));
    return {el, from, to};
};
