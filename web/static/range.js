/* range.js - the time range of the overview, flows and top-N pages: a window back from the
 * newest stored flow (the last 15 min, 1 h, 6 h, 24 h, 7 d), the whole store, or a custom
 * from/to (a drag on the overview's chart makes one). It lives in the URL (last=1h, or from=
 * and to=), so every view is a permalink and a link carrying the same parameters to another
 * page shows the same range. */
'use strict';

FH.PRESETS = [['15m', 15 * 60e3, '15 min'], ['1h', 3600e3, '1 h'], ['6h', 6 * 3600e3, '6 h'],
    ['24h', 86400e3, '24 h'], ['7d', 7 * 86400e3, '7 d']];

/* The range the URL asks for: {last: '1h'}, {last: 'all'}, or {from, to} (as typed: RFC 3339
 * or Unix ms, either may be empty = open); `dflt` (a preset) when it asks for none. */
FH.rangeOf = function (q, dflt) {
    if (q.from || q.to) return {from: q.from || '', to: q.to || ''};
    if (q.last === 'all' || FH.PRESETS.some(([k]) => k === q.last)) return {last: q.last};
    return {last: dflt};
};

/* A range as URL parameters; the others empty, so that FH.setQuery and FH.link drop them. */
FH.rangeParams = (r) => (r.last ? {last: r.last, from: '', to: ''} : {last: '', from: r.from, to: r.to});

/* The API's from/to for a range. A preset counts back from the newest stored flow
 * (newestMs, from stats/summary): on a live collector that is seconds ago, and "the last
 * hour" of an idle one, or of a replayed capture, shows its last hour of flows rather than
 * nothing. The picker says which times that is. */
FH.rangeApi = function (r, newestMs) {
    if (!r.last) return {from: r.from, to: r.to};
    const p = FH.PRESETS.find(([k]) => k === r.last);
    if (!p || !newestMs) return {from: '', to: ''};
    return {from: newestMs - p[1], to: newestMs};
};

/* What a range covers, in words: "2026-11-24 07:00:51 → 08:00:51 UTC". */
FH.rangeText = function (r, api) {
    if (r.last === 'all') return 'all stored flows';
    const t = (v) => (v === '' || v === undefined ? null : /^\d+$/.test(String(v)) ? Number(v) : Date.parse(v));
    const from = t(api.from), to = t(api.to);
    const f = (ms) => (isNaN(ms) ? '?' : FH.time(ms, false));
    const a = from === null ? 'the first flow' : f(from);
    let b = to === null ? 'now' : f(to);
    if (from !== null && to !== null && a.slice(0, 10) === b.slice(0, 10)) b = b.slice(11);
    return a + ' → ' + b + ' UTC' + (r.last ? ' (back from the newest flow)' : '');
};

/* The picker: a button per preset, "all" and "custom" (from/to inputs, applied with Enter or
 * Apply); onChange(range) when one is picked. show(range, api) says what is shown. */
FH.rangePicker = function (range, onChange) {
    const h = FH.h;
    const input = (name, placeholder) => h('input', {type: 'text', name, id: name, class: 'time', autocomplete: 'off',
        spellcheck: 'false', placeholder, onkeydown: (e) => {
            if (e.key !== 'Enter') return;
            e.preventDefault();
            apply();
        }});
    const from = input('from', 'from (RFC 3339 or Unix ms)'), to = input('to', 'to (empty = open)');
    const custom = h('span', {class: 'custom'}, from, h('span', {class: 'dash'}, '–'), to,
        h('button', {type: 'button', id: 'range-apply', onclick: () => apply()}, 'Apply'));
    const shown = h('span', {class: 'shown', id: 'range-shown'});
    let current = range, lastApi = {from: '', to: ''};
    const buttons = FH.PRESETS.map(([k, , label]) => [k, label]).concat([['all', 'all'], ['custom', 'custom…']])
        .map(([k, label]) => h('button', {type: 'button', class: 'preset', 'data-range': k, onclick: () => pick(k)}, label));
    const el = h('div', {class: 'range', role: 'group', 'aria-label': 'time range'},
        h('span', {class: 'presets'}, h('span', {class: 'label'}, 'last'), buttons), custom, shown);
    const mark = (key) => {
        for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.range === key));
        custom.hidden = key !== 'custom';
    };
    const apply = () => onChange({from: from.value.trim(), to: to.value.trim()});
    const pick = (key) => {
        if (key !== 'custom') return onChange({last: key});
        /* From what is shown now: a custom range is mostly a nudge of the current one. */
        if (current.last) {
            from.value = lastApi.from === '' ? '' : FH.isoShort(Number(lastApi.from));
            to.value = lastApi.to === '' ? '' : FH.isoShort(Number(lastApi.to));
        }
        mark('custom');
        from.focus();
    };
    const set = (r) => {
        current = r;
        if (!r.last) {
            from.value = r.from || '';
            to.value = r.to || '';
        }
        mark(r.last || 'custom');
    };
    set(range);
    return {
        el, from, to,
        /* The range the inputs hold now (a form's Run reads custom inputs as typed). */
        value: () => (custom.hidden ? current : {from: from.value.trim(), to: to.value.trim()}),
        set,
        show(r, api) {
            lastApi = api;
            shown.textContent = FH.rangeText(r, api);
        },
    };
};
