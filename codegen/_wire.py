"""``cryptopay_async/_decoding/_msgspec_wire.py``: the classes the ``speedups`` engine decodes into.

msgspec builds the public attrs models itself, but three rules of the SDK's contract are
not msgspec's: an enum field keeps an unknown value as ``str`` (msgspec refuses
``Enum | str``), money must be a finite ``Decimal`` (msgspec accepts ``"NaN"``), and a
timestamp needs an offset. Each model that needs a rule gets a *wire* subclass here:
the same fields and slots, enum fields annotated ``str``, timestamps ``Aware``, nested
models by their wire class, and an ``__attrs_post_init__`` that msgspec runs on each new
instance. The hook sets ``__class__`` back to the public model (the layouts are equal:
the subclass adds no slots), maps known enum values to members and checks money.

A model whose only rule is finite money (``Exchange``, ``Rate``) is decoded as itself
when it sits directly in a field of another model: the parent's hook checks its amounts
(``exchange.rate``), which spares one hook call per nested object. It keeps its wire
class for every other position (alone, in a list, as a dict value).

Written out per model rather than built from closures at import: the hook runs once per
decoded object, and a direct attribute test costs much less than an ``attrgetter`` plus
``map`` over a tuple (``benchmarks/RESULTS.md``, section h, has the figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codegen._models import is_callback_enum, join_blocks, order_models
from codegen._source import Group, from_import, render
from codegen._spec import HEADER, is_optional

PURPOSE = [
    "# The wire subclasses msgspec decodes into: see codegen/_wire.py for why they exist.",
    "# Each hook puts back the public class, maps known enum values to members (an unknown",
    "# value stays a str) and refuses a non-finite Decimal; timestamps must carry an offset.",
]

Fields = dict[str, tuple[dict[str, Any], bool]]
"""A model's fields: name -> (spec, optional)."""


@dataclass
class Plan:
    """What is known of the models generated so far."""

    wired: set[str] = field(default_factory=set)
    money_only: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    """Models whose only rule is finite money: their decimal fields and whether optional."""


def wire_annotation(spec: dict[str, Any], plan: Plan, *, nested: bool = False) -> str | None:
    """The field's annotation for msgspec, or None when the public one serves as is."""
    if "enum" in spec:
        return "str"
    if "model" in spec:
        model = spec["model"]
        if model not in plan.wired or (model in plan.money_only and not nested):
            return None
        return f"{model}Wire"
    kind, fmt = spec.get("type", "object"), spec.get("format")
    for container, key in (("list[{}]", "items"), ("dict[str, {}]", "additional_properties")):
        if key in spec:
            inner = spec[key]
            if "enum" in inner or inner.get("format") in ("decimal", "date-time"):
                raise ValueError(f"no rule for a {kind} of {inner}: add one to codegen/_wire.py")
            found = wire_annotation(inner, plan, nested=True)
            return container.format(found) if found else None
    return "Aware" if fmt == "date-time" else None


def money_check(owner: str, name: str, optional: bool, label: str) -> list[str]:
    """``if <owner>.<name> is not finite: refuse``, at the hook's indentation."""
    value = f"{owner}.{name}"
    test = f"not {value}.is_finite()"
    if optional:
        test = f"{value} is not None and {test}"
    return [f"        if {test}:", f'            _not_finite("{label}", {value})']


