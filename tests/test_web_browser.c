/* test_web_browser.c - the pages in a real browser: flowhoundd with the story stored and its
 * exporters named (one name hostile), two more exporters whose addresses sort apart as text
 * and as numbers, then tests/web/browser.js drives Debian's headless chromium through
 * chromedriver over every page (assertions and screenshots in the build's tests/out/). */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/web/webtest.h"

Test(web_browser, pages_show_the_story, .timeout = 240)
{
    if (!th_have("node") || access("/usr/bin/chromium", X_OK) != 0 ||
        access("/usr/bin/chromedriver", X_OK) != 0)
        cr_skip_test("needs node, chromium and chromium-driver (scripts/install-deps.sh --test)");
    struct th_daemon d = {0};
    char addr[128];
    const char *const names[] = {"--exporter-name",
                                 "127.0.1.1 fw-outside",
                                 "--exporter-name",
                                 "127.0.1.2 lpd-inside",
                                 "--exporter-name",
                                 "127.0.1.10 <script>document.body.dataset.pwned=4</script>",
                                 NULL};
    wt_start(&d, names, addr, sizeof(addr));
    wt_store_story(&d);
    wt_sql_file(d.db, "exporters_fixture.sql");
    const char *src = getenv("FH_SRCDIR") ? getenv("FH_SRCDIR") : "..";
    int rc = th_system("node '%s/tests/web/browser.js' 'http://%s' '%s/tests/out' >&2", src, addr,
                       th_builddir());
    cr_expect_eq(rc, 0, "browser checks (see the test log); screenshots in %s/tests/out",
                 th_builddir());
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}
