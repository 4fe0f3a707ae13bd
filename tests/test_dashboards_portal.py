"""The member portal and the operations console in real headless Chromium, served by a real
``jdx serve``, with logins of the registry's users.

``portal_data.prepare`` gives a data directory with the public releases, two members (ALPHA and
BETA) whose files went through the real loader, an analyst of each, a staff admin, and BETA's API
and SSH keys. One ``jdx serve`` subprocess (free ports of 127.0.0.1, stopped by its PID) and one
Chromium serve the whole module. Refusals are checked from outside the browser too: with httpx
holding ALPHA's session cookie, tampered URLs and Dash callbacks POSTed straight to
``/_dash-update-component`` with BETA's ids. Acts are checked in the audit chain
(``jdx audit show --json``).

Screenshots of every portal and console page (and the public landing page with a login) go to
``tests/artifacts/dashboards/`` (git-ignored; ``JDX_TEST_ARTIFACTS`` moves them).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_support import chromium, needs_chromium, wait_for
from dashboard_data import JDX, environment
from portal_data import PASSWORD, USERS, Prepared, prepare, ssh_public_key

pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = (
    Path(os.environ.get("JDX_TEST_ARTIFACTS") or REPO / "tests" / "artifacts") / "dashboards"
)
PORTAL = ("portal", "portal/quality", "portal/usage", "portal/keys")
CONSOLE = ("console", "console/quality", "console/lookups", "console/releases", "console/members")


@dataclass
class Site:
    url: str  # .../dashboards/
    base: str  # http://127.0.0.1:port
    data: Prepared
    proc: subprocess.Popen[str]

    def audit(self, limit: int = 200) -> list[dict[str, Any]]:
        done = subprocess.run([*JDX, "audit", "show", "--json", "--limit", str(limit)],
                              env=environment(self.data.home), capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        return list(doc["entries"] if isinstance(doc, dict) else doc)


def serve(prepared: Prepared) -> Site:
    """A ``jdx serve`` of the prepared home on free ports of 127.0.0.1, once it serves."""
    log = (prepared.home / "serve.log").open("a")  # the server's own log, to read on failure
    proc = subprocess.Popen(
        [*JDX, "serve"], env=environment(prepared.home), stdout=subprocess.PIPE,
        stderr=log, text=True,
    )  # fmt: skip
    url, said = "", []
    assert proc.stdout is not None
    for line in proc.stdout:
        said.append(line.rstrip())
        if found := re.match(r"dashboards: (http://127\.0\.0\.1:\d+)/dashboards/ ", line):
            url = found.group(1)
        if line.startswith("serving"):
            break
    log.close()
    if not url or not any(line.startswith("member portal: ") for line in said):
        stop(proc)
        pytest.fail(f"jdx serve did not start: {said}")
    return Site(f"{url}/dashboards/", url, prepared, proc)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)  # only if it did not stop: this test's own process
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    running = serve(prepare(tmp_path_factory.mktemp("portal") / "home"))
    try:
        yield running
    finally:
        stop(running.proc)  # the last one: a test may have restarted the server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = chromium("1280,1800")
    try:
        yield driver
    finally:
        driver.quit()


def rendered(browser: Any) -> bool:
    return bool(
        browser.execute_script(
            "const p = document.getElementById('page');"
            "if (!p || !p.children.length || document.querySelector('[data-dash-is-loading]'))"
            "  return false;"
            "const g = p.querySelectorAll('.js-plotly-plot');"
            "return Array.from(g).every(e => e._fullData) && "
            "document.querySelectorAll('#page .dash-graph').length === g.length;"
        )
    )


def severe(browser: Any) -> list[dict[str, Any]]:
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def shoot(browser: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{name.replace('/', '-')}.png"))


def text(browser: Any) -> str:
    return str(browser.find_element("id", "page").text)


def browser_login(browser: Any, site: Site, who: str, next_path: str = "") -> None:
    browser.delete_all_cookies()
    browser.get(site.url + "login" + (f"?next=/dashboards/{next_path}" if next_path else ""))
    browser.find_element("id", "username").send_keys(USERS[who])
    browser.find_element("id", "password").send_keys(PASSWORD[who])
    browser.find_element("id", "login-submit").click()
    wait_for(lambda: "/login" not in browser.current_url, what="the login to go through")


@contextmanager
def client_login(site: Site, who: str) -> Iterator[httpx.Client]:
    """An HTTP client holding ``who``'s session cookie (logged in through the form)."""
    c = httpx.Client(base_url=site.base, follow_redirects=False, timeout=60)
    form = c.get("/dashboards/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    done = c.post("/dashboards/login", data={"username": USERS[who], "password": PASSWORD[who],
                                             "csrf": token.group(1), "next": ""})  # fmt: skip
    assert done.status_code == 303, done.text
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboards/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback ([dashboards] cookie_secure = auto)
    try:
        yield c
    finally:
        c.close()


