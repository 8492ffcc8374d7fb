/* app.js - picks the page from the URL path, marks the navigation, and runs what a page
 * leaves behind (timers, charts) down when another page replaces it. */
'use strict';

FH.timers = [];
FH.leaving = [];
/* Repeats fn every ms while the page stays; a failing refresh shows in the status line (the
 * page keeps what it last showed). */
FH.every = function (ms, fn) {
    const id = setInterval(async () => {
        try {
            await fn();
            FH.status('');
        } catch (e) {
            FH.status('refresh failed: ' + e.message);
        }
    }, ms);
    FH.timers.push(id);
};

/* fn runs when the page is left (a chart's listeners, say). */
FH.onLeave = (fn) => FH.leaving.push(fn);

FH.status = function (text) {
    const el = document.getElementById('status');
    el.textContent = text;
    el.classList.toggle('bad', !!text);
};

FH.leave = function () {
    for (const id of FH.timers) clearInterval(id);
    for (const fn of FH.leaving) fn();
    FH.timers = [];
    FH.leaving = [];
    FH.status('');
};

FH.route = async function () {
    FH.leave();
    const path = location.pathname;
    let name = 'overview', arg;
    const m = path.match(/^\/alerts\/(\d+)$/);
    if (m) {
        name = 'alert';
        arg = m[1];
    } else if (path !== '/') {
        name = path.slice(1);
    }
    const nav = name === 'alert' ? 'alerts' : name;
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === nav);
    const main = FH.clear(document.getElementById('main'));
    document.body.dataset.page = name;
    delete document.body.dataset.ready;
    document.title = 'flowhound · ' + (name === 'alert' ? 'alert #' + arg : name);
    const page = FH.pages[name];
    if (!page) {
        main.append(FH.h('h1', {}, 'Not found'), FH.h('p', {}, FH.h('a', {href: '/'}, 'Overview')));
        return;
    }
    try {
        await page(main, arg);
        document.body.dataset.ready = 'yes';
    } catch (e) {
        /* Requests fail inside their part of the page (FH.load); this is a bug: say so. */
        console.error(e);
        main.append(FH.failure('this page', e, FH.route));
        document.body.dataset.ready = 'error';
    }
};

/* Back and forward redraw the page the URL names (every view is in its URL). */
window.addEventListener('popstate', FH.route);
document.addEventListener('DOMContentLoaded', FH.route);
