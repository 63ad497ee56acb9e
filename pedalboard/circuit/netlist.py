"""SPICE netlist parser (ngspice dialect) producing a flat list of elements.

What it reads: the title line, ``*`` comments, inline ``;``/``$`` comments,
``+`` continuations, case-insensitive cards, ``.param`` (several on a line),
``.model NAME TYPE(...)``, ``.subckt``/``.ends`` with parameters, ``X``
instances (flattened; inner nodes become ``x1.node``), ``.include`` relative to
the including file, and the ``*@`` directives of the netlist contract
(``*@control``, ``*@output``, ``*@input_volts``, ``*@output_volts``).
Analysis cards (``.tran``, ``.options``, ``.control ... .endc``, ...) are
accepted and ignored. Every problem is a :class:`NetlistError` naming the
file, the line and the card.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from pedalboard.circuit.expressions import ExpressionError, evaluate_with_names, parse_number
from pedalboard.circuit.topology import check_topology
from pedalboard.errors import PedalError

GROUND = "0"
IGNORED_DOTS = {
    ".options", ".option", ".opt", ".tran", ".op", ".ic", ".temp", ".save", ".print",
    ".probe", ".meas", ".measure", ".ac", ".dc", ".plot", ".nodeset", ".global", ".width",
    ".func", ".csparam", ".four", ".noise", ".tf", ".disto", ".sens", ".pz", ".title",
}
ELEMENT_NODES = {"r": 2, "c": 2, "l": 2, "v": 2, "i": 2, "d": 2, "q": 3, "j": 3, "e": 4}
#: Model types per element letter, and the parameters the compiler models.
MODEL_TYPES = {"d": ("d",), "q": ("npn", "pnp"), "j": ("njf", "pjf")}
MODEL_PARAMS = {
    "d": {"is", "n", "rs", "cjo", "cj0", "vj", "m", "fc", "bv", "ibv", "tt", "level"},
    "npn": {"is", "bf", "br", "nf", "nr", "vaf", "va", "rb", "re", "rc", "cje", "cjc", "vje",
            "pe", "mje", "me", "vjc", "pc", "mjc", "mc", "fc", "level"},
    "njf": {"vto", "beta", "lambda", "is", "n", "level"},
}
MODEL_PARAMS["pnp"] = MODEL_PARAMS["npn"]
MODEL_PARAMS["pjf"] = MODEL_PARAMS["njf"]


class NetlistError(PedalError):
    """A netlist the compiler cannot accept; the message names file, line and card."""


@dataclass(frozen=True)
class Location:
    """Where a card came from, for error messages."""

    file: str
    line: int
    card: str

    def error(self, message: str) -> NetlistError:
        card = self.card if len(self.card) <= 80 else self.card[:77] + "..."
        return NetlistError(f"{self.file}:{self.line}: {message} (card: {card})")


@dataclass(frozen=True)
class ControlSpec:
    """A knob declared by ``*@control``: it drives the ``.param`` of the same name."""

    name: str
    min: float
    max: float
    default: float
    taper: str = "linear"
    label: str = ""


@dataclass
class Scope:
    """Parameters visible to a card: ``.param`` values, or a subcircuit
    instance's parameters evaluated in its parent's scope."""

    exprs: dict[str, str] = field(default_factory=dict)
    parent: Scope | None = None
    order: list[str] = field(default_factory=list)

    def define(self, name: str, expr: str) -> None:
        if name not in self.exprs:
            self.order.append(name)
        self.exprs[name] = expr

    def values(self, overrides: dict[str, float] | None = None) -> dict[str, float]:
        """All names visible here with their values; ``overrides`` replaces
        top-level params (the controls) before anything depends on them."""
        base = self.parent.values(overrides) if self.parent is not None else {}
        result = dict(base)
        for name in self.order:
            if self.parent is None and overrides and name in overrides:
                result[name] = float(overrides[name])
                continue
            result[name] = evaluate_with_names(self.exprs[name], result)[0]
        return result


@dataclass(frozen=True)
class Model:
    name: str
    kind: str  # d, npn, pnp, njf, pjf
    params: dict[str, float]
    location: Location


@dataclass
class Element:
    """One flattened circuit element. ``value`` is an expression evaluated in
    ``scope`` (R, C, L, V, I, E); semiconductors carry a ``model``."""

    name: str
    kind: str
    nodes: tuple[str, ...]
    location: Location
    value: str | None = None
    scope: Scope | None = None
    model: Model | None = None
    area: float = 1.0

    def evaluate(self, values: dict[str, float]) -> float:
        assert self.value is not None
        try:
            return evaluate_with_names(self.value, values)[0]
        except ExpressionError as exc:
            raise self.location.error(str(exc)) from None


@dataclass
class Netlist:
    path: Path
    title: str
    elements: list[Element]
    params: Scope
    controls: list[ControlSpec]
    output_node: str
    input_volts: float
    output_volts: float

    @property
    def vin(self) -> Element:
        return next(e for e in self.elements if e.kind == "v" and e.name.lower() == "vin")

    @property
    def nodes(self) -> list[str]:
        """Every node except ground, in order of first appearance."""
        seen: dict[str, None] = {}
        for element in self.elements:
            for node in element.nodes:
                if node != GROUND:
                    seen.setdefault(node, None)
        return list(seen)

    def element_values(self, controls: dict[str, float] | None = None) -> list[float | None]:
        """Each element's value with the controls set (None for semiconductors)."""
        cache: dict[int, dict[str, float]] = {}
        values: list[float | None] = []
        for element in self.elements:
            if element.value is None or element.scope is None:
                values.append(None)
                continue
            key = id(element.scope)
            if key not in cache:
                try:
                    cache[key] = element.scope.values(controls)
                except ExpressionError as exc:
                    raise element.location.error(str(exc)) from None
            values.append(element.evaluate(cache[key]))
        return values

    def dependent_elements(self) -> dict[str, set[str]]:
        """Element name -> the controls its value follows."""
        names = {c.name for c in self.controls}
        result: dict[str, set[str]] = {}
        base = self.element_values()
        for control in self.controls:
            bumped = self.element_values({control.name: control.default + 0.37 * (
                control.max - control.min) + 1e-3})
            for element, a, b in zip(self.elements, base, bumped, strict=True):
                if a is not None and b is not None and a != b:
                    result.setdefault(element.name, set()).add(control.name)
        return {k: v & names for k, v in result.items()}


