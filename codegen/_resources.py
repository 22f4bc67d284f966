"""``cryptopay_async/resources/_generated.py``: every operation as data, and its method.

An operation is declared once as an ``Operation`` value carrying only what differs from
the defaults; its method has the typed signature users see and hands its arguments on.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from codegen._models import join_blocks
from codegen._source import Group, docstring, from_import, quote, render, tuple_of
from codegen._spec import (
    COMMIT_RECOVERY,
    CREATE_RECOVERY,
    EXACTLY_ONE,
    HEADER,
    QUERY_ENUMS,
    REMEMBERED,
    SKIPPED_FIELDS,
    SUMMARIES,
    class_name,
)

MODEL_NAMES = re.compile(r"\b(?!Decimal\b|Mapping\b|Sequence\b|Any\b|None\b)[A-Z]\w+")
"""Capitalized names in a type annotation that are models or enums."""


def data_type(response_model: str, models: dict[str, Any]) -> str:
    """The type of the envelope's ``data``: ``Invoice``, ``list[Coin]``, ``dict[str, Rate]``."""
    data = models[response_model]["fields"]["data"]
    if data["type"] == "array":
        return f"list[{data['items']['model']}]"
    if data["type"] == "object" and "additional_properties" in data:
        return f"dict[str, {data['additional_properties']['model']}]"
    return str(data["model"])


def argument(spec: dict[str, Any], optional: bool) -> tuple[str, str]:
    """(annotation in the signature, checker expression) for one body or query field."""
    kind = spec["type"]
    if "enum" in spec:
        ann, check = f"{spec['enum']} | str", f"partial(arg.choice, enum={spec['enum']})"
    elif "model" in spec:
        model = spec["model"]
        ann, check = f"{model} | {model}Params", f"partial(arg.nested, cls={model})"
    elif kind == "array":
        model = spec["items"]["model"]
        ann = f"Sequence[{model} | {model}Params]"
        check = f"partial(arg.nested_list, cls={model})"
    elif kind == "object":
        ann, check = "Mapping[str, str]", "arg.string_map"
    elif spec.get("format") == "decimal":
        ann, check = "Decimal | str | int", "arg.amount"
    elif spec.get("format") == "date-time":
        ann, check = "datetime", "arg.timestamp"
    else:
        ann, check = {
            "string": ("str", "arg.text"),
            "integer": ("int", "arg.integer"),
            "boolean": ("bool", "arg.boolean"),
        }[kind]
    return (f"{ann} | None" if optional else ann), check


CALL_OPTIONS = (
    ("timeout", "float | httpx.Timeout"),
    ("extra_headers", "Mapping[str, str]"),
    ("extra_query", "Mapping[str, str | bool]"),
    ("extra_body", "Mapping[str, object]"),
)
"""The keyword-only options every method takes after its own arguments (in this order)."""


def param(name: str, check: str, required: bool) -> str:
    return f"Param({quote(name)}, {check}{', required=True' if required else ''})"


