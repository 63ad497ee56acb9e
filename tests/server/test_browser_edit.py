"""Editing in the phone editor, in real Chromium against a real pedal: what
the player does on each screen, and what the *engine* then holds (checked
over the local control socket, never in the page's own state).

Banks and setlists, the effect catalogue with a circuit effect and its
netlist controls, snapshots, tempo and tap, import and export, paired
devices and their revocation, the level meters, and touch reordering.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_support import IMG, PHONE, Watch, assert_fits_the_screen, open_card, pair, show_panel
from server_support import PedalProcess, ServerProcess, SocketClient, slot_of


@pytest.fixture
def phone(browser: Any, server: ServerProcess, pedal: PedalProcess) -> Any:
    context = browser.new_context(**PHONE, accept_downloads=True)
    page = context.new_page()
    page.watch = Watch(page)
    # confirm() and prompt(): recorded, then answered as page.answer says
    # (yes, with its text or the default, unless told to say no).
    page.answer = {"text": None, "accept": True}
    page.dialogs = []

    def answer(dialog: Any) -> None:
        page.dialogs.append(dialog.message)
        if page.answer["accept"]:
            dialog.accept(page.answer["text"] or dialog.default_value)
        else:
            dialog.dismiss()

    page.on("dialog", answer)
    pair(page, server, pedal.pair_code())
    yield page
    assert page.watch.errors == []
    context.close()


@pytest.fixture
def engine(pedal: PedalProcess) -> Any:
    client = pedal.client()
    yield client
    client.close()


def preset_ids(engine: SocketClient) -> set[str]:
    return {p["id"] for p in engine.request("list_presets")["result"]["presets"]}


def eventually(check: Callable[[], Any], what: str, timeout_s: float = 15.0,
               page: Any = None) -> Any:
    """Poll until ``check()`` is truthy (the engine applies commands in order,
    but the page sends them when the user's gesture ends). With ``page``, wait
    through playwright: its events (a dialog) are delivered only then."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if page is not None:
            page.wait_for_timeout(50)
        else:
            time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_setlist_is_built_used_and_followed_by_the_footswitch(phone: Any, engine: SocketClient) -> None:
    page = phone
    names = {p["id"]: p["name"] for p in engine.request("list_presets")["result"]["presets"]}
    show_panel(page, "presets")
    page.click("#new-list")
    page.select_option("#list-kind", "setlist")
    page.fill("#list-name", "Friday Gig")
    for preset_id in ("lead", "clean", "ambient"):
        page.select_option("#list-pick", preset_id)
        page.click("#list-add")
    page.click("#list-presets li[data-preset=clean] button[aria-label^='Move'][aria-label$='up']")
    assert page.locator("#list-presets li span").all_text_contents() == [
        f"1. {names['clean']}", f"2. {names['lead']}", f"3. {names['ambient']}"]
    assert_fits_the_screen(page, PHONE["viewport"]["width"])
    page.screenshot(path=str(IMG / "ui-lists.png"))
    page.click("#list-editor button[type=submit]")
    page.wait_for_selector("#list-editor", state="hidden")

    def stored() -> Any:
        return {s["id"]: s for s in engine.request("list_setlists")["result"]["setlists"]}.get("friday-gig")

    setlist = eventually(stored, "the setlist in the pedal's library")
    assert setlist["name"] == "Friday Gig" and setlist["presets"] == ["clean", "lead", "ambient"]

    page.click("#lists li[data-list=friday-gig] button.use")
    eventually(lambda: engine.state()["bank"] == "friday-gig", "the setlist to be in use")
    assert [p["id"] for p in engine.state()["presets"]] == ["clean", "lead", "ambient"]
    page.wait_for_function("""(want) => [...document.querySelectorAll('#preset-list .preset')]
        .map((b) => b.textContent).join('|') === want""",
                           arg=f"1. {names['clean']}|2. {names['lead']}|3. {names['ambient']}")
    assert page.input_value("#bank-select") == "friday-gig"

    # The footswitch steps through the setlist's order, and the page follows.
    engine.request("select_preset", preset="lead")
    assert engine.request("press", switch="fs2")["type"] == "ack"
    assert engine.state()["preset"] == "ambient"
    page.wait_for_selector(f"#preset-name:text-is('{names['ambient']}')")

    # A bank of the same name gets an id of its own: the setlist stays.
    page.click("#new-list")
    page.fill("#list-name", "Friday Gig")
    page.select_option("#list-pick", "funk")
    page.click("#list-add")
    page.click("#list-editor button[type=submit]")
    bank = eventually(lambda: {b["id"]: b for b in engine.request("list_banks")["result"]["banks"]}
                      .get("friday-gig-2"), "the second list under an id of its own")
    assert bank["presets"] == ["funk"]
    assert stored()["presets"] == ["clean", "lead", "ambient"]
    assert engine.request("delete_bank", id="friday-gig-2")["type"] == "ack"

    page.click("#lists li[data-list=friday-gig] button:text('Delete')")
    eventually(lambda: stored() is None, "the setlist to be deleted", page=page)
    page.wait_for_selector("#lists li[data-list=friday-gig]", state="detached")
    engine.request("select_preset", preset="clean")


def test_circuit_effect_is_added_with_its_netlist_controls_and_removed(
        phone: Any, engine: SocketClient) -> None:
    page = phone
    circuits = page.evaluate("() => fetch('/api/v1/circuits').then((r) => r.json())")
    ts808 = next(c for c in circuits if c["netlist"] == "ts808")
    controls = [p["name"] for p in ts808["params"] if p["name"] != "netlist"]
    assert controls, "the TS808 netlist declares its controls"
    before = [n["id"] for n in engine.state()["chain"]]
    page.select_option("#add-effect-select", "circuit:ts808")
    page.click("#add-effect button[type=submit]")

    def added() -> Any:
        return next((n for n in engine.state()["chain"] if n["id"] not in before), None)

    slot = eventually(added, "the circuit in the engine's chain", timeout_s=90.0)
    assert slot["effect"] == "circuit" and slot["params"]["netlist"] == "ts808"
    card = page.locator(f".pedal[data-slot={slot['id']}]")
    card.wait_for()
    assert ts808["label"] in card.locator(".pedal-name").text_content()
    open_card(page, slot["id"])
    shown = card.locator("input.slider").evaluate_all("(els) => els.map((e) => e.dataset.param)")
    assert shown == [p["name"] for p in ts808["params"] if p["name"] != "netlist"
                     and p["kind"] == "float"]
    first = shown[0]
    value_before = slot["params"][first]
    card.locator(f".param:has(input[data-param={first}]) .step").nth(1).tap()
    eventually(lambda: slot_of(engine.state(), slot["id"])["params"][first] > value_before,
               f"the circuit's {first} to move")
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(IMG / "ui-circuit.png"))

    card.locator("button.remove").click()
    eventually(lambda: slot["id"] not in [n["id"] for n in engine.state()["chain"]],
               "the circuit to leave the chain", page=page)
    card.wait_for(state="detached")
    assert [n["id"] for n in engine.state()["chain"]] == before