# ----------------------------------------------------------------- reading
@dataclass
class _Line:
    text: str
    location: Location


def _strip_inline_comment(text: str) -> str:
    for marker in (";", " $", "\t$"):
        cut = text.find(marker)
        if cut >= 0:
            text = text[:cut]
    return text.rstrip()


def _read_lines(path: Path, *, title: bool, stack: tuple[Path, ...] = ()) -> list[_Line]:
    """Logical lines of a file (continuations joined, comments dropped,
    ``.include`` expanded, ``.control`` blocks skipped)."""
    try:
        raw = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise NetlistError(f"{path}: cannot read netlist: {exc.strerror}") from None
    lines: list[_Line] = []
    in_control = False
    for number, text in enumerate(raw, start=1):
        if title and number == 1:
            lines.append(_Line(text.strip(), Location(str(path), 1, text.strip())))
            continue
        stripped = text.strip()
        lower = stripped.lower()
        if in_control:
            in_control = not lower.startswith(".endc")
            continue
        if lower.startswith(".control"):
            in_control = True
            continue
        if stripped.startswith("*@"):
            lines.append(_Line(stripped, Location(str(path), number, stripped)))
            continue
        if not stripped or stripped.startswith("*"):
            continue
        body = _strip_inline_comment(stripped)
        if body.startswith("+"):
            if not lines:
                raise Location(str(path), number, stripped).error("continuation with no card")
            last = lines[-1]
            joined = f"{last.text} {body[1:].strip()}"
            lines[-1] = _Line(joined, Location(last.location.file, last.location.line, joined))
            continue
        if not body:
            continue
        location = Location(str(path), number, body)
        if lower.startswith(".include") or lower.startswith(".inc "):
            lines.extend(_include(body, location, path, stack))
            continue
        if lower.startswith(".end") and not lower.startswith(".ends") and lower.split()[0] == ".end":
            break
        lines.append(_Line(body, location))
    return lines


