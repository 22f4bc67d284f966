"""``cryptopay_async/models/_callbacks.py``: a class per callback ``type`` and its events."""

from __future__ import annotations

from typing import Any

from codegen._models import enum_source, join_blocks
from codegen._source import LINE_LENGTH, Group, from_import, render
from codegen._spec import CALLBACK_DOCS, HEADER


def generate_callbacks(models: dict[str, Any]) -> str:
    """Event enums, one frozen class per known ``type``, and the ``type`` -> class table."""
    mapping: dict[str, str] = models["models"]["Callback"]["mapping"]
    blocks: list[list[str]] = []
    data_models: list[str] = []
    for kind, name in mapping.items():
        fields = models["models"][name]["fields"]
        if fields["type"]["const"] != kind:
            raise ValueError(f"{name}.type is {fields['type']['const']!r}, mapped as {kind!r}")
        event_enum = fields["event"]["enum"]
        data_models.append(fields["data"]["model"])
        blocks.append(enum_source(event_enum, models["enums"][event_enum]))
        blocks.append(
            [
                "@attrs.frozen(kw_only=True)",
                f"class {name}(ApiModel):",
                f'    """{CALLBACK_DOCS[name]}"""',
                "",
                f'    type: ClassVar[str] = "{kind}"',
                '    _constants: ClassVar[tuple[str, ...]] = ("type",)',
                f"    event: {event_enum} | str",
                f"    data: {fields['data']['model']}",
            ]
        )
    known = list(mapping.values())
    blocks.append(
        [
            *union("KnownCallback", known),
            '"""Every callback class this release knows, by its ``type``."""',
            "",
            *render(
                (
                    "KNOWN_CALLBACKS: dict[str, type[KnownCallback]] = ",
                    Group("{", [f'"{kind}": {name}' for kind, name in mapping.items()], "}"),
                ),
                0,
            ),
        ]
    )
    head = [
        HEADER,
        "",
        "from __future__ import annotations",
        "",
        "from typing import ClassVar",
        "",
        "import attrs",
        "",
        "from cryptopay_async.models._base import ApiModel",
        "from cryptopay_async.models._enum import ApiEnum",
        *from_import("cryptopay_async.models._generated", data_models),
    ]
    return join_blocks(head, blocks)


def union(alias: str, names: list[str]) -> list[str]:
    """``alias = A | B``, parenthesized over lines as ruff does when it is too long."""
    line = f"{alias} = {' | '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return [line]
    inner = "    " + " | ".join(names)
    if len(inner) <= LINE_LENGTH:
        return [f"{alias} = (", inner, ")"]
    return [f"{alias} = (", f"    {names[0]}", *(f"    | {n}" for n in names[1:]), ")"]
