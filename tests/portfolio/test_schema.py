"""Every numeric field of every input schema is finite and bounded (generated from the schemas).

The walk visits each model reachable from :class:`~simulation.deal.Deal`,
:class:`~simulation.model.CollateralModel` and :class:`~scenarios.Scenario`, and each numeric
slot of each field (a float or int, alone or inside an optional, a list, a mapping or a tuple),
so a field added later is covered without touching this file.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import annotated_types
import pytest
from pydantic import BaseModel, ValidationError

from portfolio.schema import InputModel, pydantic_problems
from scenarios.model import Scenario
from simulation.deal import Deal
from simulation.model import CollateralModel

ROOTS: tuple[type[BaseModel], ...] = (Deal, CollateralModel, Scenario)
BAD_VALUES: tuple[float, ...] = (float("inf"), float("-inf"), float("nan"), 1e308, -1e308)
LOWER = (annotated_types.Ge, annotated_types.Gt)
UPPER = (annotated_types.Le, annotated_types.Lt)


@dataclass(frozen=True)
class Slot:
    """One numeric place in a schema: ``model.field`` and the path inside the field's value."""

    model: type[BaseModel]
    field: str
    inner: tuple[Any, ...]  # e.g. (0,) for a list item, ("k",) for a mapping value
    kind: type
    bounds: tuple[Any, ...]

    @property
    def name(self) -> str:
        steps = (s[0] if isinstance(s, tuple) else s for s in self.inner)
        return ".".join([self.model.__name__, self.field, *map(str, steps)])

    def document(self, value: float) -> Any:
        """The field's value with ``value`` in this slot (other tuple slots get 1)."""
        out: Any = value
        for step, shape in reversed(list(zip(self.inner, self._shapes, strict=True))):
            out = shape(step, out)
        return out

    @property
    def _shapes(self) -> list[Any]:
        return [_SHAPES[type(step)] if not isinstance(step, tuple) else _tuple_shape(step)
                for step in self.inner]



@dataclass(frozen=True)
class _Key:
    """A mapping key in a slot path (0 for int-keyed mappings such as scenario knots)."""

    key: Any

    def __str__(self) -> str:
        return str(self.key)


_SHAPES = {int: lambda i, v: [v], _Key: lambda k, v: {k.key: v}}


def _tuple_shape(step: tuple[int, int]) -> Any:
    index, size = step
    return lambda _, v: [v if j == index else 1 for j in range(size)]


def _strip(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """The bare type and the constraint metadata of an (Annotated) annotation."""
    meta: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        meta += extra
    return annotation, tuple(_flatten(meta))


def _flatten(meta: list[Any]) -> Iterator[Any]:
    for m in meta:
        if hasattr(m, "metadata"):  # a FieldInfo
            yield from m.metadata
        else:
            yield m


def _slots(annotation: Any, inner: tuple[Any, ...], meta: tuple[Any, ...]
           ) -> Iterator[tuple[tuple[Any, ...], type, tuple[Any, ...]] | type[BaseModel]]:
    annotation, extra = _strip(annotation)
    meta = (*meta, *extra)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _slots(arg, inner, meta)
    elif origin is list:
        yield from _slots(typing.get_args(annotation)[0], (*inner, 0), ())
    elif origin is dict:
        key, value = typing.get_args(annotation)
        yield from _slots(value, (*inner, _Key(0 if key is int else "k")), ())
    elif origin is tuple:
        args = typing.get_args(annotation)
        for j, arg in enumerate(args):
            yield from _slots(arg, (*inner, (j, len(args))), ())
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif annotation in (int, float):
        yield inner, annotation, meta


def numeric_slots() -> list[Slot]:
    """Every numeric slot of every model reachable from :data:`ROOTS`."""
    todo, seen, out = list(ROOTS), set(), []
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            for found in _slots(info.annotation, (), tuple(info.metadata)):
                if isinstance(found, type):
                    todo.append(found)
                else:
                    inner, kind, meta = found
                    out.append(Slot(model, name, inner, kind, meta))
    return sorted(out, key=lambda s: s.name)


SLOTS = numeric_slots()


def test_the_walk_finds_the_fields_it_must() -> None:
    names = {s.name for s in SLOTS}
    assert {"Note.balance_usd", "Fee.usd_per_month", "Scorecard.fico",
            "DefaultAssumptions.unemployment_elasticity", "Trigger.schedule.0.1",
            "PathSet.unemployment.0", "ZeroCurve.zero_rates.0", "PoolSpec.seed"} <= names
    assert len(SLOTS) > 60


def test_every_schema_is_an_input_model() -> None:
    todo, seen = list(ROOTS), set()
    while todo:
        model = todo.pop()
        seen.add(model)
        assert issubclass(model, InputModel), model
        for info in model.model_fields.values():
            todo += [f for f in _slots(info.annotation, (), ()) if isinstance(f, type)
                     and f not in seen]


@pytest.mark.parametrize("slot", SLOTS, ids=lambda s: s.name)
def test_every_numeric_field_declares_both_bounds(slot: Slot) -> None:
    if slot.model.__name__ == "PathSet":  # knots: bounds per series in PathSet._check_knots
        return
    assert any(isinstance(m, LOWER) for m in slot.bounds), f"{slot.name}: no lower bound"
    assert any(isinstance(m, UPPER) for m in slot.bounds), f"{slot.name}: no upper bound"


@pytest.mark.parametrize("slot", SLOTS, ids=lambda s: s.name)
def test_every_numeric_field_refuses_non_finite_and_huge_values(slot: Slot) -> None:
    for bad in BAD_VALUES:
        with pytest.raises(ValidationError) as caught:
            slot.model.model_validate({slot.field: slot.document(bad)})
        problems = {p.field: p.message for p in pydantic_problems(caught.value)}
        where = slot.name.split(".", 1)[1]
        assert where in problems or slot.field in problems, (slot.name, bad, problems)


def test_an_error_message_never_formats_the_whole_input() -> None:
    huge = {"name": "x", "notes": [[i] * 1000 for i in range(1000)], "waterfall": ["residual"]}
    with pytest.raises(ValidationError) as caught:
        Deal.model_validate(huge)
    assert max(len(str(p)) for p in pydantic_problems(caught.value)) < 200