def callback(c: httpx.Client, outputs: list[tuple[str, str]], inputs: list[Any],
             changed: str, state: list[Any]) -> httpx.Response:  # fmt: skip
    """POST one Dash callback request as the renderer would (outputs, inputs, state)."""
    many = len(outputs) > 1
    body = {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
        if many
        else f"{outputs[0][0]}.{outputs[0][1]}",
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if many
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": inputs,
        "changedPropIds": [changed],
        "state": state,
    }
    return c.post("/dashboards/_dash-update-component", json=body)


def revoke_request(c: httpx.Client, kind: str, key: str) -> httpx.Response:
    trigger = {"key": key, "kind": kind, "type": "key-revoke"}
    return callback(
        c, [("keys-message", "children"), ("keys-list", "children")],
        [[{"id": trigger, "property": "n_clicks", "value": 1}],
         {"id": "issue-key", "property": "n_clicks", "value": None},
         {"id": "add-ssh-key", "property": "n_clicks", "value": None}],
        json.dumps(trigger, separators=(",", ":"), sort_keys=True) + ".n_clicks",
        [{"id": "issue-products", "property": "value", "value": []},
         {"id": "issue-label", "property": "value", "value": None},
         {"id": "ssh-public-key", "property": "value", "value": None}],
    )  # fmt: skip


def page_request(c: httpx.Client, path: str) -> httpx.Response:
    return callback(
        c, [("page", "children")],
        [{"id": "url", "property": "pathname", "value": f"/dashboards/{path}"},
         {"id": "release", "property": "value", "value": None},
         {"id": "lang", "property": "value", "value": "en"}],
        "url.pathname", [],
    )  # fmt: skip


def member_act_request(c: httpx.Client, act: str, code: str) -> httpx.Response:
    trigger = {"act": act, "code": code, "type": "member-act"}
    return callback(
        c, [("members-message", "children"), ("members-list", "children")],
        [[{"id": trigger, "property": "n_clicks", "value": 1}]],
        json.dumps(trigger, separators=(",", ":"), sort_keys=True) + ".n_clicks",
        [{"id": "suspend-reason", "property": "value", "value": "test"}],
    )  # fmt: skip


def test_logged_out_browser_is_sent_to_login_and_sees_public_pages_only(
    site: Site, browser: Any
) -> None:
    browser.delete_all_cookies()
    for path in (*PORTAL, *CONSOLE):
        browser.get(site.url + path)
        wait_for(lambda: "/dashboards/login" in browser.current_url, what=f"{path} → login")
        assert f"next=/dashboards/{path}" in browser.current_url.replace("%2F", "/")
    shoot(browser, "login")
    browser.get(site.url)
    wait_for(lambda: rendered(browser), what="the public landing page")
    assert browser.find_element("id", "login").text == "Log in"
    assert not browser.find_elements("id", "to-portal")
    assert not browser.find_elements("id", "to-console")
    assert severe(browser) == []
    # the callbacks refuse without a session: the page says log in, acts are 403
    c = httpx.Client(base_url=site.base, timeout=60)
    answer = page_request(c, "portal/keys")
    assert answer.status_code == 200 and "login-link" in answer.text
    assert "BETA" not in answer.text and "ALPHA" not in answer.text
    assert revoke_request(c, "api", site.data.beta_key_id).status_code == 403
    assert member_act_request(c, "suspend", "BETA").status_code == 403
    assert c.get("/dashboards/portal/statement/2026-01.csv").status_code == 303


