"""Write the example workflows: workflows/<name>.json (canvas) and workflows/api/<name>.json (API twin).

Both come from scripts/workflow_defs.py; the canvas layout needs the node schemas, read from a running
ComfyUI (``--server URL``) or from one started for the purpose on the ComfyUI test host.

usage: python scripts/build_workflows.py [--server URL] [--check]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
WORKFLOWS = REPO / "workflows"
sys.path[:0] = [str(SCRIPTS), str(REPO)]

from workflow_defs import WORKFLOWS as DEFINITIONS  # noqa: E402


def render(schemas: dict[str, dict]) -> dict[Path, str]:
    """File path -> JSON text of every workflow in both formats."""
    files = {}
    for define in DEFINITIONS:
        workflow = define().complete(schemas)
        files[WORKFLOWS / f"{workflow.name}.json"] = _dump(workflow.canvas(schemas))
        files[WORKFLOWS / "api" / f"{workflow.name}.json"] = _dump(workflow.api())
    return files


def _dump(data: dict) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def stale(files: dict[Path, str]) -> list[Path]:
    """The files whose content on disk differs from ``files``."""
    return [path for path, text in files.items() if not path.is_file() or path.read_text() != text]


@contextmanager
def schemas_from(server: str | None) -> Iterator[dict[str, dict]]:
    """``/object_info`` of ``server``, or of a ComfyUI started on the test host for the duration."""
    if server:
        yield requests.get(f"{server}/object_info", timeout=60).json()
        return
    from tests.support.comfy_server import ComfyServer

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "weights").mkdir()
        comfy = ComfyServer.start(Path(tmp) / "base", Path(tmp) / "weights")
        try:
            yield comfy.object_info()
        finally:
            comfy.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="a running ComfyUI with this pack, e.g. http://127.0.0.1:8188")
    parser.add_argument("--check", action="store_true", help="only report files that are out of date (exit 1)")
    args = parser.parse_args()
    with schemas_from(args.server) as schemas:
        files = render(schemas)
    outdated = stale(files)
    if args.check:
        for path in outdated:
            print(f"out of date: {path.relative_to(REPO)}")
        return 1 if outdated else 0
    for path in outdated:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
        print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
