"""``cryptopay_async/_msgspec_wire.py``: the classes the ``speedups`` engine decodes into.

msgspec builds the public attrs models itself, but three rules of the SDK's contract are
not msgspec's: an enum field keeps an unknown value as ``str`` (msgspec refuses
``Enum | str``), money must be a finite ``Decimal`` (msgspec accepts ``"NaN"``), and a
timestamp needs an offset. Each model that needs a rule gets a *wire* subclass here:
the same fields and slots, enum fields annotated ``str``, timestamps ``Aware``, nested
models by their wire class, and an ``__attrs_post_init__`` that msgspec runs on each new
instance. The hook sets ``__class__`` back to the public model (the layouts are equal:
the subclass adds no slots), maps known enum values to members and checks money.

Written out per model rather than built from closures at import: the hook runs once per
decoded object, and a direct attribute test costs a fifth of an ``attrgetter`` plus
``map`` over a tuple (``_msgspec_decoding.py`` has the figures).
"""

from __future__ import annotations

from typing import Any

from codegen._models import is_callback_enum, join_blocks, order_models
from codegen._source import Group, render
from codegen._spec import HEADER, is_optional

PURPOSE = [
    "# The wire subclasses msgspec decodes into: see codegen/_wire.py for why they exist.",
    "# Each hook puts back the public class, maps known enum values to members (an unknown",
    "# value stays a str) and refuses a non-finite Decimal; timestamps must carry an offset.",
]


def wire_annotation(spec: dict[str, Any], wired: set[str]) -> str | None:
    """The field's annotation for msgspec, or None when the public one serves as is."""
    if "enum" in spec:
        return "str"
    if "model" in spec:
        return f"{spec['model']}Wire" if spec["model"] in wired else None
    kind, fmt = spec.get("type", "object"), spec.get("format")
    for container, key in (("list[{}]", "items"), ("dict[str, {}]", "additional_properties")):
        if key in spec:
            inner = spec[key]
            if "enum" in inner or inner.get("format") in ("decimal", "date-time"):
                raise ValueError(f"no rule for a {kind} of {inner}: add one to codegen/_wire.py")
            found = wire_annotation(inner, wired)
            return container.format(found) if found else None
    return "Aware" if fmt == "date-time" else None


def wire_class(
    name: str, public: str, fields: dict[str, tuple[dict[str, Any], bool]], wired: set[str]
) -> list[str] | None:
    """The wire subclass of ``public`` (``fields``: spec and optional), or None if unneeded."""
    annotations: list[str] = []
    hook = [f'        _set(self, "__class__", {public})']
    for field, (spec, optional) in fields.items():
        wire = wire_annotation(spec, wired)
        if wire is not None:
            annotations.append(f'"{field}": {wire}' + (" | None" if optional else ""))
        if "enum" in spec:
            get = f"_{spec['enum']}.get(self.{field}, self.{field})"
            hook += render(Group("_set(", ["self", f'"{field}"', get], ")"), 8)
        elif spec.get("format") == "decimal":
            test = f"not self.{field}.is_finite()"
            if optional:
                test = f"self.{field} is not None and {test}"
            hook.append(f"        if {test}:")
            hook.append(f'            _not_finite("{field}", self.{field})')
    if not annotations and len(hook) == 1:
        return None
    return [
        f"class {name}Wire({public}):",
        "    __slots__ = ()",
        *(render(("__annotations__ = ", Group("{", annotations, "}")), 4) if annotations else []),
        "",
        "    def __attrs_post_init__(self) -> None:",
        *hook,
    ]


def generate_wire(models: dict[str, Any]) -> str:
    """The wire module: one subclass per model with a rule, and the public -> wire table."""
    wired: set[str] = set()
    blocks: list[list[str]] = []
    table: list[str] = []
    enums: set[str] = set()

    def add(name: str, public: str, fields: dict[str, tuple[dict[str, Any], bool]]) -> None:
        block = wire_class(name, public, fields, wired)
        if block is not None:
            wired.add(name)
            blocks.append(block)
            table.append(f"{public}: {name}Wire")
            enums.update(s["enum"] for s, _ in fields.values() if "enum" in s)

    for name in order_models(models["models"]):
        fields = models["models"][name]["fields"]
        add(name, f"m.{name}", {f: (s, is_optional(s, (name, f))) for f, s in fields.items()})
    for name in models["models"]["Callback"]["mapping"].values():
        fields = models["models"][name]["fields"]
        add(name, f"cb.{name}", {f: (fields[f], False) for f in ("event", "data")})
    maps = [
        f"_{e} = {'cb' if is_callback_enum(e) else 'm'}.{e}._value2member_map_"
        for e in sorted(enums)
    ]
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
        "from cryptopay_async.callbacks import _generated as cb",
        "from cryptopay_async.models import _generated as m",
        "",
        *PURPOSE,
        "",
        "Aware = Annotated[datetime, msgspec.Meta(tz=True)]",
        "_set = object.__setattr__",
        *maps,
        "",
        "",
        "def _not_finite(field: str, value: Any) -> NoReturn:",
        '    raise ValueError(f"field `{field}`: expected a finite decimal, got {value}")',
    ]
    wire_table = render(("WIRE: dict[type, type] = ", Group("{", table, "}")), 0)
    tail = [*wire_table, '"""Each public model that needs a rule, and its wire class."""']
    return join_blocks(head, blocks, tail)
