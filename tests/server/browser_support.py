"""Helpers for the Chromium tests: the phone's viewport, pairing, console
watching, and the checks every screen must pass."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page
from server_support import REPO, ServerProcess

IMG = REPO / "docs" / "img"
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                         "is_mobile": True, "has_touch": True}


class Watch:
    """Console errors and uncaught exceptions of one page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def pair(page: Page, server: ServerProcess, code: str) -> None:
    page.goto(f"{server.base_url}/")
    page.wait_for_selector("#pair-code", state="visible")
    page.fill("#pair-code", code)
    page.click("#pairing button[type=submit]")
    page.wait_for_selector(".pedal[data-slot=reverb]")
    page.wait_for_selector("#link:text('connected')")


def open_card(page: Page, slot: str) -> None:
    name = page.locator(f".pedal[data-slot={slot}] .pedal-name")
    if name.get_attribute("aria-expanded") != "true":
        name.click()


def show_panel(page: Page, panel: str) -> None:
    page.click(f".tabs button[data-panel=panel-{panel}]")
    page.wait_for_selector(f"#panel-{panel}", state="visible")


def assert_fits_the_screen(page: Page, width: int) -> None:
    """Nothing sticks out sideways: a wider page makes a phone zoom out and
    puts the fixed tab bar out of reach of the thumb."""
    too_wide = page.evaluate("""(width) => [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > width + 1)
        .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`).slice(0, 5)""", width)
    assert too_wide == [], f"wider than {width} px: {too_wide}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
