"""Generate the compact ``schema.json`` the emulator validates against from the Bot API spec.

Usage: ``python -m bot.emulator.gen_schema /work/shared/telegram-bot-api/api-10.0.json``
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("schema.json")
_SCALARS = {"Integer", "String", "Boolean", "Float", "InputFile"}


def _base(type_str: str) -> str:
    """Strip ``Array of`` prefixes from a spec type string."""
    return re.sub(r"^(Array of )+", "", type_str)


def compact(spec: dict[str, Any]) -> dict[str, Any]:
    """Reduce the full spec to methods' params/returns and the object types params reach."""
    methods: dict[str, Any] = {}
    wanted: list[str] = []
    for name, m in spec["methods"].items():
        params = {f["name"]: [f["types"], f["required"]] for f in m.get("fields", [])}
        methods[name] = {"params": params, "returns": m["returns"]}
        wanted += [_base(t) for f in m.get("fields", []) for t in f["types"]]
    types: dict[str, Any] = {}
    while wanted:  # closure over the object types reachable from method parameters
        name = wanted.pop()
        if name in _SCALARS or name in types or name not in spec["types"]:
            continue
        t = spec["types"][name]
        if "subtypes" in t:
            types[name] = {"subtypes": t["subtypes"]}
            wanted += t["subtypes"]
        else:
            fields = t.get("fields", [])
            types[name] = {"fields": {f["name"]: [f["types"], f["required"]] for f in fields}}
            wanted += [_base(x) for f in fields for x in f["types"]]
    return {"version": spec.get("version"), "methods": methods, "types": types}


def main(argv: list[str] | None = None) -> None:
    """Read the spec path from argv and write ``schema.json`` next to this module."""
    args = sys.argv[1:] if argv is None else argv
    src = Path(args[0] if args else "/work/shared/telegram-bot-api/api-10.0.json")
    data = compact(json.loads(src.read_text(encoding="utf-8")))
    OUT.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(data['methods'])} methods, {len(data['types'])} types)")


if __name__ == "__main__":
    main()
