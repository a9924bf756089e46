"""Declared module parameters, checked before a pipeline runs.

Every reference adapter declares its parameters in one :class:`ParamSpec`
(its ``params`` class attribute); a custom :class:`~petsard_status.modules.BaseAdapter`
subclass can declare its own the same way.  :meth:`ParamSpec.check` returns
every problem of one experiment's parameters at once (unknown names with a
did-you-mean, wrong types, values outside their choices or range, missing
required ones), so that a whole pipeline can be checked before any step runs.

A spec of our own rather than a schema library (jsonschema, pydantic): the
rules we need are few (a type, choices, a range, "required with this method")
and the messages must name the module, experiment, parameter, value and what
is allowed in the user's words, which generic validators word for themselves.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BOOL",
    "INT",
    "LIST",
    "MAPPING",
    "NUMBER",
    "RANDOM_STATE",
    "STRING",
    "Param",
    "ParamProblem",
    "ParamSpec",
    "suggest",
]

INT = "integer"
NUMBER = "number"
STRING = "string"
BOOL = "boolean"
LIST = "list"
MAPPING = "mapping"

_KINDS = (INT, NUMBER, STRING, BOOL, LIST, MAPPING)


def _kind_of(value: Any) -> str:
    # bool before int: bool is an int subclass, and 'ratio: yes' is not 1.
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        return LIST
    if isinstance(value, Mapping):
        return MAPPING
    return "null" if value is None else type(value).__name__


def _matches(value: Any, kind: str) -> bool:
    actual = _kind_of(value)
    return actual == kind or (kind == NUMBER and actual == INT)


def suggest(name: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""``."""
    names = [str(c) for c in choices]
    match = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class ParamProblem:
    """One thing wrong with one experiment's parameters.

    ``param`` names the parameter (``None`` for the experiment as a whole) and
    ``key`` is True when the problem is the parameter's name rather than its
    value (so a YAML location points at the name).
    """

    param: str | None
    message: str
    key: bool = False


@dataclass(frozen=True)
class Param:
    """One parameter: its name, accepted types and the values it allows.

    ``kinds`` are some of ``integer``, ``number`` (integers too), ``string``,
    ``boolean``, ``list`` and ``mapping``.  ``choices`` lists the allowed
    values (compared without case when ``ignore_case``); ``minimum`` /
    ``maximum`` bound numbers, excluded when ``exclusive``.  ``items`` /
    ``item_choices`` constrain list items and mapping values; ``keys``
    constrains mapping keys.  ``required`` is True, or the ``method`` values
    under which the parameter is required (``None`` standing for "no method
    given"); ``methods`` limits the parameter to those methods.  ``default``
    and ``doc`` are for people (``validate`` and the docs show them).
    """

    name: str
    kinds: tuple[str, ...]
    doc: str = ""
    default: Any = None
    required: bool | tuple[str | None, ...] = False
    choices: tuple[Any, ...] | None = None
    ignore_case: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False
    items: tuple[str, ...] | None = None
    item_choices: tuple[Any, ...] | None = None
    keys: tuple[str, ...] | None = None
    methods: tuple[str | None, ...] | None = None

    def __post_init__(self) -> None:
        unknown = [k for k in (*self.kinds, *(self.items or ())) if k not in _KINDS]
        if unknown:
            raise ValueError(f"parameter {self.name!r}: unknown kinds {unknown}")

    def required_for(self, method: Any) -> bool:
        if isinstance(self.required, bool):
            return self.required
        return method in self.required

    def applies_to(self, method: Any) -> bool:
        return self.methods is None or method in self.methods

    def allowed(self) -> str:
        """What this parameter accepts, in words."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        text = " or ".join(self._kind_words())
        if self.minimum is not None or self.maximum is not None:
            text += " " + self._range_words()
        return text

    def _kind_words(self) -> list[str]:
        words = []
        for kind in self.kinds:
            if kind == LIST and self.items:
                words.append(f"a list of {' or '.join(s + 's' for s in self.items)}")
            elif kind == MAPPING and self.keys:
                words.append(f"a mapping with keys among {', '.join(self.keys)}")
            else:
                words.append(("an " if kind == INT else "a ") + kind)
        return words

    def _range_words(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{'strictly ' if self.exclusive else ''}between {low:g} and {high:g}"
        if low is not None:
            return f"{'above' if self.exclusive else 'of at least'} {low:g}"
        return f"{'below' if self.exclusive else 'of at most'} {high:g}"

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not allowed, or None."""
        if not any(_matches(value, kind) for kind in self.kinds):
            return f"is {_kind_of(value)} {_show(value)}; it must be {self.allowed()}"
        if self.choices is not None and isinstance(value, str | int | float):
            return self._check_choice(value, self.choices)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self._check_range(value)
        if isinstance(value, list):
            return self._check_items(value, "item")
        if isinstance(value, Mapping):
            bad = [k for k in value if self.keys is not None and k not in self.keys]
            if bad:
                return (f"has key {bad[0]!r}{suggest(bad[0], self.keys or ())}; its keys "
                        f"are among {', '.join(self.keys or ())}")
            return self._check_items(list(value.values()), "value")
        return None

    def _check_choice(self, value: Any, choices: tuple[Any, ...]) -> str | None:
        def same(a: Any, b: Any) -> bool:
            if self.ignore_case and isinstance(a, str) and isinstance(b, str):
                return a.lower() == b.lower()
            return a == b and type(a) is type(b)

        if any(same(value, c) for c in choices):
            return None
        hint = suggest(value, choices) if isinstance(value, str) else ""
        return (f"is {_show(value)}, which is not allowed{hint}; use one of "
                f"{', '.join(str(c) for c in choices)}")

    def _check_range(self, value: float) -> str | None:
        if isinstance(value, float) and not math.isfinite(value):
            return f"is {value!r}; it must be a finite {self.allowed()}"
        low, high = self.minimum, self.maximum
        too_low = low is not None and (value <= low if self.exclusive else value < low)
        too_high = high is not None and (value >= high if self.exclusive else value > high)
        if too_low or too_high:
            return f"is {_show(value)}; it must be {self.allowed()}"
        return None

    def _check_items(self, values: list[Any], what: str) -> str | None:
        for item in values:
            if self.items is not None and not any(_matches(item, k) for k in self.items):
                return (f"has {what} {_show(item)} ({_kind_of(item)}); each {what} must be a "
                        f"{' or '.join(self.items)}")
            if self.item_choices is not None:
                problem = self._check_choice(item, self.item_choices)
                if problem is not None:
                    return f"has {what} {_show(item)} that is not allowed; use one of " + (
                        ", ".join(str(c) for c in self.item_choices))
        return None


