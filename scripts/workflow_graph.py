"""One workflow described once, written in both ComfyUI formats: the canvas (UI) JSON and its API twin.

A :class:`Workflow` holds nodes placed in columns, their widget values and links, and Markdown notes.
``api()`` gives the API prompt (what ``POST /prompt`` takes); ``canvas(schemas)`` gives the canvas
workflow the frontend loads, laid out from the node schemas of ``/object_info`` the way the frontend
itself serialises nodes (socket inputs first, then one input per widget; the extra widget values of
upload buttons, last, of ``control_after_generate``, and of Webcam Capture's capture button).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO", "WEBCAM"}  # WEBCAM: Webcam Capture's image
UPLOADS = ("image_upload", "video_upload", "audio_upload")
COLUMN_WIDTH, NODE_WIDTH, NOTE_WIDTH, GAP, TITLE = 380, 330, 340, 40, 30
ROW, WIDGET_ROW, PADDING = 20, 24, 14  # the frontend's slot and widget heights
PREVIEWS = {"LoadImage": 260, "LoadVideo": 300, "WebcamCapture": 260}  # extra height of nodes that show the picture / video


@dataclass(frozen=True)
class Link:
    """Output ``slot`` of ``node``."""

    node: "Node"
    slot: int


@dataclass(eq=False)
class Node:
    id: int
    type: str
    column: int
    title: str | None
    inputs: dict[str, Any]
    text: str | None = None  # notes only

    def __getitem__(self, slot: int) -> Link:
        return Link(self, slot)


@dataclass
class Workflow:
    """A workflow under construction: ``add`` nodes, ``note`` the canvas, then write ``api()`` / ``canvas()``."""

    name: str
    nodes: list[Node] = field(default_factory=list)

    def add(self, type: str, column: int, title: str | None = None, **inputs: Any) -> Node:
        node = Node(len(self.nodes) + 1, type, column, title, inputs)
        self.nodes.append(node)
        return node

    def note(self, column: int, text: str) -> Node:
        """A Markdown note (frontend-only: not part of the API prompt)."""
        node = self.add("MarkdownNote", column, "Note")
        node.text = text.strip()
        return node

    def complete(self, schemas: dict[str, dict]) -> "Workflow":
        """Give every widget input left out its default from ``schemas`` (``/object_info``), as the frontend would."""
        for node in self._executable():
            schema = _schema(schemas, node.type)
            node.title = node.title or schema["display_name"]
            for name, kind, options in _widget_specs(schema):
                node.inputs.setdefault(name, options.get("default", _fallback(kind, options)))
        return self

    # ------------------------------------------------------------------ API format

    def api(self) -> dict[str, dict]:
        """The API prompt: node id -> class_type, inputs (links as ``[id, slot]``) and the title."""
        prompt = {}
        for node in self._executable():
            inputs = {k: [str(v.node.id), v.slot] if isinstance(v, Link) else v for k, v in node.inputs.items()}
            prompt[str(node.id)] = {"inputs": inputs, "class_type": node.type, "_meta": {"title": node.title}}
        return prompt

    def _executable(self) -> list[Node]:
        return [n for n in self.nodes if n.text is None]

    # ------------------------------------------------------------------ canvas format

    def canvas(self, schemas: dict[str, dict]) -> dict:
        """The canvas workflow; ``schemas`` is ``/object_info`` (display names, inputs, outputs of each node type)."""
        links: list[list] = []
        canvas_nodes = {n.id: self._canvas_node(n, schemas) for n in self.nodes}
        for node in self._executable():
            slots = [i["name"] for i in canvas_nodes[node.id]["inputs"]]
            for name, value in node.inputs.items():
                if isinstance(value, Link):
                    link_id = len(links) + 1
                    target = slots.index(name)
                    kind = canvas_nodes[value.node.id]["outputs"][value.slot]["type"]
                    links.append([link_id, value.node.id, value.slot, node.id, target, kind])
                    canvas_nodes[node.id]["inputs"][target]["link"] = link_id
                    canvas_nodes[value.node.id]["outputs"][value.slot]["links"].append(link_id)
        self._place(canvas_nodes)
        for order, node_id in enumerate(self._order()):
            canvas_nodes[node_id]["order"] = order
        return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"liveportrait-kit/{self.name}")), "revision": 0,
                "last_node_id": len(self.nodes), "last_link_id": len(links), "nodes": list(canvas_nodes.values()),
                "links": links, "groups": [], "config": {}, "extra": {"ds": {"scale": 0.75, "offset": [40, 40]}},
                "version": 0.4}

    def _canvas_node(self, node: Node, schemas: dict[str, dict]) -> dict:
        base = {"id": node.id, "type": node.type, "pos": [0, 0], "size": [0, 0], "flags": {}, "order": 0, "mode": 0}
        if node.text is not None:
            height = PADDING + 22 * (node.text.count("\n") + 2)
            return {**base, "size": [NOTE_WIDTH, height], "inputs": [], "outputs": [], "title": node.title,
                    "properties": {}, "widgets_values": [node.text], "color": "#432", "bgcolor": "#653"}
        schema = _schema(schemas, node.type)
        sockets, widgets, values = _inputs(schema, node)
        outputs = [{"name": name, "type": kind, "links": []} for name, kind in zip(schema["output_name"], schema["output"])]
        height = (PADDING + ROW * max(len(sockets), len(outputs)) + WIDGET_ROW * len(values)
                  + PREVIEWS.get(node.type, 0))
        return {**base, "size": [NODE_WIDTH, height], "inputs": sockets + widgets, "outputs": outputs,
                "title": node.title,
                "properties": {"Node name for S&R": node.type}, "widgets_values": values}

    def _place(self, canvas_nodes: dict[int, dict]) -> None:
        """Stack each column's nodes top to bottom, in the order they were added."""
        tops: dict[int, float] = {}
        for node in self.nodes:
            data = canvas_nodes[node.id]
            y = tops.get(node.column, 0)
            data["pos"] = [node.column * COLUMN_WIDTH, y + TITLE]
            tops[node.column] = y + TITLE + data["size"][1] + GAP

    def _order(self) -> list[int]:
        """Node ids in an order where every node comes after the nodes it takes inputs from."""
        done: list[int] = []

        def visit(node: Node) -> None:
            if node.id in done:
                return
            for value in node.inputs.values():
                if isinstance(value, Link):
                    visit(value.node)
            done.append(node.id)

        for node in self.nodes:
            visit(node)
        return done


