"""Write the README's generated tables between their markers: the nodes (from their schemas, ``/object_info``)
and the expression sliders (from :func:`liveportrait_core.editing.sliders.slider_table`).

usage: python scripts/node_table.py [--server URL] [--check]
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

from build_workflows import REPO, schemas_from  # noqa: E402

sys.path.insert(0, str(REPO))
from liveportrait_core.editing.sliders import slider_table# noqa: E402

README = REPO / "README.md"
PREFIX = "LPK_"


def table(schemas: dict[str, dict]) -> str:
    """Markdown: one row per node of this pack (category, then display name), inputs and outputs by name."""
    rows = ["| node | category | inputs | outputs | what it does |", "|---|---|---|---|---|"]
    ours = sorted((s for name, s in schemas.items() if name.startswith(PREFIX)),
                  key=lambda s: (s["category"], s["display_name"]))
    for s in ours:
        order = s["input_order"]
        optional = set(order.get("optional", []))
        inputs = ", ".join(f"{n}?" if n in optional else n for n in [*order.get("required", []), *order.get("optional", [])])
        outputs = ", ".join(s.get("output_name") or []) or "(saves)"
        rows.append(f"| **{s['display_name']}** `{s['name']}` | {s['category']} | {inputs} | {outputs} | "
                    f"{_first_sentence(s['description'])} |")
    return "\n".join(rows)


def _first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not one of "e.g." or "...")."""
    return re.split(r"(?<![.]{2})(?<!e\.g)\.\s+(?=[A-Z])", text.strip(), maxsplit=1)[0].rstrip(".").replace("|", "\\|") + "."


def with_table(readme: str, rows: str, name: str = "node-table") -> str:
    """``readme`` with the text between the ``<!-- name:start -->`` and ``<!-- name:end -->`` markers replaced by ``rows``."""
    start_marker, end_marker = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    start, end = readme.index(start_marker) + len(start_marker), readme.index(end_marker)
    return f"{readme[:start]}\n{rows}\n{readme[end:]}"


def with_tables(readme: str, schemas: dict[str, dict]) -> str:
    """``readme`` with both generated tables up to date."""
    return with_table(with_table(readme, table(schemas)), slider_table(), "slider-table")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="a running ComfyUI with this pack, e.g. http://127.0.0.1:8188")
    parser.add_argument("--check", action="store_true", help="only report whether the README is out of date (exit 1)")
    args = parser.parse_args()
    with schemas_from(args.server) as schemas:
        text = with_tables(README.read_text(), schemas)
    if text == README.read_text():
        return 0
    if args.check:
        print("README.md: the node or slider table is out of date; run scripts/node_table.py")
        return 1
    README.write_text(text)
    print(README)
    return 0


if __name__ == "__main__":
    sys.exit(main())