def _include(body: str, location: Location, path: Path, stack: tuple[Path, ...]) -> list[_Line]:
    parts = body.split(None, 1)
    if len(parts) < 2:
        raise location.error(".include needs a file name")
    target = (path.parent / parts[1].strip().strip("\"'")).resolve()
    if target in stack:
        raise location.error(f"{target} includes itself")
    if not target.is_file():
        raise location.error(f"included file {target} does not exist")
    return _read_lines(target, title=False, stack=(*stack, path.resolve()))


def _split(text: str) -> list[str]:
    """Split a card on whitespace and commas, keeping ``{...}`` and ``(...)``
    groups whole and gluing ``name = value`` into ``name=value``."""
    tokens: list[str] = []
    current = ""
    depth = 0
    for ch in text:
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth = max(0, depth - 1)
        if depth == 0 and (ch.isspace() or ch == ","):
            if current:
                tokens.append(current)
            current = ""
            continue
        current += ch
    if current:
        tokens.append(current)
    glued: list[str] = []
    for token in tokens:
        if glued and (token.startswith("=") or glued[-1].endswith("=")):
            glued[-1] += token
        else:
            glued.append(token)
    return glued


def _assignments(tokens: list[str], location: Location) -> list[tuple[str, str]]:
    pairs = []
    for token in tokens:
        if "=" not in token:
            raise location.error(f"expected name=value, found {token!r}")
        name, value = token.split("=", 1)
        if not name or not value:
            raise location.error(f"incomplete assignment {token!r}")
        pairs.append((name.lower(), value))
    return pairs


def _number(text: str, location: Location, scope: Scope | None = None) -> float:
    try:
        if text.startswith("{") or text.startswith("'"):
            return evaluate_with_names(text, scope.values() if scope else {})[0]
        return parse_number(text)
    except ExpressionError as exc:
        raise location.error(str(exc)) from None


# ---------------------------------------------------------------- parsing
@dataclass
class _Subckt:
    name: str
    ports: list[str]
    defaults: list[tuple[str, str]]
    lines: list[_Line]
    location: Location


@dataclass
class _State:
    title: str = ""
    controls: list[tuple[ControlSpec, Location]] = field(default_factory=list)
    output: str | None = None
    input_volts: float | None = None
    output_volts: float | None = None


def parse_netlist(path: str | Path) -> Netlist:
    """Parse and check a netlist file; raises :class:`NetlistError`."""
    path = Path(path)
    if not path.is_file():
        raise NetlistError(f"{path}: netlist file not found")
    lines = _read_lines(path, title=True)
    state = _State(title=lines[0].text if lines else "")
    body = lines[1:]
    for line in body:
        if line.text.startswith("*@"):
            _directive(line, state)
    top_lines, subckts = _collect_subckts([ln for ln in body if not ln.text.startswith("*@")])
    scope = Scope()
    models = _collect_models(top_lines, scope)
    elements: list[Element] = []
    _flatten(top_lines, scope, models, subckts, "", {}, elements, depth=0)
    netlist = _finish(path, state, scope, elements)
    check_topology(netlist)
    return netlist


def _directive(line: _Line, state: _State) -> None:
    loc = line.location
    try:
        parts = shlex.split(line.text[2:])
    except ValueError as exc:
        raise loc.error(f"malformed directive: {exc}") from None
    if not parts:
        raise loc.error("empty *@ directive")
    word = parts[0].lower()
    if word == "control":
        state.controls.append((_control(parts[1:], loc), loc))
    elif word == "output":
        if len(parts) != 2:
            raise loc.error("*@output takes one node name")
        state.output = parts[1].lower()
    elif word in ("input_volts", "output_volts"):
        if len(parts) != 2:
            raise loc.error(f"*@{word} takes one number")
        volts = _number(parts[1], loc)
        if volts <= 0:
            raise loc.error(f"*@{word} must be positive")
        setattr(state, word, volts)
    else:
        raise loc.error(f"unknown directive *@{word} (known: control, output, input_volts, "
                        "output_volts)")


