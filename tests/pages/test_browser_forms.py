"""The generated forms in a real browser: a requester corrects an invalid field without typing the rest again and the
agent finds the new ticket in the queue; a field added to a type's YAML shows up in the form after regeneration."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import require_modules

require_modules("Playwright", "playwright")

import sqlalchemy as sa  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402 - only once the module is known to be installed

import cli  # noqa: E402
from tests.pages.browser import (  # noqa: E402
    AGENT,
    OTHER_AGENT,
    PASSWORD,
    REQUESTER,
    LiveDesk,
    Shots,
    give_passwords,
    serving,
    sign_in,
)
from tests.tickets.service_fixtures import migrated_desk  # noqa: E402

EXPECTED_FORMAT = "This does not have the expected format."


def test_requester_corrects_an_invalid_field_and_the_agent_sees_the_new_ticket(page: Page, live_desk: LiveDesk,
                                                                               shots: Shots) -> None:
    page.goto(live_desk.url("/forms"))
    page.get_by_role("link", name="IT support", exact=True).click()
    expect(page.get_by_role("heading", name="IT support", level=1)).to_be_visible()
    form_url = page.url

    title = "Second monitor flickers on the docking station"
    description = "Since Monday the right-hand monitor goes black for a second every few minutes."
    page.get_by_label("Your email address").fill(REQUESTER)
    page.get_by_label("Your name").fill("Maria Lopez")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Category").select_option(label="Hardware")
    page.get_by_label("Operating system").select_option(label="Windows")
    page.get_by_label("Software involved").fill("Teams, DisplayLink")
    asset = page.get_by_label("Asset number")
    asset.fill("laptop 7")

    # The browser's own hint comes first: the field's pattern keeps the form from being sent.
    page.get_by_role("button", name="Submit").click()
    assert asset.evaluate("field => field.validity.patternMismatch") is True
    assert page.url == form_url

    # A browser that does not check (or a hand-made post) meets the same rule on the server.
    page.locator("form.generated").evaluate("form => { form.noValidate = true; }")
    with page.expect_response(form_url) as answer:
        page.get_by_role("button", name="Submit").click()
    assert answer.value.status == 422
    asset = page.get_by_label("Asset number")
    expect(asset).to_have_attribute("aria-invalid", "true")
    expect(asset).to_have_accessible_description(re.compile(re.escape(EXPECTED_FORMAT)))
    expect(page.get_by_role("alert")).to_contain_text(f"Asset number: {EXPECTED_FORMAT}")
    # Everything typed is still there, the wrong value too, so that only it needs changing.
    expect(asset).to_have_value("laptop 7")
    expect(page.get_by_label("Your email address")).to_have_value(REQUESTER)
    expect(page.get_by_label("Your name")).to_have_value("Maria Lopez")
    expect(page.get_by_label("Title")).to_have_value(title)
    expect(page.get_by_label("Description")).to_have_value(description)
    expect(page.get_by_label("Category")).to_have_value("hardware")
    expect(page.get_by_label("Operating system")).to_have_value("windows")
    expect(page.get_by_label("Software involved")).to_have_value(re.compile(r"Teams, ?DisplayLink"))
    shots.take(page, "form-error", phone=True)

    asset.fill("LT-004712")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("IT support")
    shots.take(page, "form-received")
    stored = live_desk.scalar("SELECT e.asset_number FROM tickets t JOIN ticket_it_support e ON e.ticket_id = t.id "
                              "WHERE t.title = :t", t=title)
    assert stored == "LT-004712"

    # The requester finds it among their requests in the portal, the agent in the queue.
    sign_in(page, live_desk, REQUESTER)
    expect(page.get_by_role("heading", name="My requests", level=1)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=title)).to_contain_text("New")
    shots.take(page, "portal", phone=True)

    page.context.clear_cookies()
    sign_in(page, live_desk, AGENT)
    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.locator("[data-field=asset_number]")).to_contain_text("LT-004712")


FIELD = """  docking_station:
    kind: string
    label: {en: Docking station model, de: Dockingstation-Modell}
    help: {en: "The model name on the dock, e.g. WD19S", de: "Der Modellname auf der Dockingstation, z. B. WD19S"}
    max_length: 60
"""


def run_cli(root: Path, database: str, *args: str) -> None:
    """The command as typed, in this process (the interpreter's start and imports would double its time)."""
    assert cli.main(["--root", str(root), "--database-url", database, *args]) == 0, f"cli.py {' '.join(args)}"


def test_a_field_added_to_the_yaml_appears_in_the_form_after_regeneration(page: Page, tmp_path: Path,
                                                                          shots: Shots) -> None:
    database = f"sqlite:///{tmp_path / 'tessera.db'}"
    root, compiled, engine = migrated_desk(tmp_path, database)
    give_passwords(compiled, engine)
    with engine.begin() as connection:  # an administrator, who may read the compiled definitions
        connection.exec_driver_sql("""UPDATE agents SET roles = '["agent", "admin"]' WHERE username = 'chen'""")
    engine.dispose()
    definition = root / "ticket_types" / "it_support.yaml"
    text = definition.read_text(encoding="utf-8")
    text = text.replace("fields:\n", "fields:\n" + FIELD, 1)
    text = text.replace("fields: [asset_number, ", "fields: [asset_number, docking_station, ", 1)
    definition.write_text(text, encoding="utf-8")
    run_cli(root, database, "generate", "-m", "docking station")
    run_cli(root, database, "migrate")
    assert list((root / "generated" / "migrations").glob("*docking_station*.py")), "no migration was written"

    with serving(root, database, tmp_path / "serve.log") as base:
        page.goto(base + "/forms/it_support")
        dock = page.get_by_role("group", name="Device").get_by_label("Docking station model")
        expect(dock).to_be_visible()
        expect(dock).to_have_accessible_description("The model name on the dock, e.g. WD19S")
        expect(dock).to_have_attribute("maxlength", "60")
        page.get_by_label("Your email address").fill(REQUESTER)
        page.get_by_label("Title").fill("Dock does not charge the laptop")
        dock.fill("WD19S")
        shots.take(page, "form-with-new-field")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("heading", name="Thank you", level=1)).to_be_visible()

        page.goto(base + "/forms/it_support")
        page.get_by_label("Language").select_option("de")
        expect(page.get_by_label("Dockingstation-Modell")).to_be_visible()
        page.get_by_label("Sprache").select_option("en")
        expect(page.locator("html")).to_have_attribute("lang", "en")

        # The admin view reads the same compiled definitions: the field is in the type, the database current.
        page.goto(base + "/login")
        page.get_by_label("User name or email").fill(OTHER_AGENT)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
        expect(page.get_by_role("heading", name="Admin", level=1)).to_be_visible()
        expect(page.locator("#schema-revision")).to_contain_text("the latest")
        shots.take(page, "admin")
        page.get_by_role("region", name="Ticket types").get_by_role("link", name="IT support").click()
        expect(page.get_by_role("region", name="Fields").get_by_role("row").filter(
            has_text="docking_station")).to_contain_text("Docking station model")
        shots.take(page, "admin-type")

    with engine.connect() as connection:
        stored = [row.docking_station for row in connection.execute(
            sa.text("SELECT e.docking_station FROM ticket_it_support e JOIN tickets t ON t.id = e.ticket_id "
                    "WHERE t.title = 'Dock does not charge the laptop'"))]
    assert stored == ["WD19S"]