class _Generated:
    """Collects the declarations, methods and imported names while walking the endpoints."""

    def __init__(self, models: dict[str, Any]) -> None:
        self.models = models
        self.declarations: list[list[str]] = []
        self.names: set[str] = set()  # model and enum names the module uses
        self.features: set[str] = set()  # "builtins", "partial", "Mapping", ...

    def use(self, annotation: str) -> None:
        """Note the names an annotation or checker needs imported."""
        self.names.update(MODEL_NAMES.findall(annotation))
        for feature in ("builtins", "partial", "Mapping", "Sequence", "datetime", "Decimal"):
            if re.search(rf"\b{feature}\b", annotation):
                self.features.add(feature)

    def method(self, ep: dict[str, Any]) -> list[str]:
        key = f"{ep['resource']}.{ep['operation']}"
        const = f"_{ep['resource'].upper()}_{ep['operation'].upper()}"
        result = data_type(ep["response_model"], self.models)
        keyword: list[tuple[str, str, bool]] = []  # (name, annotation, required)
        body: list[str] = []
        query: list[str] = []
        if ep["body_model"]:
            for name, spec in self.models[ep["body_model"]]["fields"].items():
                if any(spec.get(flag) for flag in SKIPPED_FIELDS):
                    continue
                ann, check = argument(spec, optional=not spec["required"])
                self.use(f"{ann} {check}")
                keyword.append((name, ann, spec["required"]))
                body.append(param(name, check, spec["required"]))
        for q in ep["query_params"]:
            if q["name"] == "starting_after" and ep["paginated"]:
                continue  # the pager's cursor, not a user argument
            spec = {"type": "boolean" if q["type"] == "boolean" else "string"}
            if q.get("format") == "date-time":
                spec["format"] = "date-time"
            if q["name"] in QUERY_ENUMS:
                spec["enum"] = QUERY_ENUMS[q["name"]]
            ann, check = argument(spec, optional=True)
            self.use(f"{ann} {check}")
            keyword.append((q["name"], ann, False))
            query.append(param(q["name"], check, False))

        fields: list[str | tuple[str, Group]] = [
            f"name={quote(key)}",
            f"method={quote(ep['method'])}",
            f"path={quote(ep['path'])}",
        ]
        for label, items in (("query", query), ("body", body)):
            if items or (label == "body" and ep["body_model"]):
                value = tuple_of(items)
                fields.append(
                    f"{label}={value}" if isinstance(value, str) else (f"{label}=", value)
                )
        fields.append(f"result={result}")
        if ep["paginated"]:
            fields.append("paginated=True")
        if key in EXACTLY_ONE:
            fields.append(("exactly_one=", Group("(", [quote(n) for n in EXACTLY_ONE[key]], ")")))
        if ep.get("deprecated"):
            fields.append("deprecated=True")
        recovery = recovery_source(key)
        if recovery is not None:
            fields.append(recovery)
        declaration = render(
            (f"{const}: Operation[{result}] = ", Group("Operation(", fields, ")")), 0
        )
        self.declarations.append(declaration)
        self.use(result)

        params: list[str] = ["self", *(f"{p}: str" for p in ep["path_params"])]
        if ep["path_params"]:
            params.append("/")
        params.append("*")
        params += [f"{n}: {a}" for n, a, required in keyword if required]
        params += [f"{n}: {a} = None" for n, a, required in keyword if not required]
        # Per-call options: every method (a list keeps them on every page); a GET sends
        # no body, so it takes no extra_body.
        options = CALL_OPTIONS if ep["method"] != "GET" else CALL_OPTIONS[:-1]
        params += [f"{n}: {a} | None = None" for n, a in options]
        self.features.add("httpx")
        self.features.add("Mapping")
        if ep["paginated"]:
            item = result.removeprefix("list[").removesuffix("]")
            returns, head, call = f"AsyncPager[{item}]", "def", "return self._paginate("
        else:
            returns, head, call = result, "async def", "return await self._call("
            if result.startswith("list["):
                returns = f"builtins.{result}"  # `list` is a method name in these classes
                self.use(returns)
        signature = Group(f"{head} {ep['operation']}(", params, ")")
        values = Group("{", [f"{quote(n)}: {n}" for n, _, _ in keyword], "}")
        passed = [f"{n}={n}" for n, _ in options]
        arguments = Group(call, [const, tuple_of(ep["path_params"]), values, *passed], ")")
        doc = [SUMMARIES[key], "", f"``{ep['method']} {ep['path']}``"]
        if ep.get("notes"):
            doc += ["", *textwrap.wrap(ep["notes"], 80)]
        if ep["paginated"]:
            doc += ["", "``await`` it for the first page; ``async for`` it for every item."]
        return [
            *render(signature, 4, f" -> {returns}:"),
            *docstring(doc, 8),
            *render(arguments, 8),
        ]