def test_failed_logins_are_audited_then_limited(site: Site) -> None:
    failed = ("dashboards.login_failed", f"user:{USERS['beta']}")
    before = [(e["action"], e["object"]) for e in site.audit()].count(failed)
    c = httpx.Client(base_url=site.base, timeout=60)
    codes = []
    for _ in range(6):
        form = c.get("/dashboards/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        done = c.post("/dashboards/login", data={"username": USERS["beta"], "password": "x" * 12,
                                                 "csrf": token.group(1), "next": ""})  # fmt: skip
        codes.append(done.status_code)
    assert codes == [401] * 5 + [429], codes
    # a form without its cookie's token is refused before any password check
    bare = httpx.Client(base_url=site.base, timeout=60)
    forged = bare.post(
        "/dashboards/login",
        data={"username": USERS["alpha"], "password": PASSWORD["alpha"], "csrf": "x"},
    )
    assert forged.status_code == 400
    acts = [(e["action"], e["object"]) for e in site.audit()]
    assert acts.count(failed) == before + 5
    assert ("dashboards.login_limited", f"user:{USERS['beta']}") in acts
    assert not any(PASSWORD["beta"] in json.dumps(e) for e in site.audit())


def test_member_portal_pages_in_the_browser(site: Site, browser: Any) -> None:
    browser_login(browser, site, "alpha", "portal/quality")
    assert browser.current_url.endswith("/dashboards/portal/quality")  # back where it was sent
    for path in PORTAL:
        browser.get(site.url + path)
        wait_for(lambda: rendered(browser), what=f"page {path}")
        page = text(browser)
        assert "Member portal · ALPHA" in page
        assert "BETA" not in page and "Beta" not in page
        shoot(browser, path)
    assert severe(browser) == [], severe(browser)
    browser.get(site.url + "portal")
    wait_for(lambda: rendered(browser))
    table = browser.find_element("id", "submissions").text
    assert "ALPHA_" in table and "partially_accepted" in table
    browser.get(site.url + "portal/quality")
    wait_for(lambda: rendered(browser))
    rules = browser.find_element("id", "rejections-by-rule").text
    assert re.search(r"\b2\b", rules), rules  # two records with a bad five-class code
    assert "five_class" in browser.find_element("id", "rejections-by-field").text
    hist = browser.execute_script(
        "return document.querySelector('#dq-industry .js-plotly-plot').data[0].x"
    )
    assert len(hist) == 2  # ALPHA's and BETA's scores, unnamed
    # issue an API key: the token is shown once; then revoke it, both audited under the user
    browser.get(site.url + "portal/keys")
    wait_for(lambda: rendered(browser))
    browser.find_element("id", "issue-key").click()
    token = wait_for(lambda: browser.find_elements("id", "new-token"), what="the new token")
    assert len(token[0].text) > 20
    browser.execute_script(  # the screenshot CI keeps shows no token, even a test one
        "const t = document.getElementById('new-token'); t.textContent = "
        "t.textContent.slice(0, 17) + '…';"
    )
    shoot(browser, "portal-keys-issued")
    key_id = re.search(r"API key (\w+) issued", browser.find_element("id", "keys-message").text)
    assert key_id
    browser.find_element(
        "css selector", f'button[id*=\'"key":"{key_id.group(1)}"\']'
    ).click()  # the id of a pattern-matching component is its JSON
    wait_for(lambda: "revoked" in browser.find_element("id", "keys-message").text)
    browser.find_element("id", "ssh-public-key").send_keys(ssh_public_key("alpha@test"))
    browser.find_element("id", "add-ssh-key").click()
    wait_for(lambda: browser.find_elements("id", "key-done"), what="the SSH key added")
    assert severe(browser) == []
    acts = {(e["action"], e["actor"]) for e in site.audit()}
    for act in ("key.issue_api", "key.revoke_api", "key.add_ssh", "dashboards.login"):
        assert (act, USERS["alpha"]) in acts, act
    # statement download (CSV) is the member's own
    with client_login(site, "alpha") as c:
        statement = c.get("/dashboards/portal/statement/2026-01.csv")
        assert statement.status_code == 200
        assert statement.text.splitlines()[1].startswith("ALPHA,")


