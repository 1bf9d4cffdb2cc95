"""The login page and its "Entra con SPID" button (spec §9.1 BT-01..BT-07).

The SP trusts three IdPs: the dev IdP (no logo: the placeholder) and the
two of tests/fixtures/spid-button/ (never contacted): one whose display name
holds <, &, and both quotes, with a logo on a port and a URL holding '&';
one whose logo URL has user info (not nameable in a CSP: the placeholder).
Each IdP costs the SP about 5 s of start-up under ASan (lasso builds an
xmlsec key store per provider), so the fixtures are kept few.

Markup tests read the HTML; test_in_a_browser runs tests/browser/spid_button.mjs
(Debian's chromium through playwright-core, installed by scripts/deps.sh):
keyboard, mouse, aria-expanded, every IdP listed, a new order per load, the
login through the dev IdP with and without JavaScript, and screenshots in
<build>/test-output/spid-button/ (next to SPID_SP_BINARY; else a temp dir).
Without node, chromium or tests/browser/node_modules the browser test skips,
unless CI or SPID_BROWSER_REQUIRED=1 is set: then it fails.
"""

import collections
import json
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.parse

import lxml.html
import pytest
import requests

from conftest import REPO, SpidEnv

FIXTURES = os.path.join(REPO, "tests", "fixtures", "spid-button")
BROWSER_DIR = os.path.join(REPO, "tests", "browser")
CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 30
BROWSER_TIMEOUT = 240  # the script stops itself after 150 s

ESCAPE_IDP = "https://idp-escape.example.test/"
ESCAPE_NAME = "Ente <Prova> & \"Virgolette\" 'Apici'"
ESCAPE_LOGO = "https://logo.example.test:8443/escape.svg?size=m&v=1"
PLAIN_IDP = "https://idp-plain.example.test/"
PLAIN_NAME = "Identità Esempio"
PLACEHOLDER = "/static/spid-idp-placeholder.svg"
SUPPORT_LINKS = [
    ("Maggiori informazioni", "https://www.spid.gov.it"),
    ("Non hai SPID?", "https://www.spid.gov.it/richiedi-spid"),
    ("Serve aiuto?", "https://www.spid.gov.it/serve-aiuto"),
]


class ButtonEnv(SpidEnv):
    """SpidEnv whose SP also loads the fixture IdPs (idp_metadata is a list)."""

    def _start(self, overrides):
        own = os.path.join(self.dir, "idp-metadata")
        sp = dict(overrides.get("sp", {}))
        sp["idp_metadata"] = "%s %s" % (own, FIXTURES)
        super()._start(dict(overrides, sp=sp))


@pytest.fixture(scope="module")
def env():
    e = ButtonEnv()
    yield e
    problems = e.close()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def expected_idps(env):
    """entity ID -> (display name, logo URL the page must show or None)."""
    return {
        env.idp.entity_id: ("SPID Test IdP (spid-sp)", None),
        ESCAPE_IDP: (ESCAPE_NAME, ESCAPE_LOGO),
        PLAIN_IDP: (PLAIN_NAME, None),
    }


