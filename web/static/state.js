/* state.js - what a part of a page shows while its data is on the way, and when it cannot be
 * had: "Loading the exporters…", then the data; or what failed (which request, the server's
 * own words) and a Retry button. Every request a page makes goes through FH.load, so no part
 * of any page stays blank or silently stale at 3 a.m. */
'use strict';

FH.loading = (what) => FH.h('div', {class: 'loading', role: 'status'}, FH.h('span', {class: 'spinner'}),
    'Loading ' + what + '…');

/* The failure of `what` (an FH.ApiError or any Error), with a Retry button calling retry().
 * With filterText, a caret marks the column of a filter error the server named. */
FH.failure = function (what, err, retry, filterText) {
    const status = err.status ? 'HTTP ' + err.status + ' from ' : '';
    const box = FH.h('div', {class: 'error', role: 'alert'},
        FH.h('div', {class: 'what'}, 'Could not load ' + what + '.'),
        FH.h('div', {class: 'why'}, err.message),
        err.path ? FH.h('div', {class: 'where mono'}, status + err.path) : null);
    if (err.column && filterText !== undefined && filterText !== null) {
        const col = Math.max(1, Math.min(err.column, filterText.length + 1));
        box.appendChild(FH.h('pre', {class: 'caret'}, filterText + '\n' + ' '.repeat(col - 1) + '^ column ' + err.column));
    }
    if (retry) box.appendChild(FH.h('button', {type: 'button', class: 'retry', onclick: retry}, 'Retry'));
    return box;
};

/* Fills `box` with draw(await fetch()), showing that it loads meanwhile, or the failure with
 * a Retry that starts over. opts.filter: the filter text, for the caret under a bad column.
 * Returns true once drawn. A failure of draw itself is a bug and is thrown. */
FH.load = async function (box, what, fetch, draw, opts) {
    FH.clear(box).append(FH.loading(what));
    box.setAttribute('aria-busy', 'true');
    let data;
    try {
        data = await fetch();
    } catch (e) {
        box.removeAttribute('aria-busy');
        const retry = () => FH.load(box, what, fetch, draw, opts);
        FH.clear(box).append(FH.failure(what, e, retry, opts && opts.filter));
        return false;
    }
    box.removeAttribute('aria-busy');
    FH.clear(box);
    draw(data, box);
    return true;
};
