"""``cryptopay_async/models/_generated.py``: enums and frozen attrs models of every answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codegen._source import Group, render
from codegen._spec import HEADER, MODEL_DOCS, SKIPPED_MODELS, is_optional, member_name


def field_type(spec: dict[str, Any]) -> str:
    """The annotation of a response field (enums also accept values added later, as ``str``)."""
    kind = spec.get("type", "object")
    if "enum" in spec:
        return f"{spec['enum']} | str"
    if "model" in spec:
        return str(spec["model"])
    if kind == "array":
        return f"list[{field_type(spec['items'])}]"
    if kind == "object" and "additional_properties" in spec:
        return f"dict[str, {field_type(spec['additional_properties'])}]"
    fmt = spec.get("format")
    if fmt == "decimal":
        return "Decimal"
    if fmt == "date-time":
        return "datetime"
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}[kind]


def is_callback_enum(name: str) -> bool:
    """Callback enums are generated next to the callback events, not among the models."""
    return name == "CallbackType" or name.endswith("CallbackEvent")


def enum_source(name: str, values: list[str]) -> list[str]:
    """``class Name(ApiEnum)`` with one member per documented value."""
    return [f"class {name}(ApiEnum):", *(f'    {member_name(v)} = "{v}"' for v in values)]


def order_models(models: dict[str, Any]) -> list[str]:
    """Dependencies first, so every annotation names an already defined class."""
    done: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        for fspec in models[name]["fields"].values():
            for dep in (
                fspec.get("model"),
                fspec.get("items", {}).get("model"),
                fspec.get("additional_properties", {}).get("model"),
            ):
                if dep:
                    visit(dep)
        done.append(name)

    for name in sorted(n for n in models if not SKIPPED_MODELS.match(n)):
        visit(name)
    return done


def request_models(endpoints: Sequence[dict[str, Any]], models: dict[str, Any]) -> list[str]:
    """Models a request takes as a nested parameter (``beneficiary``), dependencies first."""
    wanted: set[str] = set()

    def visit(spec: dict[str, Any]) -> None:
        model = spec.get("model") or spec.get("items", {}).get("model")
        if model and model not in wanted:
            wanted.add(model)
            for child in models[model]["fields"].values():
                visit(child)

    for ep in endpoints:
        if ep.get("body_model"):
            for spec in models[ep["body_model"]]["fields"].values():
                visit(spec)
    return [name for name in order_models(models) if name in wanted]


def param_type(spec: dict[str, Any]) -> str:
    """A request parameter's type inside a ``TypedDict`` (what the methods accept)."""
    if "enum" in spec:
        return f"{spec['enum']} | str"
    if "model" in spec:
        return f"{spec['model']}Params"
    if spec.get("type") == "array":
        return f"list[{param_type(spec['items'])}]"
    if spec.get("format") == "decimal":
        return "Decimal | str | int"
    return field_type(spec)


def params_source(name: str, fields: dict[str, Any]) -> list[str]:
    """``class NameParams(TypedDict)``: required and optional keys as the reference says."""
    lines = [
        f"class {name}Params(TypedDict):",
        f'    """``{name}`` as a dict, as request arguments take it."""',
        "",
    ]
    for field, spec in fields.items():
        tp = param_type(spec)
        lines.append(f"    {field}: {tp if spec['required'] else f'NotRequired[{tp}]'}")
    return lines


def generate_models(models: dict[str, Any], endpoints: Sequence[dict[str, Any]] = ()) -> str:
    """The models module: required fields first, optional ones default to ``None``; then
    a ``TypedDict`` per model a request takes nested (``BeneficiaryParams``)."""
    blocks: list[list[str]] = []
    names: list[str] = []
    for enum, values in sorted(models["enums"].items()):
        if not is_callback_enum(enum):
            names.append(enum)
            blocks.append(enum_source(enum, values))
    for name in order_models(models["models"]):
        fields = models["models"][name]["fields"]
        names.append(name)
        lines = ["@attrs.frozen(kw_only=True)", f"class {name}(ApiModel):"]
        lines += [f'    """{MODEL_DOCS[name]}"""', ""]
        optional = {f: is_optional(s, (name, f)) for f, s in fields.items()}
        lines += [f"    {f}: {field_type(s)}" for f, s in fields.items() if not optional[f]]
        lines += [
            f"    {f}: {field_type(s)} | None = None" for f, s in fields.items() if optional[f]
        ]
        blocks.append(lines)
    for name in request_models(endpoints, models["models"]):
        names.append(f"{name}Params")
        blocks.append(params_source(name, models["models"][name]["fields"]))
    head = [
        HEADER,
        "",
        "from __future__ import annotations",
        "",
        "from datetime import datetime",
        "from decimal import Decimal",
        "from typing import NotRequired, TypedDict",
        "",
        "import attrs",
        "",
        "from cryptopay_async.models._base import ApiModel",
        "from cryptopay_async.models._enum import ApiEnum",
    ]
    all_names = render(("__all__ = ", Group("[", [f'"{n}"' for n in sorted(names)], "]")), 0)
    return join_blocks(head, blocks, all_names)


def join_blocks(head: list[str], blocks: list[list[str]], tail: list[str] | None = None) -> str:
    """Module text: top-level blocks two blank lines apart, one newline at the end."""
    parts = ["\n".join(b) for b in (head, *blocks, *([tail] if tail else []))]
    return "\n\n\n".join(parts) + "\n"