def login_page(env, next_path="/services"):
    r = requests.get(env.sp.url("/"), params={"next": next_path}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r, lxml.html.fromstring(r.text)


def menu(doc):
    (ul,) = doc.xpath('//ul[contains(concat(" ", @class, " "), " spid-idp-button-menu ")]')
    return ul


def idp_items(doc):
    return menu(doc).xpath('li[@class="spid-idp-button-link"]')


def order(doc):
    return [li.find("a").get("data-idp") for li in idp_items(doc)]


# ------------------------------------------------------------ markup


def test_every_idp_listed_once_with_name_logo_and_link(env):
    _, doc = login_page(env)
    want = expected_idps(env)
    items = idp_items(doc)
    assert sorted(order(doc)) == sorted(want)
    for li in items:
        a = li.find("a")
        name, logo = want[a.get("data-idp")]
        (sr,) = a.xpath('span[@class="spid-sr-only"]')
        (img,) = a.xpath("img")
        assert sr.text == name
        assert img.get("alt") == name
        if logo:
            assert img.get("src") == logo
            assert "spid-idp-logo-placeholder" not in img.get("class")
        else:
            assert img.get("src") == PLACEHOLDER
            (label,) = a.xpath('span[@class="spid-idp-name"]')
            assert label.text == name and label.get("aria-hidden") == "true"
        href = urllib.parse.urlsplit(a.get("href"))
        q = urllib.parse.parse_qs(href.query, strict_parsing=True)
        assert href.path == "/spid/login"
        assert q == {"idp": [a.get("data-idp")], "level": ["2"], "next": ["/services"]}


def test_button_look_and_aria(env):
    _, doc = login_page(env)
    (details,) = doc.xpath('//details[@id="spid-access"]')
    trigger = details.find("summary")
    assert trigger.get("id") == "spid-idp-trigger"
    assert trigger.get("aria-haspopup") == "true"
    assert "button-spid" in trigger.get("class").split()
    assert "italia-it-button-size-m" in trigger.get("class").split()
    assert trigger.text_content().strip() == "Entra con SPID"
    assert details.get("open") is None  # closed until asked
    # the icon is ours, inline, hidden from screen readers
    (icon,) = trigger.xpath('span[@class="italia-it-button-icon"]')
    assert icon.get("aria-hidden") == "true" and icon.find("svg") is not None
    # trigger -> container, list -> trigger
    (box,) = doc.xpath('//*[@id="%s"]' % trigger.get("aria-controls"))
    assert "spid-idp-button" in box.get("class").split()
    assert menu(doc).get("aria-labelledby") == "spid-idp-trigger"
    assert menu(doc).getparent() is box


def test_support_links_under_the_list(env):
    _, doc = login_page(env)
    items = menu(doc).findall("li")
    tail = items[-3:]
    assert [li.get("class") for li in tail] == ["spid-idp-support-link"] * 3
    assert [(li.find("a").text, li.find("a").get("href")) for li in tail] == SUPPORT_LINKS
    assert all(li.get("class") == "spid-idp-button-link" for li in items[:-3])


def test_order_is_random_on_every_render(env):
    n = 60
    orders = [tuple(order(login_page(env)[1])) for _ in range(n)]
    want = sorted(expected_idps(env))
    assert all(sorted(o) == want for o in orders)
    # 3 IdPs: with a uniform shuffle each leads about n/3 times; missing one
    # leader in 60 renders happens with probability about 3 * (2/3)^60 < 1e-10,
    # two of the 6 orders never seen with at most 15 * (4/6)^60 < 1e-9
    leaders = collections.Counter(o[0] for o in orders)
    assert set(leaders) == set(want), leaders
    assert len(set(orders)) >= 5, collections.Counter(orders)


def test_names_and_urls_are_escaped(env):
    r, doc = login_page(env)
    raw = r.text
    assert "<Prova>" not in raw
    assert "Ente &lt;Prova&gt; &amp; &quot;Virgolette&quot; &#39;Apici&#39;" in raw
    # in an attribute too, and the logo URL's '&'
    assert 'alt="Ente &lt;Prova&gt; &amp; &quot;Virgolette&quot; &#39;Apici&#39;"' in raw
    assert 'src="https://logo.example.test:8443/escape.svg?size=m&amp;v=1"' in raw
    # parsed back, they are the original strings (checked above by value)
    (a,) = [li.find("a") for li in idp_items(doc) if li.find("a").get("data-idp") == ESCAPE_IDP]
    assert a.find("img").get("alt") == ESCAPE_NAME


def test_next_is_escaped_and_encoded(env):
    nxt = "/services?a=1&level=3&b='x'"
    r, doc = login_page(env, next_path=nxt)
    assert "&level=3" not in r.text and "'x'" not in r.text
    for li in idp_items(doc):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(li.find("a").get("href")).query)
        assert q["next"] == [nxt] and q["level"] == ["2"]
    # a next the SP would not return to is dropped, not echoed
    r, doc = login_page(env, next_path='//evil.example/"><b>')
    assert "evil.example" not in r.text
    assert all("next=%2F" in li.find("a").get("href") and
               li.find("a").get("href").endswith("next=%2F") for li in idp_items(doc))


def test_csp_names_exactly_the_logo_origins(env):
    r, _ = login_page(env)
    csp = [d.strip() for d in r.headers["Content-Security-Policy"].split(";")]
    img = [d for d in csp if d.startswith("img-src ")]
    assert img == ["img-src 'self' data: https://logo.example.test:8443"], csp
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert not any("unsafe-inline" in d or "unsafe-eval" in d for d in csp)
    # the rejected logo (user info in the URL) is not in the policy
    assert "evil" not in r.headers["Content-Security-Policy"]
    # other pages keep the default policy
    other = requests.get(env.sp.url("/metadata"), timeout=TIMEOUT)
    assert "img-src 'self' data:;" in other.headers["Content-Security-Policy"]
    assert "logo.example.test" not in other.headers["Content-Security-Policy"]
    # nor any other answer
    assert "example.test" not in requests.get(env.sp.url("/healthz"), timeout=TIMEOUT) \
        .headers["Content-Security-Policy"]