def hook_lines(name: str, fields: Fields, plan: Plan) -> tuple[list[str], bool]:
    """The hook's body, and whether it does more than put the public class back."""
    hook = [f'        _set(self, "__class__", {name})']
    for field_name, (spec, optional) in fields.items():
        if "enum" in spec:
            get = f"_{spec['enum']}.get(self.{field_name}, self.{field_name})"
            setter = Group("_set(", ["self", f'"{field_name}"', get], ")")
            line = render(setter, 12 if optional else 8)
            hook += [f"        if self.{field_name} is not None:", *line] if optional else line
        elif spec.get("format") == "decimal":
            hook += money_check("self", field_name, optional, field_name)
        elif spec.get("model") in plan.money_only:
            child = spec["model"]
            checks = [
                line
                for child_field, child_optional in plan.money_only[child]
                for line in money_check(
                    f"{field_name}_", child_field, child_optional, f"{field_name}.{child_field}"
                )
            ]
            hook.append(f"        {field_name}_ = self.{field_name}")
            if optional:
                hook.append(f"        if {field_name}_ is not None:")
                checks = ["    " + line for line in checks]
            hook += checks
    return hook, len(hook) > 1


def wire_class(name: str, fields: Fields, plan: Plan) -> list[str] | None:
    """The wire subclass of model ``name``, or None when msgspec can decode it as it is."""
    annotations = []
    for field_name, (spec, optional) in fields.items():
        wire = wire_annotation(spec, plan)
        if wire is not None:
            annotations.append(f'"{field_name}": {wire}' + (" | None" if optional else ""))
    hook, has_rules = hook_lines(name, fields, plan)
    if not annotations and not has_rules:
        return None
    if not annotations and all(
        spec.get("format") == "decimal" for spec, _ in fields.values() if has_rule(spec, plan)
    ):
        plan.money_only[name] = [
            (f, optional)
            for f, (spec, optional) in fields.items()
            if spec.get("format") == "decimal"
        ]
    return [
        f"class {name}Wire({name}):",
        "    __slots__ = ()",
        *(render(("__annotations__ = ", Group("{", annotations, "}")), 4) if annotations else []),
        "",
        "    def __attrs_post_init__(self) -> None:",
        *hook,
    ]


def has_rule(spec: dict[str, Any], plan: Plan) -> bool:
    return (
        "enum" in spec
        or spec.get("format") in ("decimal", "date-time")
        or spec.get("model") in plan.wired
    )


def generate_wire(models: dict[str, Any]) -> str:
    """The wire module: one subclass per model with a rule, and the public -> wire table."""
    plan = Plan()
    blocks: list[list[str]] = []
    table: list[str] = []
    enums: set[str] = set()

    def add(name: str, fields: Fields) -> None:
        block = wire_class(name, fields, plan)
        if block is not None:
            plan.wired.add(name)
            blocks.append(block)
            table.append(f"{name}: {name}Wire")
            enums.update(s["enum"] for s, _ in fields.values() if "enum" in s)

    for name in order_models(models["models"]):
        fields = models["models"][name]["fields"]
        add(name, {f: (s, is_optional(s, (name, f))) for f, s in fields.items()})
    callbacks = list(models["models"]["Callback"]["mapping"].values())
    for name in callbacks:
        fields = models["models"][name]["fields"]
        add(name, {f: (fields[f], False) for f in ("event", "data")})
    names = plan.wired | enums
    from_callbacks = {n for n in names if n in callbacks or is_callback_enum(n)}
    head = [
        HEADER,
        "",
        "from __future__ import annotations",
        "",
        "from datetime import datetime",
        "from typing import Annotated, Any, NoReturn",
        "",
        "import msgspec",
        "",
        *from_import("cryptopay_async.models._callbacks", from_callbacks),
        *from_import("cryptopay_async.models._generated", names - from_callbacks),
        "",
        *PURPOSE,
        "",
        "Aware = Annotated[datetime, msgspec.Meta(tz=True)]",
        "_set = object.__setattr__",
        *(f"_{e} = {e}._value2member_map_" for e in sorted(enums)),
        "",
        "",
        "def _not_finite(field: str, value: Any) -> NoReturn:",
        '    raise ValueError(f"field `{field}`: expected a finite decimal, got {value}")',
    ]
    wire_table = render(("WIRE: dict[type, type] = ", Group("{", table, "}")), 0)
    tail = [*wire_table, '"""Each public model that needs a rule, and its wire class."""']
    return join_blocks(head, blocks, tail)
