// The "Entra con SPID" button in a real browser: Debian's chromium, headless,
// driven by playwright-core. Run by tests/e2e/test_15_spid_button.py against
// a running spid-sp and dev IdP:
//
//   node spid_button.mjs <base_url> <outdir> <expect.json>
//
// expect.json: {"start_path": "/services", "dev_idp": entityID,
//   "idps": [{"entity_id", "name", "logo": https URL or null}],
//   "js_identity": {"key", "cf"}, "nojs_identity": {"key", "cf"}}
// ("logo" is what the page must show: null for the placeholder).
//
// Screenshots go to <outdir>. Exit status 0 when every check passed; on a
// failure the reason is printed and the status is 1. Everything is bounded:
// each action has a timeout and the whole run SPID_BROWSER_TIMEOUT_MS.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [baseUrl, outDir, expectPath] = process.argv.slice(2);
if (!baseUrl || !outDir || !expectPath) {
    console.error("usage: node spid_button.mjs <base_url> <outdir> <expect.json>");
    process.exit(2);
}
const expect = JSON.parse(readFileSync(expectPath, "utf8"));
const TOTAL_MS = Number(process.env.SPID_BROWSER_TIMEOUT_MS || 150000);
const ACTION_MS = 15000;
const CHROMIUM = process.env.SPID_CHROMIUM || "/usr/bin/chromium";
const base = new URL(baseUrl);
const startUrl = new URL(expect.start_path, base).href;
const logoHosts = new Set(expect.idps.filter((i) => i.logo).map((i) => new URL(i.logo).host));
// a 2:1 blue rectangle stands in for every remote logo
const LOGO_SVG =
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="28"><rect width="120" height="28" fill="#06c"/></svg>';

const watchdog = setTimeout(() => {
    console.error(`FAIL: the browser test did not finish in ${TOTAL_MS} ms`);
    process.exit(1);
}, TOTAL_MS);
watchdog.unref();

function check(cond, what, detail) {
    if (!cond) {
        throw new Error(what + (detail === undefined ? "" : ": " + JSON.stringify(detail)));
    }
    console.log("ok - " + what);
}

function sameSet(a, b) {
    return a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
}

// A context whose requests never leave the machine: loopback goes through,
// the IdP logos get LOGO_SVG (so that only the page's CSP can stop them),
// anything else is refused and reported.
async function newContext(browser, options, log) {
    const ctx = await browser.newContext(options);
    ctx.setDefaultTimeout(ACTION_MS);
    ctx.setDefaultNavigationTimeout(2 * ACTION_MS);
    await ctx.route("**/*", (route) => {
        const u = new URL(route.request().url());
        if (u.hostname === "127.0.0.1" || u.hostname === "localhost") {
            return route.continue();
        }
        if (logoHosts.has(u.host)) {
            log.logos.push(u.href);
            return route.fulfill({ status: 200, contentType: "image/svg+xml", body: LOGO_SVG });
        }
        log.external.push(u.href);
        return route.abort();
    });
    return ctx;
}

function watchPage(page, log) {
    page.on("console", (m) => {
        const where = (m.location() && m.location().url) || "";
        if (m.type() === "error" && !where.endsWith("/favicon.ico")) {
            log.errors.push(m.text());
        }
    });
    page.on("pageerror", (e) => log.errors.push("page error: " + e.message));
}

// The state of the button as the page and the accessibility tree see it.
async function buttonState(page, cdp) {
    const dom = await page.evaluate(() => {
        const t = document.getElementById("spid-idp-trigger");
        const menu = document.getElementById("spid-idp-list-medium-root-get");
        const r = menu.getBoundingClientRect();
        return {
            ariaExpanded: t.getAttribute("aria-expanded"),
            open: document.getElementById("spid-access").open,
            // a closed <details> keeps its content laid out, not rendered
            menuVisible: r.width > 0 && r.height > 0 &&
                menu.checkVisibility({ visibilityProperty: true, opacityProperty: true }),
            focus: document.activeElement ? document.activeElement.id : null,
        };
    });
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const trig = nodes.find(
        (n) => n.name && n.name.value === "Entra con SPID" && !n.ignored &&
            (n.properties || []).some((p) => p.name === "hasPopup"),
    );
    const prop = (name) => {
        const p = trig && (trig.properties || []).find((x) => x.name === name);
        return p ? p.value.value : undefined;
    };
    dom.axExpanded = prop("expanded");
    dom.axHasPopup = prop("hasPopup");
    return dom;
}