def test_member_never_reaches_another_members_data(site: Site) -> None:
    with client_login(site, "alpha") as c:
        # tampered URLs: BETA's receipt, a member parameter, the console
        assert c.get(f"/dashboards/portal/receipt/{site.data.beta_load_id}.json").status_code == 403
        own = c.get(f"/dashboards/portal/receipt/{site.data.alpha_load_id}.json")
        assert own.status_code == 200 and own.json()["load_id"] == site.data.alpha_load_id
        other = c.get("/dashboards/portal/statement/2026-01.csv?member=BETA")
        assert other.status_code == 200 and "BETA" not in other.text
        for path in PORTAL:
            answer = page_request(c, path)
            assert answer.status_code == 200 and "ALPHA" in answer.text
            assert "BETA" not in answer.text and site.data.beta_key_id not in answer.text
        for path in CONSOLE:
            answer = page_request(c, path)
            assert "wrong-area" in answer.text and "BETA" not in answer.text
        # callbacks POSTed directly with BETA's ids
        assert revoke_request(c, "api", site.data.beta_key_id).status_code == 403
        assert revoke_request(c, "ssh", site.data.beta_ssh).status_code == 403
        assert member_act_request(c, "suspend", "BETA").status_code == 403
    listed = subprocess.run([*JDX, "key", "list", "BETA"], env=environment(site.data.home),
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    row = [line for line in listed.stdout.splitlines() if site.data.beta_key_id in line]
    assert len(row) == 1 and row[0].split()[-1] == "-", listed.stdout  # REVOKED: none
    refused = [e for e in site.audit() if e["action"] == "dashboards.refused"]
    assert len(refused) >= 4 and all(e["actor"] == USERS["alpha"] for e in refused[-4:])


def test_staff_console_pages_and_acts_in_the_audit_chain(site: Site, browser: Any) -> None:
    refused = httpx.post(f"{site.base}/v1/multi-loan", json={}, timeout=60)  # no API key
    assert refused.status_code == 401
    browser_login(browser, site, "staff")
    assert browser.current_url.endswith("/dashboards/console")
    for path in CONSOLE:
        browser.get(site.url + path)
        wait_for(lambda: rendered(browser), what=f"page {path}")
        assert "Operations console · ops.admin" in text(browser)
        shoot(browser, path)
    assert severe(browser) == [], severe(browser)
    browser.get(site.url + "console")
    wait_for(lambda: rendered(browser))
    grid = browser.find_element("id", "files-grid").text
    assert "ALPHA" in grid and "BETA" in grid and "missing" in grid
    alpha = [line for line in grid.splitlines() if line.startswith("ALPHA")]
    assert alpha and "late" in alpha[0] and "✓" in alpha[0], grid
    browser.get(site.url + "console/lookups")
    wait_for(lambda: rendered(browser))
    meter = browser.find_element("id", "lookup-meter").text
    assert re.search(r"AUTH_REQUIRED \(401\): [1-9]", meter), meter  # the refused lookup
    browser.get(site.url + "console/quality")
    wait_for(lambda: rendered(browser))
    league = browser.find_element("id", "dq-league").text
    assert "ALPHA" in league and "BETA" in league
    # the public landing page shows who is logged in
    browser.get(site.url)
    wait_for(lambda: rendered(browser))
    assert browser.find_element("id", "whoami").text == USERS["staff"]
    shoot(browser, "public-logged-in")
    # suspend and reinstate BETA
    browser.get(site.url + "console/members")
    wait_for(lambda: rendered(browser))
    browser.find_element("id", "suspend-reason").send_keys("files missing for a week")
    browser.find_element("css selector", 'button[id*=\'"code":"BETA"\']').click()
    wait_for(lambda: "BETA suspended" in browser.find_element("id", "members-message").text)
    shoot(browser, "console-members-suspended")
    browser.find_element("css selector", 'button[id*=\'"code":"BETA"\']').click()
    wait_for(lambda: "BETA reinstated" in browser.find_element("id", "members-message").text)
    # one click builds a release (2025-03: the figures are unchanged, nothing new is written)
    browser.get(site.url + "console/releases")
    wait_for(lambda: rendered(browser))
    assert "2025-03" in browser.find_element("id", "release-list").text
    browser.find_element("id", "build-month").send_keys("2025-03")
    browser.find_element("id", "build-release").click()
    status = wait_for(
        lambda: re.search(r": (done|failed)\n", browser.find_element("id", "build-status").text),
        timeout=300, what="the build to finish",
    )  # fmt: skip
    shoot(browser, "console-releases-built")
    assert status.group(1) == "done", browser.find_element("id", "build-status").text
    assert severe(browser) == [], severe(browser)
    acts = [(e["action"], e["actor"], e["object"]) for e in site.audit()]
    staff = USERS["staff"]
    assert ("member.suspend", staff, "member:BETA") in acts
    assert ("member.reinstate", staff, "member:BETA") in acts
    assert ("admin.report_build", staff, "command:report.build") in acts
    # an analyst's session cannot build
    with client_login(site, "alpha") as c:
        build = callback(c, [("build-job", "data"), ("build-poll", "disabled")],
                         [{"id": "build-release", "property": "n_clicks", "value": 1}],
                         "build-release.n_clicks",
                         [{"id": "build-month", "property": "value", "value": None}])  # fmt: skip
        assert build.status_code == 403


def login_answer(site: Site, who: str) -> httpx.Response:
    """The answer to ``who``'s login form (not followed)."""
    c = httpx.Client(base_url=site.base, follow_redirects=False, timeout=60)
    form = c.get("/dashboards/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    return c.post("/dashboards/login", data={"username": USERS[who], "password": PASSWORD[who],
                                             "csrf": token.group(1), "next": ""})  # fmt: skip


