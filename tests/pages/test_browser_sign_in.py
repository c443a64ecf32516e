"""Journeys in a real browser: signing in (a wrong password first), the interface in German, and forms that did
not come from a current page of the desk (another origin, a tampered token) refused with nothing changed."""

from __future__ import annotations

from html import escape

from tests.conftest import require_modules

require_modules("Playwright", "playwright")

from playwright.sync_api import Page, expect  # noqa: E402 - only once the module is known to be installed

from runtime.web.auth import SESSION_COOKIE  # noqa: E402
from tests.pages.browser import AGENT, OTHER_AGENT, PASSWORD, LiveDesk, Shots, other_origin, sign_in  # noqa: E402


def session_cookies(page: Page) -> list[str]:
    return [c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE and c["value"]]


def test_wrong_password_then_sign_in_and_switch_to_german(page: Page, live_desk: LiveDesk, shots: Shots) -> None:
    page.goto(live_desk.url("/login"))
    login = page.get_by_label("User name or email")
    login.fill(OTHER_AGENT)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()

    wrong = "The user name or the password is wrong."
    expect(page.get_by_role("alert")).to_have_text(wrong)
    # The error is tied to the field for screen readers, and what was typed in it is kept.
    expect(login).to_have_accessible_description(wrong)
    expect(login).to_have_value(OTHER_AGENT)
    expect(page.get_by_label("Password")).to_have_value("")
    assert not session_cookies(page)
    shots.take(page, "login-error", phone=True)

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_role("banner").get_by_text(OTHER_AGENT, exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue")).to_be_visible()

    page.get_by_label("Language").select_option("de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Warteschlange")).to_be_visible()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    assert live_desk.scalar("SELECT language FROM agents WHERE username = :u", u=OTHER_AGENT) == "de"
    shots.take(page, "german")

    # Signed out and without the language cookie, the sign-in page follows the browser (English); signing in
    # again brings back the language kept on the account.
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    page.context.clear_cookies()
    sign_in(page, live_desk, OTHER_AGENT)
    expect(page.get_by_role("link", name="Warteschlange")).to_be_visible()
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    expect(page.get_by_label("Benutzername oder E-Mail")).to_be_visible()
    expect(page.get_by_label("Passwort")).to_be_visible()


def forged(action: str, fields: dict[str, str]) -> str:
    """A page of another site with a form that posts ``fields`` to the desk, as an attacker would build it."""
    inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())
    return (f'<!doctype html><html lang="en"><title>Prize</title><form method="post" action="{escape(action)}">'
            f'{inputs}<button type="submit">Claim your prize</button></form></html>')


def test_forms_from_another_origin_or_with_a_tampered_token_are_refused(page: Page, live_desk: LiveDesk,
                                                                        shots: Shots) -> None:
    language_before = live_desk.scalar("SELECT language FROM agents WHERE username = :u", u=AGENT)
    sessions_before = live_desk.scalar("SELECT count(*) FROM web_sessions")
    ticket = live_desk.scalar("SELECT id FROM tickets WHERE title = :t", t="Cannot connect to the VPN from home")
    comments_before = live_desk.scalar("SELECT count(*) FROM comments")
    forgeries = {
        "/login": forged(live_desk.url("/login"), {"login": AGENT, "password": PASSWORD, "next": "/queue"}),
        "/language": forged(live_desk.url("/language"), {"language": "de", "next": "/queue"}),
        "/reply": forged(live_desk.url(f"/tickets/{ticket}/comments"),
                         {"public": "1", "body": "Please send your password to this address."}),
    }
    with other_origin(forgeries) as elsewhere:
        # Signing a visitor in to an account of the attacker's choosing (login CSRF): refused, no session.
        page.goto(elsewhere + "/login")
        with page.expect_response(live_desk.url("/login")) as answer:
            page.get_by_role("button", name="Claim your prize").click()
        assert answer.value.status == 403
        expect(page.get_by_role("alert")).to_have_text("The sign-in form has expired. Please try again.")
        assert not session_cookies(page)
        assert live_desk.scalar("SELECT count(*) FROM web_sessions") == sessions_before

        # Signed in, a form from the other site carries the session cookie (same site) but not the form's token.
        sign_in(page, live_desk, AGENT)
        page.goto(elsewhere + "/language")
        with page.expect_response(live_desk.url("/language")) as answer:
            page.get_by_role("button", name="Claim your prize").click()
        assert answer.value.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("The form has expired")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        shots.take(page, "csrf-rejected")

        page.goto(elsewhere + "/reply")  # a public reply in the agent's name
        with page.expect_response(live_desk.url(f"/tickets/{ticket}/comments")) as answer:
            page.get_by_role("button", name="Claim your prize").click()
        assert answer.value.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("The form has expired")
    assert live_desk.scalar("SELECT language FROM agents WHERE username = :u", u=AGENT) == language_before
    assert live_desk.scalar("SELECT count(*) FROM comments") == comments_before

    # The desk's own sign-out form with its token altered: refused, and the session lives on.
    page.goto(live_desk.url("/login"))  # a signed-in agent is sent on to their start page
    page.wait_for_url(lambda url: "/login" not in url)
    page.locator("form[action='/logout'] input[name=csrf_token]").evaluate("field => { field.value += 'x'; }")
    with page.expect_response(live_desk.url("/logout")) as answer:
        page.get_by_role("button", name="Sign out").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("The form has expired")
    page.goto(live_desk.url("/login"))
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