def generate_resources(endpoints: list[dict[str, Any]], models: dict[str, Any]) -> str:
    """The operations module: declarations, one class per resource, ``OPERATIONS``."""
    gen = _Generated(models)
    by_resource: dict[str, list[dict[str, Any]]] = {}
    for ep in endpoints:
        by_resource.setdefault(ep["resource"], []).append(ep)
    classes: list[list[str]] = []
    for resource in sorted(by_resource):
        lines = [f"class {class_name(resource)}(Resource):", f'    """``client.{resource}``."""']
        lines += ["", "    __slots__ = ()"]
        for ep in sorted(by_resource[resource], key=lambda e: e["operation"]):
            lines += ["", *gen.method(ep)]
        classes.append(lines)
    names = sorted(by_resource)
    classes.append(
        [
            "class Resources:",
            '    """Every resource of a client, each sending through ``sender``."""',
            "",
            *render(
                (
                    "__slots__ = ",
                    Group("(", [quote(n) for n in sorted([*names, "memory", "sender"])], ")"),
                ),
                4,
            ),
            "",
            "    def __init__(self, sender: Sender, memory: RecoveryMemory | None = None) -> None:",
            "        self.sender: Sender = sender",
            "        self.memory: RecoveryMemory = RecoveryMemory() if memory is None else memory",
            *(f"        self.{r}: {class_name(r)} = {class_name(r)}(self)" for r in names),
        ]
    )
    classes.append(
        [
            *render(("RESOURCE_NAMES = ", Group("(", [quote(n) for n in names], ")")), 0),
            '"""The attribute names of the resources, as on ``client.<resource>``."""',
        ]
    )
    consts = [
        f"_{ep['resource'].upper()}_{ep['operation'].upper()}"
        for ep in sorted(endpoints, key=lambda e: (e["resource"], e["operation"]))
    ]
    operations = render(("OPERATIONS: tuple[Operation[Any], ...] = ", Group("(", consts, ")")), 0)
    head = [HEADER, "", "from __future__ import annotations", ""]
    stdlib = [
        ("builtins", "import builtins"),
        ("Mapping", "from collections.abc import "),
        ("datetime", "from datetime import datetime"),
        ("Decimal", "from decimal import Decimal"),
        ("partial", "from functools import partial"),
    ]
    for feature, line in stdlib:
        if line.endswith(" import "):
            abc = [n for n in ("Mapping", "Sequence") if n in gen.features]
            if abc:
                head.append(line + ", ".join(abc))
        elif feature in gen.features:
            head.append(line)
    head += ["from typing import TYPE_CHECKING, Any", ""]
    if "httpx" in gen.features:
        head += ["import httpx", ""]
    head += [
        *from_import("cryptopay_async.models._generated", gen.names),
        "from cryptopay_async.models._pagination import AsyncPager",
        "from cryptopay_async.resources import _arguments as arg",
        "from cryptopay_async.resources._base import Operation, Param, Resource",
        "from cryptopay_async.resources._recovery import (",
        "    CommitRecovery,",
        "    CreateRecovery,",
        "    RecoveryMemory,",
        "    Remember,",
        ")",
        "",
        "if TYPE_CHECKING:",
        "    from cryptopay_async.resources._sender import Sender",
    ]
    body = "\n\n".join("\n".join(d) for d in gen.declarations)
    return join_blocks(["\n".join(head) + "\n\n" + body], classes, operations)


def recovery_source(key: str) -> tuple[str, Group] | None:
    """The ``recovery=`` field of an operation that moves money (``codegen/_spec.py``)."""
    if key in CREATE_RECOVERY:
        what, read_back, compare = CREATE_RECOVERY[key]
        parts: list[str | Group] = [
            quote(what),
            "None" if read_back is None else quote(read_back),
            tuple_of([quote(c) for c in compare]),
        ]
        return ("recovery=", Group("CreateRecovery(", parts, ")"))
    if key in COMMIT_RECOVERY:
        what, read_back, uncommitted, remembered = COMMIT_RECOVERY[key]
        states = "None" if uncommitted is None else tuple_of([quote(u) for u in uncommitted])
        parts = [quote(what), quote(read_back), states]
        if remembered:
            parts.append("remembered=True")
        return ("recovery=", Group("CommitRecovery(", parts, ")"))
    if key in REMEMBERED:
        return ("recovery=", Group("Remember(", [quote(REMEMBERED[key])], ")"))
    return None