def test_a_suspended_members_analysts_are_logged_out_at_once_and_refused_until_reinstated(
    site: Site, browser: Any
) -> None:
    browser_login(browser, site, "alpha", "portal/keys")
    wait_for(lambda: rendered(browser), what="ALPHA's keys page")
    with client_login(site, "alpha") as analyst, client_login(site, "staff") as staff:
        assert "ALPHA" in page_request(analyst, "portal").text
        # the console's suspend act (the callback the members page's button sends)
        suspended = member_act_request(staff, "suspend", "ALPHA")
        assert suspended.status_code == 200 and "ALPHA suspended" in suspended.text
        try:
            # the open sessions end at their next request: a page says log in, an act is 403
            answer = page_request(analyst, "portal")
            assert "login-link" in answer.text and "ended=DSH001" in answer.text
            assert "ALPHA_" not in answer.text
            assert revoke_request(analyst, "api", "0" * 26).status_code == 403
            assert analyst.get("/dashboards/portal").status_code == 303  # the session is gone
            browser.get(site.url + "portal/keys")
            wait_for(lambda: "/dashboards/login" in browser.current_url, what="sent to login")
            message = browser.find_element("id", "login-error").text
            assert message.startswith("DSH001") and "suspended" in message, message
            # a new login is refused with the code and says why
            refused = login_answer(site, "alpha")
            assert refused.status_code == 403
            assert "jdx_session=" not in refused.headers.get("set-cookie", "")
            assert "DSH001: member ALPHA is suspended" in refused.text
            assert "member portal" in refused.text
            # staff are not affected
            assert "Operations console" in page_request(staff, "console/members").text
        finally:
            reinstated = member_act_request(staff, "reinstate", "ALPHA")
            assert "ALPHA reinstated" in reinstated.text
    assert login_answer(site, "alpha").status_code == 303  # reinstating restores the login
    acts = [(e["action"], e["actor"], e.get("details") or {}) for e in site.audit()]
    ended = [d for a, who, d in acts if a == "dashboards.session_ended" and who == USERS["alpha"]]
    assert len(ended) >= 2 and all(d["code"] == "DSH001" for d in ended), ended
    assert any(a == "dashboards.login_refused" and d.get("code") == "DSH001"
               for a, _, d in acts)  # fmt: skip