def test_snapshots_tempo_and_tap(phone: Any, engine: SocketClient) -> None:
    page = phone
    snapshots = engine.state()["snapshots"]
    assert len(snapshots) >= 2
    page.click(f".snapshot:text-is('{snapshots[1]}')")
    eventually(lambda: engine.state()["snapshot"] == 1, "snapshot 2 in the engine")
    page.wait_for_selector(f".snapshot[aria-pressed=true]:text-is('{snapshots[1]}')")

    # Save the live values as this snapshot under a new name; switching away
    # and back brings them back.
    open_card(page, "reverb")
    before = slot_of(engine.state(), "reverb")["params"]["damping"]
    page.locator(".param:has(input[data-param=damping]) .step").nth(1).tap()
    damping = eventually(lambda: (d := slot_of(engine.state(), "reverb")["params"]["damping"])
                         != before and d, "the damping step in the engine")
    page.answer["text"] = "Solo"
    page.click("#save-snapshot")
    eventually(lambda: engine.state()["snapshots"][1] == "Solo", "the snapshot named Solo",
               page=page)
    page.wait_for_selector(".snapshot:text-is('Solo')")
    page.click(f".snapshot:text-is('{snapshots[0]}')")
    eventually(lambda: engine.state()["snapshot"] == 0, "snapshot 1 in the engine")
    engine.request("set_param", slot="reverb", param="damping", value=0.1)
    page.click(".snapshot:text-is('Solo')")
    eventually(lambda: engine.state()["snapshot"] == 1, "snapshot 2 again")
    assert slot_of(engine.state(), "reverb")["params"]["damping"] == pytest.approx(damping)

    show_panel(page, "setup")
    page.fill("#tempo", "97.5")
    page.click("#tempo-form button[type=submit]")
    eventually(lambda: engine.state()["tempo_bpm"] == pytest.approx(97.5), "tempo 97.5")
    # Four taps about half a second apart. The tempo is the median of the
    # intervals as they reach the pedal; on a loaded machine the clicks
    # themselves drift, so compare with the intervals the test really tapped.
    tapped = []
    for _ in range(4):
        tapped.append(time.monotonic())
        page.click("#tap")
        time.sleep(0.5)
    expected = 60.0 / float(np.median(np.diff(tapped)))
    tempo = eventually(lambda: (t := engine.state()["tempo_bpm"]) != pytest.approx(97.5) and t,
                       "a tapped tempo")
    assert tempo == pytest.approx(expected, rel=0.2), (tempo, expected)
    page.wait_for_function("(bpm) => Math.abs(Number(document.querySelector('#tempo').value) - bpm) < 0.06",
                           arg=tempo)