// Entries of the menu, in page order.
async function menuEntries(page) {
    return page.$$eval("#spid-idp-list-medium-root-get > li", (lis) =>
        lis.map((li) => {
            const a = li.querySelector("a");
            const img = li.querySelector("img");
            const sr = li.querySelector(".spid-sr-only");
            return {
                cls: li.className,
                idp: a.getAttribute("data-idp"),
                href: a.href,
                text: a.textContent.trim(),
                sr: sr ? sr.textContent : null,
                alt: img ? img.getAttribute("alt") : null,
                src: img ? img.src : null,
                loaded: img ? img.complete && img.naturalWidth > 0 : null,
            };
        }),
    );
}

function idpOrder(entries) {
    return entries.filter((e) => e.cls === "spid-idp-button-link").map((e) => e.idp);
}

async function shot(page, name, result) {
    const path = join(outDir, name);
    await page.screenshot({ path, fullPage: true });
    result.screenshots.push(path);
    console.log("screenshot " + path);
}

async function checkEntries(page, label) {
    const entries = await menuEntries(page);
    const idps = entries.filter((e) => e.cls === "spid-idp-button-link");
    const want = expect.idps.map((i) => i.entity_id);
    check(sameSet(idps.map((e) => e.idp), want), `${label}: every IdP listed once`, idps.map((e) => e.idp));
    for (const e of idps) {
        const w = expect.idps.find((i) => i.entity_id === e.idp);
        check(e.sr === w.name && e.alt === w.name, `${label}: ${w.entity_id} named in alt and spid-sr-only`, e);
        const src = w.logo ? w.logo : new URL("/static/spid-idp-placeholder.svg", base).href;
        check(e.src === src, `${label}: ${w.entity_id} image is ${w.logo ? "its logo" : "the placeholder"}`, e.src);
        check(e.loaded, `${label}: ${w.entity_id} image loaded (CSP img-src lets it through)`, e.src);
        const href = new URL(e.href);
        check(href.origin === base.origin && href.pathname === "/spid/login" &&
            href.searchParams.get("idp") === w.entity_id &&
            href.searchParams.get("next") === expect.start_path,
        `${label}: ${w.entity_id} link starts the login and returns to ${expect.start_path}`, e.href);
    }
    const support = entries.filter((e) => e.cls === "spid-idp-support-link").map((e) => [e.text, e.href]);
    check(JSON.stringify(support) === JSON.stringify([
        ["Maggiori informazioni", "https://www.spid.gov.it/"],
        ["Non hai SPID?", "https://www.spid.gov.it/richiedi-spid"],
        ["Serve aiuto?", "https://www.spid.gov.it/serve-aiuto"],
    ]), `${label}: BT-04 links under the list`, support);
    check(entries.slice(-3).every((e) => e.cls === "spid-idp-support-link"), `${label}: links after the IdPs`);
    return entries;
}

// At the dev IdP: pick the identity, level 2, confirm.
async function devIdpLogin(page, identity) {
    await page.waitForURL((u) => u.href.startsWith(expect.dev_idp));
    check(await page.locator("h1").innerText() === "Accesso con SPID (IdP di test)", "on the dev IdP's page");
    await page.check(`#id-${identity.key}`);
    await page.check("#level-2");
    await page.click('button[name="action"][value="login"]');
}

