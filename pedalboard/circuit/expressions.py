"""A small, safe evaluator for SPICE numbers, brace expressions and ``.param``.

SPICE values are numbers with scale suffixes (``4.7u``, ``10kOhm``, ``2meg``)
or brace expressions of parameters (``{2.2k+47k*(1-drive)}``). This module
tokenises and evaluates them with a recursive-descent parser; it never calls
Python's ``eval``, so a netlist cannot run code.

Grammar (lowest precedence first)::

    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '/') unary)*
    unary  := ('-' | '+') unary | power
    power  := atom (('^' | '**') unary)?        # right associative
    atom   := NUMBER | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

#: SPICE scale suffixes, longest first so ``meg`` wins over ``m``.
SUFFIXES: tuple[tuple[str, float], ...] = (
    ("meg", 1e6),
    ("mil", 25.4e-6),
    ("t", 1e12),
    ("g", 1e9),
    ("k", 1e3),
    ("m", 1e-3),
    ("u", 1e-6),
    ("µ", 1e-6),
    ("n", 1e-9),
    ("p", 1e-12),
    ("f", 1e-15),
)

FUNCTIONS: dict[str, Callable[..., float]] = {
    "abs": abs,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "ln": math.log,
    "log10": math.log10,
    "min": min,
    "max": max,
    "pow": math.pow,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "atan": math.atan,
}

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?([a-zA-Zµ]*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class ExpressionError(ValueError):
    """A malformed number or expression; the parser adds file and line."""


def parse_number(text: str) -> float:
    """A SPICE number: ``4.7u`` -> 4.7e-6, ``10kOhm`` -> 1e4, ``1e-3`` -> 0.001.

    Letters after the scale suffix are units and are ignored, as in SPICE
    (``4.7uF``); letters that are no suffix at all are ignored too (``5V``)."""
    text = text.strip()
    sign = 1.0
    if text and text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise ExpressionError(f"malformed number {text!r}")
    letters = match.group(1)
    mantissa = float(text[: len(text) - len(letters)])
    return sign * mantissa * _suffix_scale(letters)


def _suffix_scale(letters: str) -> float:
    lower = letters.lower()
    for suffix, scale in SUFFIXES:
        if lower.startswith(suffix):
            return scale
    return 1.0


def _tokenise(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < len(text) and text[i + 1].isdigit()):
            match = _NUMBER.match(text, i)
            assert match is not None
            tokens.append(match.group(0))
            i = match.end()
            continue
        if ch.isalpha() or ch == "_":
            match = _NAME.match(text, i)
            assert match is not None
            tokens.append(match.group(0))
            i = match.end()
            continue
        if text.startswith("**", i):
            tokens.append("^")
            i += 2
            continue
        if ch in "+-*/^(),":
            tokens.append(ch)
            i += 1
            continue
        raise ExpressionError(f"unexpected character {ch!r} in expression {text!r}")
    return tokens


class _Parser:
    def __init__(self, text: str, params: Mapping[str, float]) -> None:
        self.text = text
        self.tokens = _tokenise(text)
        self.pos = 0
        self.params = params
        self.used: set[str] = set()

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            want = f"{expected!r}" if expected else "a value"
            raise ExpressionError(f"expected {want} in expression {self.text!r}")
        self.pos += 1
        return token

    def expr(self) -> float:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        return value

    def term(self) -> float:
        value = self.unary()
        while self.peek() in ("*", "/"):
            if self.take() == "*":
                value *= self.unary()
            else:
                divisor = self.unary()
                if divisor == 0.0:
                    raise ExpressionError(f"division by zero in expression {self.text!r}")
                value /= divisor
        return value

    def unary(self) -> float:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> float:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            exponent = self.unary()
            try:
                return float(math.pow(base, exponent))
            except (OverflowError, ValueError) as exc:
                raise ExpressionError(f"{base}^{exponent} is undefined in {self.text!r}") from exc
        return base

    def atom(self) -> float:
        token = self.take()
        if token == "(":
            value = self.expr()
            self.take(")")
            return value
        if token[0].isdigit() or token[0] == ".":
            return parse_number(token)
        if not (token[0].isalpha() or token[0] == "_"):
            raise ExpressionError(f"unexpected {token!r} in expression {self.text!r}")
        name = token.lower()
        if self.peek() == "(":
            return self.call(name)
        if name in self.params:
            self.used.add(name)
            return float(self.params[name])
        if name == "pi":
            return math.pi
        raise ExpressionError(f"unknown parameter {token!r} in expression {self.text!r}")

    def call(self, name: str) -> float:
        function = FUNCTIONS.get(name)
        if function is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"unknown function {name!r} (known: {known})")
        self.take("(")
        args = [self.expr()]
        while self.peek() == ",":
            self.take()
            args.append(self.expr())
        self.take(")")
        try:
            return float(function(*args))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExpressionError(f"{name}{tuple(args)} is undefined: {exc}") from exc


def evaluate(text: str, params: Mapping[str, float]) -> float:
    """Evaluate an expression (braces optional) with lower-case ``params``."""
    return evaluate_with_names(text, params)[0]


def evaluate_with_names(text: str, params: Mapping[str, float]) -> tuple[float, set[str]]:
    """Evaluate and also return the parameter names the expression used, so
    the compiler knows which element values follow a control."""
    body = text.strip()
    if (body.startswith("{") and body.endswith("}")) or (body.startswith("'") and body.endswith("'")):
        body = body[1:-1]
    parser = _Parser(body, params)
    if not parser.tokens:
        raise ExpressionError(f"empty expression {text!r}")
    value = parser.expr()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()!r} in expression {text!r}")
    if not math.isfinite(value):
        raise ExpressionError(f"expression {text!r} is not finite")
    return value, parser.used


def depends_on(text: str) -> set[str]:
    """Names used by an expression (without evaluating it)."""
    return {t.lower() for t in _tokenise(text.strip().strip("{}'")) if _NAME.fullmatch(t)}


#: A compiled expression: parameter values in, the value out.
Compiled = Callable[[Mapping[str, float]], float]


class _Compiler(_Parser):
    """The same grammar as :class:`_Parser`, producing closures instead of
    values: each closure performs the float operations the evaluator would,
    in the same order, so a compiled expression gives the same bits."""

    def __init__(self, text: str) -> None:
        super().__init__(text, {})

    def expr(self) -> Compiled:  # type: ignore[override]
        value = self.term()
        while self.peek() in ("+", "-"):
            left, op, right = value, self.take(), self.term()
            if op == "+":
                value = lambda p, a=left, b=right: a(p) + b(p)  # noqa: E731
            else:
                value = lambda p, a=left, b=right: a(p) - b(p)  # noqa: E731
        return value

    def term(self) -> Compiled:  # type: ignore[override]
        value = self.unary()
        text = self.text
        while self.peek() in ("*", "/"):
            left, op, right = value, self.take(), self.unary()
            if op == "*":
                value = lambda p, a=left, b=right: a(p) * b(p)  # noqa: E731
            else:
                def value(p: Mapping[str, float], a: Compiled = left,
                          b: Compiled = right) -> float:
                    numerator, divisor = a(p), b(p)
                    if divisor == 0.0:
                        raise ExpressionError(f"division by zero in expression {text!r}")
                    return numerator / divisor
        return value

    def unary(self) -> Compiled:  # type: ignore[override]
        if self.peek() == "-":
            self.take()
            inner = self.unary()
            return lambda p: -inner(p)
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Compiled:  # type: ignore[override]
        base = self.atom()
        if self.peek() != "^":
            return base
        self.take()
        exponent = self.unary()
        text = self.text

        def raised(p: Mapping[str, float]) -> float:
            b, e = base(p), exponent(p)
            try:
                return float(math.pow(b, e))
            except (OverflowError, ValueError) as exc:
                raise ExpressionError(f"{b}^{e} is undefined in {text!r}") from exc
        return raised

    def atom(self) -> Compiled:  # type: ignore[override]
        token = self.take()
        if token == "(":
            value = self.expr()
            self.take(")")
            return value
        if token[0].isdigit() or token[0] == ".":
            number = parse_number(token)
            return lambda p: number
        if not (token[0].isalpha() or token[0] == "_"):
            raise ExpressionError(f"unexpected {token!r} in expression {self.text!r}")
        name = token.lower()
        if self.peek() == "(":
            return self.call(name)
        text = self.text

        def lookup(p: Mapping[str, float]) -> float:
            if name in p:
                return float(p[name])
            if name == "pi":
                return math.pi
            raise ExpressionError(f"unknown parameter {token!r} in expression {text!r}")
        return lookup

    def call(self, name: str) -> Compiled:  # type: ignore[override]
        function = FUNCTIONS.get(name)
        if function is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"unknown function {name!r} (known: {known})")
        self.take("(")
        args = [self.expr()]
        while self.peek() == ",":
            self.take()
            args.append(self.expr())
        self.take(")")

        def called(p: Mapping[str, float]) -> float:
            values = [a(p) for a in args]
            try:
                return float(function(*values))
            except (TypeError, ValueError, OverflowError) as exc:
                raise ExpressionError(f"{name}{tuple(values)} is undefined: {exc}") from exc
        return called


def compile_expression(text: str) -> Compiled:
    """Parse an expression once into a function of the parameter values,
    for values evaluated again and again (a control's elements while a knob
    turns): ``compile_expression("{1k+100k*(1-drive)}")({"drive": 0.5})``
    is ``evaluate`` of the same, to the bit, in a fraction of the time."""
    body = text.strip()
    if (body.startswith("{") and body.endswith("}")) or (body.startswith("'") and body.endswith("'")):
        body = body[1:-1]
    compiler = _Compiler(body)
    if not compiler.tokens:
        raise ExpressionError(f"empty expression {text!r}")
    inner = compiler.expr()
    if compiler.peek() is not None:
        raise ExpressionError(f"unexpected {compiler.peek()!r} in expression {text!r}")

    def compiled(params: Mapping[str, float]) -> float:
        value = inner(params)
        if not math.isfinite(value):
            raise ExpressionError(f"expression {text!r} is not finite")
        return value
    return compiled