def test_one_preset_and_the_library_export_and_import(phone: Any, engine: SocketClient,
                                                      tmp_path: Path) -> None:
    page = phone
    show_panel(page, "presets")
    current = engine.state()["preset"]
    with page.expect_download() as download:
        page.click("#export-preset")
    exported = json.loads(Path(download.value.path()).read_text())
    stored = engine.request("get_preset", id=current)["result"]
    assert exported == stored.get("preset", stored)

    exported.update(id="imported-copy", name="Imported Copy")
    file = tmp_path / "imported-copy.json"
    file.write_text(json.dumps(exported))
    page.set_input_files("#import-file", str(file))
    eventually(lambda: "imported-copy" in preset_ids(engine),
               "the imported preset in the library")
    page.wait_for_selector("#library-list li:has-text('Imported Copy')")

    with page.expect_download() as download:
        page.click("#export-library")
    library = json.loads(Path(download.value.path()).read_text())
    assert {p["id"] for p in library["presets"]} == preset_ids(engine)
    assert engine.request("delete_preset", id="imported-copy")["type"] == "ack"
    page.wait_for_selector("#library-list li:has-text('Imported Copy')", state="detached")

    # The whole library back in: the deleted preset returns.
    file = tmp_path / "library.json"
    file.write_text(json.dumps(library))
    page.set_input_files("#import-file", str(file))
    eventually(lambda: "imported-copy" in preset_ids(engine),
               "the library import")
    assert engine.request("delete_preset", id="imported-copy")["type"] == "ack"