def _control(parts: list[str], loc: Location) -> ControlSpec:
    if not parts or "=" in parts[0]:
        raise loc.error("*@control needs a parameter name")
    glued: list[str] = []
    for part in parts[1:]:
        if glued and (part.startswith("=") or glued[-1].endswith("=")):
            glued[-1] += part
        else:
            glued.append(part)
    fields = dict(_assignments(glued, loc))
    unknown = set(fields) - {"min", "max", "default", "taper", "label"}
    if unknown:
        raise loc.error(f"*@control: unknown field(s) {', '.join(sorted(unknown))}")
    low = _number(fields.get("min", "0"), loc)
    high = _number(fields.get("max", "1"), loc)
    default = _number(fields.get("default", str(low)), loc)
    taper = fields.get("taper", "linear").lower()
    if taper not in ("linear", "log", "audio"):
        raise loc.error(f"*@control taper {taper!r} is not linear, log or audio")
    if not low < high or not low <= default <= high:
        raise loc.error(f"*@control needs min < max and min <= default <= max "
                        f"(min={low:g} max={high:g} default={default:g})")
    name = parts[0].lower()
    return ControlSpec(name, low, high, default, taper, fields.get("label", name))


def _collect_subckts(lines: list[_Line]) -> tuple[list[_Line], dict[str, _Subckt]]:
    top: list[_Line] = []
    subckts: dict[str, _Subckt] = {}
    stack: list[_Subckt] = []
    for line in lines:
        lower = line.text.lower()
        if lower.startswith(".subckt"):
            tokens = _split(line.text)
            if len(tokens) < 2:
                raise line.location.error(".subckt needs a name")
            ports = [t.lower() for t in tokens[2:] if "=" not in t and t.lower() != "params:"]
            defaults = _assignments([t for t in tokens[2:] if "=" in t], line.location)
            stack.append(_Subckt(tokens[1].lower(), ports, defaults, [], line.location))
        elif lower.startswith(".ends"):
            if not stack:
                raise line.location.error(".ends without .subckt")
            done = stack.pop()
            subckts[done.name] = done
            if stack:  # a nested definition is visible from its parent too
                pass
        elif stack:
            stack[-1].lines.append(line)
        else:
            top.append(line)
    if stack:
        raise stack[-1].location.error(f".subckt {stack[-1].name} has no .ends")
    return top, subckts


def _collect_models(lines: list[_Line], scope: Scope) -> dict[str, Model]:
    models: dict[str, Model] = {}
    for line in lines:
        lower = line.text.lower()
        if lower.startswith(".param"):
            for name, value in _assignments(_split(line.text)[1:], line.location):
                scope.define(name, value)
        elif lower.startswith(".model"):
            model = _model(line, scope)
            models[model.name] = model
    try:
        scope.values()
    except ExpressionError as exc:
        raise lines[0].location.error(f".param: {exc}") from None
    return models


_MODEL_RE = re.compile(r"^\.model\s+(\S+)\s+([A-Za-z]+)\s*\(?(.*?)\)?\s*$", re.IGNORECASE | re.S)


def _model(line: _Line, scope: Scope) -> Model:
    match = _MODEL_RE.match(line.text)
    if match is None:
        raise line.location.error("malformed .model card (expected .model NAME TYPE(...))")
    name, kind, body = match.group(1).lower(), match.group(2).lower(), match.group(3)
    allowed = MODEL_PARAMS.get(kind)
    if allowed is None:
        known = ", ".join(sorted(MODEL_PARAMS))
        raise line.location.error(f"unsupported model type {kind!r} (supported: {known})")
    params: dict[str, float] = {}
    for key, value in _assignments(_split(body.replace("(", " ").replace(")", " ")),
                                   line.location):
        if key not in allowed:
            raise line.location.error(
                f"unsupported model parameter {key.upper()} for {kind.upper()} model {name!r} "
                f"(supported: {', '.join(sorted(p.upper() for p in allowed))})")
        params[key] = _number(value, line.location, scope)
    return Model(name, kind, params, line.location)


def _flatten(lines: list[_Line], scope: Scope, models: dict[str, Model],
             subckts: dict[str, _Subckt], prefix: str, portmap: dict[str, str],
             out: list[Element], depth: int) -> None:
    if depth > 20:
        raise lines[0].location.error("subcircuits nested more than 20 deep (recursive?)")

    def node(name: str) -> str:
        lower = name.lower()
        if lower in ("0", "gnd"):
            return GROUND
        if lower in portmap:
            return portmap[lower]
        return prefix + lower

    for line in lines:
        text = line.text
        lower = text.lower()
        if lower.startswith("."):
            word = lower.split()[0]
            if word in (".param", ".model") or word in IGNORED_DOTS:
                continue
            raise line.location.error(f"unknown control card {word}")
        tokens = _split(text)
        letter = tokens[0][0].lower()
        if letter == "x":
            _instance(tokens, line, scope, models, subckts, node, prefix, out, depth)
            continue
        element = _element(tokens, line.location, scope, models, node)
        element.name = prefix + element.name
        out.append(element)