async function runWithJs(browser, result) {
    const log = { logos: [], external: [], errors: [] };
    const ctx = await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }, log);
    const page = await ctx.newPage();
    watchPage(page, log);
    const cdp = await ctx.newCDPSession(page);

    // a protected page sends the visitor to the login page, remembering itself
    const answer = await page.goto(startUrl);
    check(answer.ok(), "login page answered 200", answer.status());
    const at = new URL(page.url());
    check(at.pathname === "/" && at.searchParams.get("next") === expect.start_path,
        `${expect.start_path} redirects to the login page with next`, page.url());
    await page.waitForFunction(() => document.getElementById("spid-idp-trigger").hasAttribute("aria-expanded"));

    const trigger = page.locator("#spid-idp-trigger");
    let st = await buttonState(page, cdp);
    check(!st.open && !st.menuVisible, "IdP list hidden at first", st);
    check(st.ariaExpanded === "false" && st.axExpanded === false, "aria-expanded false, for AT too", st);
    check(st.axHasPopup === "menu", "trigger has aria-haspopup", st);
    await shot(page, "login-mobile.png", result);

    // keyboard: Enter opens, Escape closes and gives the focus back
    await trigger.focus();
    await page.keyboard.press("Enter");
    st = await buttonState(page, cdp);
    check(st.open && st.menuVisible && st.ariaExpanded === "true" && st.axExpanded === true,
        "Enter opens the list, aria-expanded true", st);
    await page.keyboard.press("Escape");
    st = await buttonState(page, cdp);
    check(!st.open && !st.menuVisible && st.ariaExpanded === "false" && st.axExpanded === false,
        "Escape closes the list, aria-expanded false", st);
    check(st.focus === "spid-idp-trigger", "Escape returns the focus to the button", st);

    // Space opens; Tab walks every IdP, then the three links; Escape from a link
    await page.keyboard.press(" ");
    st = await buttonState(page, cdp);
    check(st.open && st.ariaExpanded === "true", "Space opens the list", st);
    const entries = await checkEntries(page, "with JavaScript");
    const tabbed = [];
    for (let i = 0; i < entries.length; i++) {
        await page.keyboard.press("Tab");
        tabbed.push(await page.evaluate(() => {
            const a = document.activeElement;
            return a.getAttribute("data-idp") || a.textContent.trim();
        }));
    }
    const want = entries.map((e) => e.idp || e.text);
    check(JSON.stringify(tabbed) === JSON.stringify(want), "Tab reaches every IdP and link in order", { tabbed, want });
    await page.keyboard.press("Escape");
    st = await buttonState(page, cdp);
    check(!st.open && st.focus === "spid-idp-trigger" && st.ariaExpanded === "false",
        "Escape from inside the list closes it and focuses the button", st);

    // arrow keys: down opens and enters the list
    await page.keyboard.press("ArrowDown");
    const first = await page.evaluate(() => document.activeElement.getAttribute("data-idp"));
    st = await buttonState(page, cdp);
    check(st.open && first === entries[0].idp, "ArrowDown opens and focuses the first IdP", { st, first });
    await page.keyboard.press("Escape");

    // mouse: click opens, click again closes, a click elsewhere closes
    await trigger.click();
    st = await buttonState(page, cdp);
    check(st.open && st.menuVisible && st.ariaExpanded === "true" && st.axExpanded === true,
        "click opens the list, aria-expanded true", st);
    await shot(page, "login-mobile-open.png", result);
    await trigger.click();
    st = await buttonState(page, cdp);
    check(!st.open && st.ariaExpanded === "false", "second click closes it", st);
    await trigger.click();
    await page.locator("#login-title").click();
    st = await buttonState(page, cdp);
    check(!st.open && st.ariaExpanded === "false", "a click elsewhere closes it", st);

    // a new random order on every load
    const orders = [idpOrder(entries)];
    for (let i = 0; i < 8; i++) {
        await page.reload();
        orders.push(idpOrder(await menuEntries(page)));
    }
    const distinct = new Set(orders.map((o) => o.join(" ")));
    result.orders = orders;
    check(distinct.size >= 2, `the order changes across reloads (${distinct.size} orders in ${orders.length} loads)`);

    // the same page on a desktop, open
    await page.setViewportSize({ width: 1280, height: 900 });
    await trigger.click();
    await shot(page, "login-desktop-open.png", result);

    // log in with the dev IdP and land where we started
    await page.click(`#spid-idp-list-medium-root-get a[data-idp="${expect.dev_idp}"]`);
    await devIdpLogin(page, expect.js_identity);
    await page.waitForURL(startUrl);
    const body = await page.locator("main").innerText();
    check(body.includes("I tuoi servizi") && body.includes(expect.js_identity.cf),
        `back on ${expect.start_path}, logged in as ${expect.js_identity.cf}`, body.slice(0, 300));
    await shot(page, "services.png", result);

    for (const w of expect.idps.filter((i) => i.logo)) {
        check(log.logos.includes(w.logo), `logo of ${w.entity_id} requested`, log.logos);
    }
    check(log.external.length === 0, "no request left the machine", log.external);
    check(log.errors.length === 0, "no console errors (no CSP violation)", log.errors);
    await ctx.close();
}

