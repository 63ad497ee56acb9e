"""The phone editor in real Chromium against a real pedal and web service.

What a player would check: pair with the code, turn a knob and the *engine*
moves (checked over the local control socket, not in the page), step on a
footswitch and the page follows, two phones agree, nothing logs an error.
Screenshots go to docs/img/ for docs/server.md.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from browser_support import (
    IMG,
    PHONE,
    Watch,
    assert_fits_the_screen,
    open_card,
    pair,
    show_panel,
)
from server_support import PedalProcess, ServerProcess, slot_of


def test_phone_pairs_turns_a_knob_and_follows_the_footswitch(
        browser: Any, server: ServerProcess, pedal: PedalProcess) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server.base_url}/")
    page.wait_for_selector("#pair-code", state="visible")
    page.fill("#pair-code", "000000" if pedal.pair_code() != "000000" else "111111")
    page.click("#pairing button[type=submit]")
    page.wait_for_selector("#pair-error:text('wrong pairing code')")
    watch.errors.clear()  # the refused attempt is a 401 the browser logs itself
    page.fill("#pair-code", "")
    page.screenshot(path=str(IMG / "ui-pairing.png"))
    pair(page, server, pedal.pair_code())

    # Turn the reverb's room size knob: drag the slider to ~80 % of its travel.
    client = pedal.client()
    before = slot_of(client.state(), "reverb")["params"]["room_size"]
    open_card(page, "reverb")
    slider = page.locator(".pedal[data-slot=reverb] input.slider[data-param=room_size]")
    box = slider.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * (before * 0.96 + 0.02), y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.8, y, steps=5)
    page.mouse.up()
    shown = page.locator(".pedal[data-slot=reverb] .param:has(input[data-param=room_size]) output")
    deadline = time.monotonic() + 10
    engine_value = before
    while time.monotonic() < deadline:
        engine_value = slot_of(client.state(), "reverb")["params"]["room_size"]
        if abs(engine_value - 0.8) < 0.05 and shown.text_content() == f"{engine_value:.2f}":
            break
        time.sleep(0.05)
    assert engine_value == pytest.approx(0.8, abs=0.05), "the engine's parameter did not move"
    assert shown.text_content() == f"{engine_value:.2f}"

    # Fine adjustment: one tap on "+" moves the engine by one small step.
    page.locator(".pedal[data-slot=reverb] .param:has(input[data-param=room_size]) .step").nth(1).tap()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stepped = slot_of(client.state(), "reverb")["params"]["room_size"]
        if stepped != engine_value:
            break
        time.sleep(0.05)
    assert 0 < stepped - engine_value < 0.02
    page.screenshot(path=str(IMG / "ui-board.png"))

    # A footswitch press (through the controller, as the hardware would) shows on the page.
    stomp = page.locator(".stomp[data-slot=reverb]")
    was_on = stomp.get_attribute("aria-pressed") == "true"
    page.evaluate("""() => {
        const stomp = document.querySelector('.stomp[data-slot=reverb]');
        window.__changedAt = null;
        new MutationObserver(() => {
            if (window.__changedAt === null) window.__changedAt = performance.timeOrigin + performance.now();
        }).observe(stomp, {attributes: true, attributeFilter: ['aria-pressed']});
    }""")
    sent_at_ms = time.time() * 1000.0
    assert client.request("press", switch="fs1")["type"] == "ack"
    page.wait_for_function("() => window.__changedAt !== null", timeout=10000)
    latency_ms = page.evaluate("() => window.__changedAt") - sent_at_ms
    print(f"footswitch press -> page changed in {latency_ms:.1f} ms")
    assert (stomp.get_attribute("aria-pressed") == "true") is (not was_on)
    assert slot_of(client.state(), "reverb")["bypass"] is was_on
    client.close()
    assert watch.errors == []
    context.close()


def test_two_phones_stay_in_sync_and_reorder_by_drag(
        browser: Any, server: ServerProcess, pedal: PedalProcess) -> None:
    phones = []
    for _ in range(2):
        context = browser.new_context(**PHONE)
        page = context.new_page()
        phones.append((context, page, Watch(page)))
        pair(page, server, pedal.pair_code())
    (_, first, _), (_, second, _) = phones

    open_card(second, "compressor")
    first.locator(".stomp[data-slot=chorus]").tap()
    client = pedal.client()
    chorus_bypass = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        chorus_bypass = slot_of(client.state(), "chorus")["bypass"]
        expected = "false" if chorus_bypass else "true"
        if second.locator(".stomp[data-slot=chorus]").get_attribute("aria-pressed") == expected:
            break
        time.sleep(0.05)
    expected = "false" if chorus_bypass else "true"
    assert second.locator(".stomp[data-slot=chorus]").get_attribute("aria-pressed") == expected

    # A change from the second phone shows on the first (the value and its unit).
    second.locator(".param:has(input[data-param=threshold_db]) .step").first.tap()
    value = second.locator(".param:has(input[data-param=threshold_db]) output")
    open_card(first, "compressor")
    first.wait_for_function(
        """(expected) => document.querySelector(
            '.pedal[data-slot=compressor] .param:has(input[data-param=threshold_db]) output')
            .textContent === expected""", arg=value.text_content(), timeout=10000)
    assert value.text_content().endswith(" dB")

    # Drag the last effect's handle to the top: the engine's chain is reordered.
    first.locator(".pedal[data-slot=compressor] .pedal-name").click()  # fold: all cards in view
    first.evaluate("() => window.scrollTo(0, 0)")
    order = [n["id"] for n in client.state()["chain"]]
    last = order[-1]
    handle = first.locator(f".pedal[data-slot={last}] .handle")
    top = first.locator(".pedal").first.bounding_box()
    start = handle.bounding_box()
    assert top is not None and start is not None
    first.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    first.mouse.down()
    first.mouse.move(start["x"] + start["width"] / 2, top["y"] + 8, steps=12)
    first.mouse.up()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.state()["chain"][0]["id"] != last:
        time.sleep(0.05)
    assert client.state()["chain"][0]["id"] == last
    second.wait_for_function(
        f"() => document.querySelector('.pedal').dataset.slot === '{last}'", timeout=10000)
    client.close()
    for context, _, watch in phones:
        assert watch.errors == []
        context.close()


def test_screens_at_phone_tablet_and_desktop(browser: Any, server: ServerProcess,
                                             pedal: PedalProcess) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    watch = Watch(page)
    pair(page, server, pedal.pair_code())
    assert_fits_the_screen(page, PHONE["viewport"]["width"])
    for panel, name in (("panel-presets", "presets"), ("panel-tuner", "tuner"),
                        ("panel-setup", "setup")):
        page.click(f".tabs button[data-panel={panel}]")
        page.wait_for_selector(f"#{panel}", state="visible")
        if panel == "panel-setup":
            page.wait_for_selector("#footswitches li:has-text('Reverb on/off')")
        if panel == "panel-presets":
            page.wait_for_selector("#library-list li")
        assert_fits_the_screen(page, PHONE["viewport"]["width"])
        if name != "setup":  # test_footswitch_mapping.py shows Setup with an assignment made
            page.screenshot(path=str(IMG / f"ui-{name}.png"))
    storage = context.storage_state()
    context.close()
    for size, name in (((820, 1180), "tablet"), ((1366, 900), "desktop")):
        wide = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                   storage_state=storage)
        page = wide.new_page()
        Watch(page)
        page.goto(f"{server.base_url}/")
        page.wait_for_selector(".pedal[data-slot=reverb]")
        if name == "desktop":  # every panel at once: wait for the lists to fill
            page.wait_for_selector("#library-list li")
            page.wait_for_selector("#footswitches li")
        assert_fits_the_screen(page, size[0])
        page.screenshot(path=str(IMG / f"ui-{name}.png"))
        wide.close()
    assert watch.errors == []


def test_presets_footswitch_preset_change_and_tuner(browser: Any, server: ServerProcess,
                                                    pedal: PedalProcess) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    watch = Watch(page)
    pair(page, server, pedal.pair_code())
    client = pedal.client()
    names = {p["id"]: p["name"] for p in client.state()["presets"]}
    order = list(names)

    def engine_preset() -> str:
        return client.state()["preset"]

    def header_shows(preset_id: str) -> None:
        page.wait_for_function("(name) => document.querySelector('#preset-name').textContent === name",
                               arg=names[preset_id], timeout=10000)

    start = engine_preset()
    page.click("#next-preset")
    expected = order[(order.index(start) + 1) % len(order)]
    header_shows(expected)
    assert engine_preset() == expected

    # Footswitch 2 is mapped to preset:next: the page follows the pedal.
    assert client.request("press", switch="fs2")["type"] == "ack"
    expected = order[(order.index(expected) + 1) % len(order)]
    header_shows(expected)
    assert engine_preset() == expected

    page.click(".tabs button[data-panel=panel-presets]")
    page.click(f"#preset-list button:has-text('{names[start]}')")
    header_shows(start)
    assert engine_preset() == start

    page.click(".tabs button[data-panel=panel-tuner]")
    page.click("#tuner-toggle")
    page.wait_for_selector("#tuner-toggle[aria-checked=true]")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not client.state()["tuner"]:
        time.sleep(0.05)
    assert client.state()["tuner"] is True
    page.click("#tuner-toggle")
    page.wait_for_selector("#tuner-toggle[aria-checked=false]")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.state()["tuner"]:
        time.sleep(0.05)
    assert client.state()["tuner"] is False
    client.close()
    assert watch.errors == []
    context.close()


def test_every_control_has_an_accessible_name(browser: Any, server: ServerProcess,
                                              pedal: PedalProcess) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    pair(page, server, pedal.pair_code())
    for slot in ("compressor", "reverb"):
        open_card(page, slot)
    # Render the lists that fill on demand: the library, a list being edited,
    # the footswitches, MIDI maps and paired devices.
    show_panel(page, "presets")
    page.wait_for_selector("#library-list li")
    page.click("#new-list")
    page.click("#list-add")
    page.wait_for_selector("#list-presets li")
    show_panel(page, "setup")
    page.wait_for_selector("#footswitches li")
    page.wait_for_selector("#devices li")
    show_panel(page, "board")
    unnamed = page.evaluate("""() => [...document.querySelectorAll('button, input, select, meter')]
        .filter((el) => {
            if (el.type === 'file') return false;
            const labelled = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                || (el.labels && el.labels.length) || el.textContent.trim();
            return !labelled;
        }).map((el) => el.outerHTML.slice(0, 120))""")
    assert unnamed == []
    # The reorder handle works from the keyboard too.
    client = pedal.client()
    # Two presses move the third card to the top: the focus stays on its
    # handle while the board re-renders.
    order = [n["id"] for n in client.state()["chain"]]
    third = order[2]
    page.focus(f".pedal[data-slot={third}] .handle")
    page.keyboard.press("ArrowUp")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.state()["chain"][1]["id"] != third:
        time.sleep(0.05)
    page.wait_for_selector(f".pedal:nth-child(2)[data-slot={third}] .handle:focus")
    page.keyboard.press("ArrowUp")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.state()["chain"][0]["id"] != third:
        time.sleep(0.05)
    assert [n["id"] for n in client.state()["chain"]] == [third, order[0], order[1], *order[3:]]
    page.wait_for_selector(f".pedal:first-child[data-slot={third}] .handle:focus")
    assert "position 1 of" in page.locator(f".pedal[data-slot={third}] .handle").get_attribute(
        "aria-label")
    client.close()
    context.close()


def test_offline_is_shown_and_the_page_reconnects(browser: Any) -> None:
    pedal = PedalProcess()
    server = ServerProcess(pedal.data_dir)
    restarted = None
    try:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        pair(page, server, pedal.pair_code())
        pedal.stop()
        page.wait_for_selector("#link.offline", timeout=15000)
        assert "offline" in page.locator("#link").text_content()
        assert page.evaluate("() => document.body.classList.contains('is-offline')")
        # No stale levels while the engine is gone.
        assert page.evaluate("() => [document.querySelector('#meter-in').value, "
                             "document.querySelector('#meter-out').value]") == [-60, -60]
        assert page.locator("#dsp").text_content() == "DSP –"
        page.screenshot(path=str(IMG / "ui-offline.png"))
        restarted = PedalProcess(pedal.data_dir)
        page.wait_for_selector("#link:not(.offline)", timeout=20000)
        assert page.locator("#link").text_content() == "connected"
        client = restarted.client()
        client.request("toggle", slot="reverb")
        bypass = slot_of(client.state(), "reverb")["bypass"]
        client.close()
        page.wait_for_selector(f".stomp[data-slot=reverb][aria-pressed={str(not bypass).lower()}]",
                               timeout=10000)
        context.close()
    finally:
        if restarted is not None:
            restarted.stop()
        server.stop()
        pedal.stop()