def _instance(tokens: list[str], line: _Line, scope: Scope, models: dict[str, Model],
              subckts: dict[str, _Subckt], node, prefix: str, out: list[Element],
              depth: int) -> None:
    loc = line.location
    positional = [t for t in tokens[1:] if "=" not in t and t.lower() != "params:"]
    if not positional:
        raise loc.error("X instance needs nodes and a subcircuit name")
    sub = subckts.get(positional[-1].lower())
    if sub is None:
        known = ", ".join(sorted(subckts)) or "none defined"
        raise loc.error(f"unknown subcircuit {positional[-1]!r} (known: {known})")
    nodes = positional[:-1]
    if len(nodes) != len(sub.ports):
        raise loc.error(f"subcircuit {sub.name} has {len(sub.ports)} ports, "
                        f"instance gives {len(nodes)}")
    inner = Scope(parent=scope)
    given = dict(_assignments([t for t in tokens[1:] if "=" in t], loc))
    for name, default in sub.defaults:
        inner.define(name, given.pop(name, default))
    if given:
        raise loc.error(f"subcircuit {sub.name} has no parameter(s) {', '.join(sorted(given))}")
    sub_lines = [ln for ln in sub.lines]
    local_models = dict(models)
    for ln in sub_lines:
        if ln.text.lower().startswith(".param"):
            for name, value in _assignments(_split(ln.text)[1:], ln.location):
                inner.define(name, value)
    for ln in sub_lines:
        if ln.text.lower().startswith(".model"):
            model = _model(ln, inner)
            local_models[model.name] = model
    try:
        inner.values()
    except ExpressionError as exc:
        raise loc.error(f"subcircuit {sub.name} parameters: {exc}") from None
    name = tokens[0].lower()
    portmap = {port: node(outer) for port, outer in zip(sub.ports, nodes, strict=True)}
    _flatten(sub_lines, inner, local_models, _visible(subckts), f"{prefix}{name}.", portmap,
             out, depth + 1)


def _visible(subckts: dict[str, _Subckt]) -> dict[str, _Subckt]:
    return subckts


def _element(tokens: list[str], loc: Location, scope: Scope, models: dict[str, Model],
             node) -> Element:
    name = tokens[0]
    letter = name[0].lower()
    count = ELEMENT_NODES.get(letter)
    if count is None:
        raise loc.error(f"unknown element {name!r}: supported are R, C, L, V, I, D, Q, J, E "
                        "and X (subcircuits)")
    if len(tokens) < count + 1:
        raise loc.error(f"{name} needs {count} nodes")
    nodes = tuple(node(t) for t in tokens[1 : count + 1])
    rest = tokens[count + 1 :]
    if letter in MODEL_TYPES:
        return _semiconductor(name, letter, nodes, rest, loc, scope, models, node)
    if letter in ("v", "i"):
        value = _source_value(name, rest, loc)
    elif letter == "e":
        if len(rest) != 1 or rest[0].lower() in ("poly", "value", "vol"):
            raise loc.error(f"{name}: only a linear VCVS 'E n+ n- nc+ nc- gain' is supported")
        value = rest[0]
    else:
        value = _passive_value(name, letter, rest, loc)
    element = Element(name.lower(), letter, nodes, loc, value=value, scope=scope)
    try:
        element.evaluate(scope.values())
    except ExpressionError as exc:
        raise loc.error(str(exc)) from None
    return element


def _passive_value(name: str, letter: str, rest: list[str], loc: Location) -> str:
    if not rest:
        raise loc.error(f"{name} has no value")
    value = rest[0]
    if "=" in value:
        key, value = value.split("=", 1)
        if key.lower() != letter:
            raise loc.error(f"{name}: expected a value, found {rest[0]!r}")
    for extra in rest[1:]:
        if not extra.lower().startswith(("ic=", "m=1", "tc")):
            raise loc.error(f"{name}: unsupported extra field {extra!r}")
    _check_value(value, loc)
    return value