def _schema(schemas: dict[str, dict], node_type: str) -> dict:
    if node_type not in schemas:
        raise KeyError(f"node type {node_type} is not in /object_info; is the pack that provides it installed?")
    return schemas[node_type]


def _specs(schema: dict) -> list[tuple[str, str, dict, bool]]:
    """(name, type, options, optional) of every input, in the node's input order; combos have type COMBO."""
    specs = {**schema["input"].get("required", {}), **schema["input"].get("optional", {})}
    optional = set(schema["input"].get("optional", {}))
    order = [*schema["input_order"].get("required", []), *schema["input_order"].get("optional", [])]
    out = []
    for name in order:
        kind, options = specs[name][0], (specs[name][1] if len(specs[name]) > 1 else {})
        out.append((name, "COMBO" if isinstance(kind, list) else kind, options, name in optional))
    return out


def _is_widget(kind: str, options: dict) -> bool:
    return kind in WIDGET_TYPES and not options.get("forceInput")


def _widget_specs(schema: dict) -> list[tuple[str, str, dict]]:
    return [(name, kind, options) for name, kind, options, _ in _specs(schema) if _is_widget(kind, options)]


def _inputs(schema: dict, node: Node) -> tuple[list[dict], list[dict], list]:
    """(socket inputs, widget inputs, widgets_values) of ``node`` as the frontend serialises them."""
    specs = _specs(schema)
    unknown = set(node.inputs) - {name for name, *_ in specs}
    if unknown:
        raise KeyError(f"{node.type} has no input(s) {sorted(unknown)}; its inputs are {[n for n, *_ in specs]}")
    sockets, widgets, values, uploads = [], [], [], 0
    for name, kind, options, optional in specs:
        if not _is_widget(kind, options):
            if name in node.inputs:
                sockets.append({"name": name, "type": kind, "link": None, **({"shape": 7} if optional else {})})
            continue
        value = node.inputs[name]
        if isinstance(value, Link):  # a linked widget keeps its default as the (unused) widget value
            value = options.get("default", _fallback(kind, options))
        widgets.append({"name": name, "type": kind, "widget": {"name": name}, "link": None})
        values.append("" if kind == "WEBCAM" else value)  # a webcam's picture is captured when queued, never stored
        if options.get("control_after_generate"):
            values.append("fixed")
        uploads += any(options.get(u) for u in UPLOADS)
    for _ in range(uploads):  # the frontend adds upload buttons after all other widgets
        widgets.append({"name": "upload", "type": "IMAGEUPLOAD", "widget": {"name": "upload"}, "link": None})
        values.append("image")
    if any(kind == "WEBCAM" for _, kind, *_ in specs):  # the frontend adds a webcam's capture button last
        values.append("capture")
    return sockets, widgets, values


def _fallback(kind: str, options: dict) -> Any:
    """The frontend's value for a widget without a default."""
    if kind == "COMBO":
        return (options.get("options") or [""])[0]
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False, "WEBCAM": ""}[kind]