def test_a_user_removed_from_the_registry_is_logged_out_at_once(site: Site) -> None:
    """The registry has no command that removes or disables a user; the test deletes the row
    with SQL, as an administrator of the registry database would."""
    from dashboard_data import settings_for
    from sqlalchemy import text as sql

    from exchange.registry import db as registry_db

    with client_login(site, "gone") as c:
        assert "ALPHA" in page_request(c, "portal").text
        with settings_for(site.data.home) as settings:
            with registry_db.session(settings.registry_url) as db:
                db.execute(sql("DELETE FROM users WHERE username = :u"), {"u": USERS["gone"]})
            registry_db.dispose(settings.registry_url)
        answer = page_request(c, "portal")
        assert "login-link" in answer.text and "ended=DSH003" in answer.text
    assert login_answer(site, "gone").status_code == 401
    assert any(e["action"] == "dashboards.session_ended" and e["actor"] == USERS["gone"]
               and e["details"]["code"] == "DSH003" for e in site.audit())  # fmt: skip


def test_lookup_refusals_and_latency_survive_a_restart_and_show_on_the_console(
    site: Site, browser: Any
) -> None:
    for _ in range(3):  # a key that is no key: refused with AUTH_INVALID
        answer = httpx.post(f"{site.base}/v1/multi-loan", json={}, timeout=60,
                            headers={"Authorization": "Bearer jdx_not_a_key"})  # fmt: skip
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "AUTH_INVALID"
    from dashboard_data import settings_for

    from exchange import registry
    from exchange.registry import db as registry_db

    with settings_for(site.data.home) as settings:
        with registry_db.session(settings.registry_url) as db:
            _key, token = registry.issue_api_key(db, "BETA", ["multi_loan"], actor="test")
        registry_db.dispose(settings.registry_url)
    for _ in range(2):  # BETA's own key, a body that is not a lookup: refused, counted for BETA
        answer = httpx.post(f"{site.base}/v1/multi-loan", json={}, timeout=60,
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "ID_TYPE"
    with client_login(site, "staff") as c:
        before = page_request(c, "console/lookups").text
    assert "AUTH_INVALID (401): 3" in before, before
    # stop the server (its meter writes what it holds) and start another on the same home
    stop(site.proc)
    restarted = serve(site.data)
    site.url, site.base, site.proc = restarted.url, restarted.base, restarted.proc
    browser_login(browser, site, "staff", "console/lookups")
    wait_for(lambda: rendered(browser), what="the lookups page after the restart")
    meter = browser.find_element("id", "lookup-meter").text
    assert "AUTH_INVALID (401): 3" in meter, meter
    assert "AUTH_REQUIRED (401): 1" in meter, meter  # the staff test's request without a key
    requests, answered, *_rest, median, p95 = meter.splitlines()[-1].split()
    assert requests == "6" and answered == "0", meter
    assert float(median) > 0 and float(p95) >= float(median), meter  # latency, kept too
    members = browser.find_element("id", "lookup-meter-members").text
    assert "(key not recognised)" in members, members
    (beta,) = [line for line in members.splitlines() if line.startswith("BETA")]
    assert "ID_TYPE (422): 2" in beta and "AUTH" not in beta, members
    shoot(browser, "console-lookups-after-restart")
    assert severe(browser) == [], severe(browser)


def pick_language(browser: Any, label: str) -> None:
    """Click the header's 中文/English switch (a radio input inside its label)."""
    browser.find_element("xpath", f"//div[@id='lang']//label[normalize-space()='{label}']").click()


def headings(browser: Any) -> list[str]:
    """The page's section headings (read in the page: a redraw may replace them meanwhile)."""
    return list(browser.execute_script(
        "return Array.from(document.querySelectorAll('#page h3')).map(e => e.innerText)"
    ))  # fmt: skip


def text_of(browser: Any, element_id: str) -> str:
    """An element's text, '' while it is missing (being redrawn)."""
    return str(browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText : ''",
        element_id,
    ))  # fmt: skip


