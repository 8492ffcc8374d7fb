/* app.js - picks the page from the URL path, marks the navigation, shows errors. */
'use strict';

FH.timers = [];
/* Repeats fn every ms while the page stays; a failing refresh shows in the status line. */
FH.every = function (ms, fn) {
    const id = setInterval(async () => {
        try {
            await fn();
            FH.status('');
        } catch (e) {
            FH.status(e.message);
        }
    }, ms);
    FH.timers.push(id);
};

FH.status = function (text) {
    const el = document.getElementById('status');
    el.textContent = text;
    el.classList.toggle('bad', !!text);
};

FH.route = async function () {
    for (const id of FH.timers) clearInterval(id);
    FH.timers = [];
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
        main.append(FH.errorBox(e));
        document.body.dataset.ready = 'error';
    }
};

document.addEventListener('DOMContentLoaded', FH.route);