def test_no_inline_script_or_handlers(env):
    r, doc = login_page(env)
    scripts = doc.xpath("//script")
    assert [s.get("src") for s in scripts] == ["/static/spid-button.js"]
    assert all(not (s.text or "").strip() for s in scripts)
    assert not doc.xpath("//@*[starts-with(name(), 'on')]")
    assert not doc.xpath("//@style")


def test_assets_served(env):
    for path, ctype in ((PLACEHOLDER, "image/svg+xml"),
                        ("/static/spid-button.js", "text/javascript"),
                        ("/static/spid-sp.css", "text/css")):
        r = requests.get(env.sp.url(path), timeout=TIMEOUT)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].startswith(ctype), (path, r.headers["Content-Type"])
    css = requests.get(env.sp.url("/static/spid-sp.css"), timeout=TIMEOUT).text
    # BT-01 colours
    for rule in ("background-color: #06c", "background-color: #036", "background-color: #83beed",
                 "color: #036"):
        assert rule in css, rule


def test_other_credentials_offered(env):
    _, doc = login_page(env)
    (pin,) = doc.xpath('//section[contains(@class, "login-pin")]')
    hrefs = pin.xpath(".//a/@href")
    assert "/pin/login?next=%2Fservices" in hrefs and "/pin/request" in hrefs


# ------------------------------------------------------------ the browser


def browser_missing():
    node = shutil.which("node")
    if node is None:
        return "node is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return "%s is not installed" % CHROMIUM
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        return "tests/browser/node_modules missing (run scripts/deps.sh)"
    return None


def output_dir(tmp_path):
    """<build>/test-output/spid-button when the binary is in a build tree."""
    binary = os.environ.get("SPID_SP_BINARY")
    if binary:
        d = os.path.join(os.path.dirname(os.path.abspath(binary)), "test-output", "spid-button")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d
    return str(tmp_path)


def browser_env():
    """The environment without the sanitizer runtime options of the daemons."""
    e = dict(os.environ)
    for k in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "LD_PRELOAD"):
        e.pop(k, None)
    return e


def test_in_a_browser(env, tmp_path, capsys):
    why = browser_missing()
    if why:
        if os.environ.get("CI") or os.environ.get("SPID_BROWSER_REQUIRED") == "1":
            pytest.fail("browser test required but " + why)
        pytest.skip(why)
    out = output_dir(tmp_path)
    idps = expected_idps(env)
    expect = {
        "start_path": "/services",
        "dev_idp": env.idp.entity_id,
        "idps": [{"entity_id": k, "name": v[0], "logo": v[1]} for k, v in idps.items()],
        "js_identity": {"key": "citizen", "cf": "RSSMRA80A01H501U"},
        "nojs_identity": {"key": "professional", "cf": "BNCGLI92C65F205C"},
    }
    expect_path = os.path.join(out, "expect.json")
    with open(expect_path, "w") as f:
        json.dump(expect, f)
    t0 = time.time()
    p = subprocess.run(["node", os.path.join(BROWSER_DIR, "spid_button.mjs"), env.sp.url(""), out,
                        expect_path], capture_output=True, text=True, timeout=BROWSER_TIMEOUT,
                       cwd=BROWSER_DIR, env=browser_env())
    took = time.time() - t0
    with open(os.path.join(out, "browser.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    with capsys.disabled():  # the screenshots' place, even when pytest captures
        print("\nbrowser test: %.1f s, exit %d, screenshots and log in %s"
              % (took, p.returncode, out))
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-6000:]
    result = json.loads(p.stdout.rsplit("RESULT ", 1)[1])
    for shot in result["screenshots"]:
        assert os.path.getsize(shot) > 1000, shot
    # the browser saw every IdP in every load, in more than one order
    assert all(sorted(o) == sorted(idps) for o in result["orders"])
    assert len({tuple(o) for o in result["orders"]}) >= 2
    # both logins opened SPID level-2 sessions through the dev IdP
    with sqlite3.connect(os.path.join(env.dir, "sp-data", "spid-sp.db")) as db:
        rows = set(db.execute("SELECT user_cf, method, level, idp FROM sessions"))
    for cf in ("RSSMRA80A01H501U", "BNCGLI92C65F205C"):
        assert (cf, "spid", 2, env.idp.entity_id) in rows, rows