async function runWithoutJs(browser, result) {
    const log = { logos: [], external: [], errors: [] };
    const ctx = await newContext(browser, { viewport: { width: 1280, height: 900 }, javaScriptEnabled: false }, log);
    const page = await ctx.newPage();
    watchPage(page, log);
    const cdp = await ctx.newCDPSession(page);

    await page.goto(startUrl);
    check(new URL(page.url()).searchParams.get("next") === expect.start_path, "no JS: redirected to the login page");
    let st = await buttonState(page, cdp);
    check(!st.open && !st.menuVisible && st.axExpanded === false, "no JS: list hidden at first", st);
    await page.locator("#spid-idp-trigger").focus();
    await page.keyboard.press("Enter");
    st = await buttonState(page, cdp);
    check(st.open && st.menuVisible && st.axExpanded === true, "no JS: Enter opens the list", st);
    await page.keyboard.press("Enter");
    st = await buttonState(page, cdp);
    check(!st.open && st.axExpanded === false, "no JS: Enter closes it", st);
    await page.locator("#spid-idp-trigger").click();
    st = await buttonState(page, cdp);
    check(st.open && st.menuVisible, "no JS: click opens the list", st);
    await checkEntries(page, "without JavaScript");
    await shot(page, "login-nojs-open.png", result);

    await page.click(`#spid-idp-list-medium-root-get a[data-idp="${expect.dev_idp}"]`);
    await devIdpLogin(page, expect.nojs_identity);
    // the dev IdP's auto-submit needs JavaScript: its <noscript> button instead
    await page.waitForSelector("#saml-autosubmit");
    await page.click('#saml-autosubmit button[type="submit"]');
    await page.waitForURL(startUrl);
    const body = await page.locator("main").innerText();
    check(body.includes("I tuoi servizi") && body.includes(expect.nojs_identity.cf),
        `no JS: back on ${expect.start_path}, logged in as ${expect.nojs_identity.cf}`, body.slice(0, 300));
    check(log.external.length === 0, "no JS: no request left the machine", log.external);
    check(log.errors.length === 0, "no JS: no console errors", log.errors);
    await ctx.close();
}

const t0 = Date.now();
const result = { screenshots: [], orders: [] };
let browser;
let status = 0;
try {
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 60000,
        // root in a container: no sandbox; a small /dev/shm: use /tmp
        args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    });
    console.log("chromium " + browser.version());
    await runWithJs(browser, result);
    await runWithoutJs(browser, result);
} catch (e) {
    console.error("FAIL: " + (e && e.stack ? e.stack : e));
    status = 1;
} finally {
    if (browser) {
        await browser.close().catch(() => {});
    }
}
result.ms = Date.now() - t0;
console.log("RESULT " + JSON.stringify(result));
process.exit(status);
