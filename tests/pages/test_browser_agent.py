"""The agent's day in a real browser: filter the queue, open a ticket from the keyboard, reply, move it through the
workflow, and see the service-level clocks and the timeline follow."""

from __future__ import annotations

import re

from tests.conftest import require_modules

require_modules("Playwright", "playwright")

from playwright.sync_api import Locator, Page, expect  # noqa: E402 - only once the module is known to be installed

from tests.pages.browser import AGENT, LiveDesk, Shots, sign_in  # noqa: E402

TICKET = "Laptop shows a blue screen after the update"  # the demo's P1 IT ticket, in progress, assigned to alex
OTHER_P1 = "Charged twice for one order"  # a P1 customer complaint
OTHER_IT = "Cannot connect to the VPN from home"  # a P2 IT ticket


def clock(page: Page, metric: str) -> Locator:
    return page.get_by_role("region", name="Service levels").get_by_role("listitem").filter(has_text=metric)


def timeline(page: Page) -> Locator:
    return page.get_by_role("region", name="Timeline").get_by_role("listitem").filter(
        has=page.locator("p.meta"))


def test_agent_filters_the_queue_replies_and_moves_a_ticket_through_the_workflow(
        page: Page, live_desk: LiveDesk, shots: Shots) -> None:
    sign_in(page, live_desk, AGENT)
    expect(page.get_by_role("heading", name="Queue", level=1)).to_be_visible()
    rows = page.get_by_role("row")
    expect(rows.filter(has_text=OTHER_IT)).to_have_count(1)

    # Each change of a filter reloads the results in place and puts the view in the address.
    page.get_by_label("Priority", exact=True).select_option("P1")
    page.wait_for_url(re.compile(r"priority=P1"))
    page.get_by_label("Type", exact=True).select_option(label="IT support")
    page.wait_for_url(re.compile(r"type=it_support"))
    expect(rows.filter(has_text=TICKET)).to_have_count(1)
    expect(rows.filter(has_text=OTHER_P1)).to_have_count(0)
    expect(rows.filter(has_text=OTHER_IT)).to_have_count(0)
    shots.take(page, "queue", phone=True)

    # The keyboard: j selects the next row, o opens it (keys typed into the filters stay there).
    page.get_by_role("heading", name="Queue", level=1).click()
    page.keyboard.press("j")
    expect(rows.filter(has_text=TICKET)).to_have_attribute("aria-current", "true")
    page.keyboard.press("o")
    expect(page.get_by_role("heading", name=TICKET, level=1)).to_be_visible()
    ticket_url = page.url
    expect(clock(page, "First response")).to_contain_text("Running")
    expect(clock(page, "Resolution")).to_contain_text("Running")
    entries = timeline(page).count()
    shots.take(page, "ticket", phone=True)

    # ? shows the shortcuts, Escape hides them; r goes to the reply, Ctrl+Enter sends it.
    page.keyboard.press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_visible()
    expect(shortcuts).to_contain_text("Write a public reply")
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()
    reply = "Please restart once more with the dock unplugged and tell us whether the blue screen comes back."
    page.keyboard.press("r")
    expect(page.get_by_label("Message to the requester")).to_be_focused()
    page.keyboard.type(reply)
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status").filter(has_text="The reply was sent.")).to_be_visible()
    expect(timeline(page).filter(has_text=reply)).to_contain_text("Public reply")
    expect(page.get_by_label("Message to the requester")).to_have_value("")
    expect(clock(page, "First response")).to_contain_text("Met")

    # Waiting for the requester pauses the resolution clock (the policy pauses in the paused category).
    page.get_by_role("button", name="Wait for requester").click()
    header = page.locator("#ticket-header")
    expect(header).to_contain_text("Waiting for requester")
    expect(clock(page, "Resolution")).to_contain_text("Paused")
    expect(page.get_by_role("button", name="Wait for requester")).to_have_count(0)

    page.get_by_role("button", name="Resolve").click()
    expect(header).to_contain_text("Resolved")
    expect(clock(page, "Resolution")).to_contain_text("Met")
    expect(page.get_by_role("button", name="Close", exact=True)).to_be_visible()
    assert timeline(page).count() >= entries + 3, "the reply and both moves belong in the timeline"
    expect(timeline(page).filter(has_text="Waiting for requester").first).to_be_visible()

    # The page as it is stored, not only as htmx patched it: a reload shows the same.
    page.goto(ticket_url)
    expect(page.locator("#ticket-header")).to_contain_text("Resolved")
    expect(timeline(page).filter(has_text=reply)).to_have_count(1)
    assert live_desk.scalar("SELECT status FROM tickets WHERE title = :t", t=TICKET) == "resolved"
    shots.take(page, "ticket-resolved")

    # alex is a supervisor: the dashboard's charts are drawn on the server, each with its figures as a table.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.locator("main svg").first).to_be_visible()
    shots.take(page, "dashboard", phone=True)