def test_paired_devices_are_listed_and_a_revoked_phone_must_pair_again(
        browser: Any, phone: Any, server: ServerProcess, pedal: PedalProcess) -> None:
    other = browser.new_context(**PHONE)
    second = other.new_page()
    pair(second, server, pedal.pair_code())
    tokens = second.evaluate("() => fetch('/api/v1/tokens').then((r) => r.json())")
    second_id = next(t["id"] for t in tokens if t["current"])

    page = phone
    show_panel(page, "setup")
    me = page.locator("#devices li:has-text('(this device)')")
    me.wait_for()
    assert me.locator("button").count() == 0
    page.locator(f"#devices li[data-token='{second_id}'] button:text('Revoke')").click()
    page.wait_for_selector(f"#devices li[data-token='{second_id}']", state="detached")
    second.wait_for_selector("#pairing", state="visible")
    assert second.evaluate("() => fetch('/api/v1/state').then((r) => r.status)") == 401
    assert_fits_the_screen(page, PHONE["viewport"]["width"])
    other.close()


def test_meters_show_the_engine_levels(phone: Any, engine: SocketClient) -> None:
    status = engine.request("status")["result"]
    assert status["input_peak_db"] > -60, "the virtual input plays a signal"
    page = phone
    page.wait_for_function("() => document.querySelector('#meter-in').value > -60")
    page.wait_for_function("() => document.querySelector('#meter-out').value > -60")
    assert page.locator("#dsp").text_content().startswith("DSP ")
    label = page.locator("#meter-in").get_attribute("aria-valuetext")
    assert label.startswith("input ") and label.endswith(" dB")


def test_touch_drag_reorders_the_chain(phone: Any, engine: SocketClient) -> None:
    """A finger on the handle (real touch events through the DevTools
    protocol), dragged to the top of the board."""
    page = phone
    order = [n["id"] for n in engine.state()["chain"]]
    last = order[-1]
    handle = page.locator(f".pedal[data-slot={last}] .handle").bounding_box()
    top = page.locator(".pedal").first.bounding_box()
    assert handle is not None and top is not None
    x = handle["x"] + handle["width"] / 2
    y = handle["y"] + handle["height"] / 2
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, y_px: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y_px, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", y)
    steps = 12
    for i in range(1, steps + 1):
        touch("touchMove", y + (top["y"] + 8 - y) * i / steps)
    touch("touchEnd", top["y"] + 8)
    eventually(lambda: engine.state()["chain"][0]["id"] == last, "the dragged effect first")
    assert [n["id"] for n in engine.state()["chain"]] == [last, *order[:-1]]
    page.wait_for_function(f"() => document.querySelector('.pedal').dataset.slot === '{last}'")
    engine.request("move_effect", slot=last, index=len(order) - 1)


def test_tuner_shows_the_notes_the_pedal_hears(phone: Any, engine: SocketClient) -> None:
    """The demo guitar plays through the tuner: the page names notes with
    their frequency and cents, as the pedal's own tuner readings do."""
    page = phone
    engine.request("subscribe", tuner=True)
    show_panel(page, "tuner")
    page.click("#tuner-toggle")
    eventually(lambda: engine.state()["tuner"] is True, "the tuner on in the engine")
    readings: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not readings:
        message = json.loads(engine.file.readline())
        if message.get("type") == "tuner" and message["data"] is not None:
            readings.append(message["data"])
    assert readings, "the pedal's tuner hears the demo guitar"
    page.wait_for_function(
        "() => /^[A-G][#b]?-?\\d+$/.test(document.querySelector('#tuner-note').textContent)")
    detail = page.locator("#tuner-detail").text_content()
    assert " Hz, " in detail and "cents" in detail
    page.screenshot(path=str(IMG / "ui-tuner-note.png"))
    page.click("#tuner-toggle")
    eventually(lambda: engine.state()["tuner"] is False, "the tuner off in the engine")
    page.wait_for_selector("#tuner-detail:text-is('tuner is off')")