@dataclass(frozen=True)
class ParamSpec:
    """Every parameter of one module.

    ``open_methods`` are ``method`` values under which further, undeclared
    parameters are passed on (to a user's class) and so not checked.
    ``reserved`` names parameters set by the config itself, never by a user.
    """

    params: tuple[Param, ...]
    open_methods: tuple[str, ...] = ()
    reserved: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"parameters declared twice: {names}")

    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def get(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def check(self, values: Mapping[str, Any]) -> list[ParamProblem]:
        """Every problem of one experiment's parameters, in the order written."""
        method = values.get("method")
        problems: list[ParamProblem] = []
        method_param = self.get("method")
        if method_param is not None and "method" in values:
            problem = method_param.check(method)
            if problem is not None:
                # The other rules depend on the method; one message is enough.
                return [ParamProblem("method", f"method {problem}")]
        is_open = isinstance(method, str) and method in self.open_methods
        for name, value in values.items():
            if name in self.reserved:
                continue
            param = self.get(name)
            if param is None:
                if not is_open:
                    problems.append(self._unknown(name))
                continue
            if not param.applies_to(method):
                problems.append(ParamProblem(name, (
                    f"parameter {name!r} is only used with method "
                    f"{' or '.join(str(m) for m in param.methods or ())}, not {method!r}; "
                    "remove it or change the method"), key=True))
                continue
            problem = param.check(value)
            if problem is not None:
                problems.append(ParamProblem(name, f"{name} {problem}"))
        for param in self.params:
            if param.name not in values and param.required_for(method):
                with_method = f" with method {method}" if method is not None else ""
                doc = f": {param.doc}" if param.doc else ""
                problems.append(ParamProblem(None, (
                    f"parameter {param.name!r} is required{with_method}{doc} "
                    f"({param.allowed()})"), key=True))
        return problems

    def _unknown(self, name: str) -> ParamProblem:
        known = self.names()
        return ParamProblem(name, (
            f"unknown parameter {name!r}{suggest(name, known)}; its parameters are: "
            f"{', '.join(known)}"), key=True)


RANDOM_STATE = Param(
    "random_state", (INT,), minimum=0,
    doc="seed of every random draw [default: the run's seed]",
)
"""The seed parameter shared by every module that draws random numbers."""