def _check_value(value: str, loc: Location) -> None:
    if not (value.startswith("{") or value.startswith("'")):
        try:
            parse_number(value)
        except ExpressionError as exc:
            raise loc.error(str(exc)) from None


def _source_value(name: str, rest: list[str], loc: Location) -> str:
    """A source's DC value: ``[dc] value [ac ...]``. A transient function
    (sin, pulse, ...) is only allowed on Vin, which the audio drives."""
    value = "0"
    i = 0
    is_vin = name.lower() == "vin"
    while i < len(rest):
        word = rest[i].lower()
        if word == "dc" and i + 1 < len(rest):
            value = rest[i + 1]
            i += 2
        elif word == "ac":
            i += 2 if i + 1 < len(rest) and not rest[i + 1][0].isalpha() else 1
            while i < len(rest) and not rest[i][0].isalpha():
                i += 1
        elif word.split("(")[0] in ("sin", "pulse", "pwl", "exp", "sffm", "am", "trrandom",
                                    "external", "distof1", "distof2"):
            if not is_vin:
                raise loc.error(f"{name}: only DC sources are supported (Vin alone may carry "
                                f"{word.split('(')[0]})")
            i += 1
            while i < len(rest) and rest[i].startswith("("):
                i += 1
        elif i == 0 or (i > 0 and rest[i - 1].lower() not in ("dc", "ac")):
            value = rest[i]
            i += 1
        else:
            raise loc.error(f"{name}: unexpected {rest[i]!r}")
    _check_value(value, loc)
    return value


def _semiconductor(name: str, letter: str, nodes: tuple[str, ...], rest: list[str],
                   loc: Location, scope: Scope, models: dict[str, Model], node) -> Element:
    if letter == "q" and rest and rest[0].lower() not in models and len(rest) >= 2 \
            and rest[1].lower() in models:
        rest = rest[1:]  # a substrate node: CJS is not modelled, so it stays unconnected
    if not rest:
        raise loc.error(f"{name} needs a model name")
    model = models.get(rest[0].lower())
    if model is None:
        known = ", ".join(sorted(models)) or "none defined"
        raise loc.error(f"{name}: missing model {rest[0]!r} (models: {known})")
    if model.kind not in MODEL_TYPES[letter]:
        raise loc.error(f"{name}: model {model.name!r} is a {model.kind.upper()} model, "
                        f"not one for a {letter.upper()} element")
    area = 1.0
    for extra in rest[1:]:
        lower = extra.lower()
        if lower == "off":
            continue
        if lower.startswith("area="):
            area = _number(extra.split("=", 1)[1], loc, scope)
        elif "=" in lower:
            raise loc.error(f"{name}: unsupported instance parameter {extra!r}")
        else:
            area = _number(extra, loc, scope)
    if area <= 0:
        raise loc.error(f"{name}: area must be positive")
    return Element(name.lower(), letter, nodes, loc, model=model, area=area)


def _finish(path: Path, state: _State, scope: Scope, elements: list[Element]) -> Netlist:
    where = Location(str(path), 1, state.title)
    params = scope.values()
    controls: list[ControlSpec] = []
    for control, loc in state.controls:
        if control.name not in params:
            raise loc.error(f"*@control {control.name!r} names no .param "
                            f"(params: {', '.join(sorted(params)) or 'none'})")
        controls.append(control)
    # A control's default wins over the .param's literal value, as on the pedal.
    if not any(e.kind == "v" and e.name == "vin" for e in elements):
        raise where.error("missing input source: add 'Vin <input node> 0 dc 0'")
    vin = next(e for e in elements if e.kind == "v" and e.name == "vin")
    if GROUND not in vin.nodes:
        raise vin.location.error("Vin must connect its input node to ground 0")
    output = state.output or "out"
    nodes = {n for e in elements for n in e.nodes}
    if output not in nodes:
        raise where.error(f"missing output node {output!r}: name the output node 'out' or "
                          "add '*@output NODE'")
    input_volts = state.input_volts if state.input_volts is not None else 1.0
    output_volts = state.output_volts if state.output_volts is not None else input_volts
    return Netlist(path, state.title, elements, scope, controls, output, input_volts,
                   output_volts)