def test_footswitch_view_names_each_action_and_presses_it(phone: Any, engine: SocketClient) -> None:
    """Each switch's press menu shows its action in words; Press runs it."""
    page = phone
    show_panel(page, "setup")
    page.wait_for_selector("#footswitches li[data-switch=fs4] select")
    chosen = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '#footswitches select[data-gesture=press]')].map((s) => [s.dataset.key.split(':')[0],
        s.selectedOptions[0].textContent]))""")
    assert chosen.pop("fs3").startswith("Snapshot 1")
    assert chosen == {"fs1": "Reverb on/off", "fs2": "Next preset", "fs4": "Tap tempo"}
    holds = page.locator("#footswitches select[data-gesture=long]")
    assert holds.count() == 4 and all(holds.nth(i).input_value() == "" for i in range(4))
    bypass = slot_of(engine.state(), "reverb")["bypass"]
    page.click("#footswitches button[aria-label='Press footswitch fs1']")
    eventually(lambda: slot_of(engine.state(), "reverb")["bypass"] is (not bypass), "fs1 to toggle")
    page.wait_for_selector(f".stomp[data-slot=reverb][aria-pressed={str(bypass).lower()}]",
                           state="attached")


def test_save_as_makes_a_preset_and_asks_before_replacing_one(phone: Any,
                                                              engine: SocketClient) -> None:
    page = phone
    open_card(page, "reverb")
    before = slot_of(engine.state(), "reverb")["params"]["damping"]
    page.locator(".param:has(input[data-param=damping]) .step").nth(1).tap()
    damping = eventually(lambda: (d := slot_of(engine.state(), "reverb")["params"]["damping"])
                         != before and d, "a live edit")
    show_panel(page, "presets")
    page.fill("#save-as-name", "Phone Tone")
    page.click("#save-as button[type=submit]")
    eventually(lambda: engine.state()["preset"] == "phone-tone", "the new preset selected")
    stored = engine.request("get_preset", id="phone-tone")["result"]
    stored = stored.get("preset", stored)
    assert stored["name"] == "Phone Tone"
    reverb = next(n for n in stored["chain"] if n.get("id") == "reverb")
    assert reverb["params"]["damping"] == pytest.approx(damping)

    # The same name again: the page asks first; "no" leaves the preset alone.
    engine.request("set_param", slot="reverb", param="damping", value=0.05)
    page.wait_for_selector("#dirty", state="visible")  # the header has grown: no layout shift
    page.dialogs.clear()
    page.answer["accept"] = False
    page.fill("#save-as-name", "Phone Tone")
    page.press("#save-as-name", "Enter")
    eventually(lambda: page.dialogs, "the question", page=page)
    assert "Replace the preset Phone Tone" in page.dialogs[0]
    stored = engine.request("get_preset", id="phone-tone")["result"]
    stored = stored.get("preset", stored)
    assert next(n for n in stored["chain"] if n.get("id") == "reverb")["params"]["damping"] == (
        pytest.approx(damping))

    # "Yes" replaces it with the board as it is now.
    page.answer["accept"] = True
    page.fill("#save-as-name", "Phone Tone")
    page.press("#save-as-name", "Enter")

    def stored_damping() -> float:
        stored = engine.request("get_preset", id="phone-tone")["result"]
        stored = stored.get("preset", stored)
        return next(n for n in stored["chain"] if n.get("id") == "reverb")["params"]["damping"]

    eventually(lambda: stored_damping() == pytest.approx(0.05), "the preset replaced", page=page)

    # Load another preset from the library list, then delete this one there.
    page.click("#library-list li:has-text('Clean') button:text('Load')")
    eventually(lambda: engine.state()["preset"] == "clean", "Clean loaded")
    page.click("#library-list li:has-text('Phone Tone') button:text('Delete')")
    eventually(lambda: "phone-tone" not in preset_ids(engine), "Phone Tone deleted", page=page)
    page.wait_for_selector("#library-list li:has-text('Phone Tone')", state="detached")


def test_live_edits_are_saved_into_the_preset_or_reverted(phone: Any, engine: SocketClient) -> None:
    page = phone
    engine.request("select_preset", preset="crunch")
    page.wait_for_selector("#edit-actions", state="hidden")
    first = engine.state()["chain"][0]
    name = first["id"]
    stored = engine.request("get_preset", id="crunch")["result"]
    stored = stored.get("preset", stored)
    bypass = next(n for n in stored["chain"] if n.get("id") == name).get("bypass", False)

    page.click(f".stomp[data-slot={name}]")
    page.wait_for_selector("#edit-actions", state="visible")
    assert page.locator("#dirty").is_visible()
    eventually(lambda: engine.state()["dirty"], "a live edit in the engine")
    page.click("#revert")
    page.wait_for_selector("#edit-actions", state="hidden")
    assert engine.state()["dirty"] is False
    assert slot_of(engine.state(), name)["bypass"] is bypass

    page.click(f".stomp[data-slot={name}]")
    page.wait_for_selector("#edit-actions", state="visible")
    page.click("#save-current")
    page.wait_for_selector("#edit-actions", state="hidden")
    stored = engine.request("get_preset", id="crunch")["result"]
    stored = stored.get("preset", stored)
    assert next(n for n in stored["chain"] if n.get("id") == name).get("bypass", False) is (not bypass)
    assert engine.state()["dirty"] is False
    # Put the factory preset back as it was.
    engine.request("set_bypass", slot=name, value=bypass)
    engine.request("save_current")
    engine.request("select_preset", preset="clean")


def test_double_tap_puts_a_knob_back_to_its_default(phone: Any, engine: SocketClient) -> None:
    """The slider's centre is not the default (0.33): the first tap's jump to
    the centre is undone by the second."""
    page = phone
    effects = page.evaluate("() => fetch('/api/v1/effects').then((r) => r.json())")
    spec = next(p for e in effects if e["effect"] == "reverb" for p in e["params"]
                if p["name"] == "wet_level")
    engine.request("set_param", slot="reverb", param="wet_level", value=spec["max"])
    open_card(page, "reverb")
    shown = page.locator(".pedal[data-slot=reverb] .param:has(input[data-param=wet_level]) output")
    page.wait_for_function("(el) => el.textContent === '1.00'", arg=shown.element_handle())
    page.dblclick(".pedal[data-slot=reverb] input.slider[data-param=wet_level]")
    eventually(lambda: slot_of(engine.state(), "reverb")["params"]["wet_level"]
               == pytest.approx(spec["default"]), "the default wet level in the engine")
    page.wait_for_function("(want) => document.querySelector("
                           "'.pedal[data-slot=reverb] .param:has(input[data-param=wet_level]) output')"
                           ".textContent === want", arg=f"{spec['default']:.2f}")


def test_rename_keeps_the_id_and_the_header_follows(phone: Any, engine: SocketClient) -> None:
    page = phone
    engine.request("select_preset", preset="blues")
    engine.request("revert")
    page.wait_for_selector("#preset-name:text-is('Blues')")
    show_panel(page, "presets")
    page.answer["text"] = "Slow Blues"
    page.click("#library-list li[data-preset=blues] button:text('Rename')")
    eventually(lambda: {p["id"]: p["name"] for p in engine.request("list_presets")["result"]["presets"]}
               .get("blues") == "Slow Blues", "the new name in the library", page=page)
    page.wait_for_selector("#preset-name:text-is('Slow Blues')")
    page.wait_for_selector("#library-list li[data-preset=blues] span:text-is('Slow Blues')")
    assert engine.state()["preset"] == "blues" and engine.state()["preset_name"] == "Slow Blues"
    page.answer["text"] = "Blues"
    page.click("#library-list li[data-preset=blues] button:text('Rename')")
    eventually(lambda: engine.state()["preset_name"] == "Blues", "the name back", page=page)
    engine.request("select_preset", preset="clean")