def test_portal_and_console_in_chinese_and_the_switch_stays_for_the_session(
    site: Site, browser: Any
) -> None:
    browser_login(browser, site, "alpha", "portal/quality")
    wait_for(lambda: rendered(browser), what="the portal's quality page")
    pick_language(browser, "中文")
    wait_for(lambda: text_of(browser, "portal-title") == "会员门户 · ALPHA",
             what="the portal in Chinese")  # fmt: skip
    wait_for(lambda: rendered(browser))
    assert headings(browser) == ["按规则统计的问题记录", "按字段统计的问题记录",
                                 "数据质量得分与行业对比", "如何提升"], headings(browser)  # fmt: skip
    assert text_of(browser, "to-portal") == "会员门户"
    assert text_of(browser, "logout") == "退出登录"
    assert "规则" in text_of(browser, "rejections-by-rule")
    shoot(browser, "portal-quality-zh")
    # the choice stays for the session: another page, a reload, an act's answer
    browser.get(site.url + "portal/keys")
    wait_for(lambda: rendered(browser))
    assert text_of(browser, "portal-title") == "会员门户 · ALPHA"
    assert headings(browser) == ["贵机构的密钥", "签发API密钥", "添加SSH密钥"], headings(browser)
    browser.find_element("id", "ssh-public-key").send_keys(ssh_public_key("alpha-zh@test"))
    browser.find_element("id", "add-ssh-key").click()
    done = wait_for(lambda: browser.find_elements("id", "key-done"), what="the SSH key added")
    assert done[0].text.startswith("已添加SSH密钥"), done[0].text
    # the console in Chinese (the same browser tab: the switch is still on 中文)
    browser_login(browser, site, "staff", "console/members")
    wait_for(lambda: rendered(browser))
    wait_for(lambda: text_of(browser, "console-title").startswith("运营控制台"),
             what="the console in Chinese")  # fmt: skip
    assert headings(browser) == ["会员"], headings(browser)
    assert "暂停" in text_of(browser, "members-table")
    shoot(browser, "console-members-zh")
    browser.get(site.url + "console/lookups")
    wait_for(lambda: rendered(browser))
    assert headings(browser) == ["查询量", "拒绝与延迟"], headings(browser)
    assert "中位数（毫秒）" in text_of(browser, "lookup-meter")
    assert severe(browser) == [], severe(browser)
    pick_language(browser, "English")
    wait_for(lambda: headings(browser) == ["Lookup volume", "Refusals and latency"],
             what="English again")  # fmt: skip
