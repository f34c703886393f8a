"""What the README promises beyond the first command: its node and slider tables are the code's, and the Python
client scripts/queue_workflow.py queues, waits over the websocket and downloads (against the test server)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import av
from PIL import Image

from tests.support.comfy_server import REPO
from tests.support.faces import face_models, server_face_models  # noqa: F401  (fixtures)
from tests.support.workflows import FRAMES, api_workflow, shortened, workflow_inputs  # noqa: F401  (fixture)

sys.path.insert(0, str(REPO / "scripts"))
import node_table  # noqa: E402

CLIENT = REPO / "scripts" / "queue_workflow.py"
# a cheap core-only workflow: the client is generic
WORKFLOW = {"1": {"class_type": "LoadImage", "inputs": {"image": "none.png"}, "_meta": {"title": "Picture"}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}, "_meta": {"title": "Save"}}}


def test_readme_tables_are_generated_from_the_schemas_and_the_sliders(comfy_server):
    readme = (REPO / "README.md").read_text()
    assert node_table.with_tables(readme, comfy_server.object_info()) == readme, \
        "run: .venv/bin/python scripts/node_table.py"


def client(server, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    workflow = tmp_path / "workflow.json"
    workflow.write_text(json.dumps(WORKFLOW))
    return subprocess.run([sys.executable, str(CLIENT), str(workflow), "--server", server.url, "--out", str(tmp_path / "out"),
                           *args], capture_output=True, text=True, timeout=300)


def test_client_uploads_sets_queues_and_downloads(comfy_server, tmp_path, assets_dir):
    picture = assets_dir / "source" / "s42.jpg"
    proc = client(comfy_server, tmp_path, "--upload", f"Picture.image={picture}", "--set", "2.filename_prefix=client/ok")
    assert proc.returncode == 0, proc.stderr
    (saved,) = map(Path, proc.stdout.split())
    assert saved.parent == tmp_path / "out" / "client" and saved.name.startswith("ok_")
    with Image.open(saved) as image, Image.open(picture) as original:
        assert image.size == original.size


def test_client_times_each_node_that_ran(comfy_server, tmp_path, assets_dir):
    picture = tmp_path / "timed_picture.jpg"  # a name of its own: no earlier prompt left this Load Image cached
    picture.write_bytes((assets_dir / "source" / "s12.jpg").read_bytes())
    proc = client(comfy_server, tmp_path, "--upload", f"Picture.image={picture}", "--set", "2.filename_prefix=client/t",
                  "--timings")
    assert proc.returncode == 0, proc.stderr
    table = proc.stderr.splitlines()[proc.stderr.splitlines().index(f"{'node':<48} {'s':>9} {'share':>6}") + 1:]
    rows = {line[:48].strip(): line[48:].split() for line in table}
    assert set(rows) == {"node 1 (Picture)", "node 2 (Save)", "prompt (execution start to success)"}, proc.stderr
    seconds = {name: float(values[0]) for name, values in rows.items()}
    total = seconds.pop("prompt (execution start to success)")
    assert all(s >= 0 for s in seconds.values()) and 0 < sum(seconds.values()) <= total


def test_client_reports_a_refused_workflow(comfy_server, tmp_path):
    proc = client(comfy_server, tmp_path, "--set", "Picture.image=missing.png")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "refused" in proc.stderr and "missing.png" in proc.stderr


def test_the_readme_python_client_runs_a_workflow_and_fetches_the_video(comfy_server, workflow_inputs, tmp_path,  # noqa: F811
                                                                        assets_dir):
    code = re.search(r"<!-- client:start -->\n```python\n(.*?)```\n<!-- client:end -->",
                     (REPO / "README.md").read_text(), re.S).group(1)
    workflow = tmp_path / "workflow.json"  # the README's workflow, shortened to a few frames for the CPU
    workflow.write_text(json.dumps(shortened(api_workflow("animate_motion_template"))))
    code = (code.replace('"http://127.0.0.1:8188"', repr(comfy_server.url))
            .replace('"workflows/api/animate_motion_template.json"', repr(str(workflow)))
            .replace('"me.jpg"', repr(str(assets_dir / "source" / "s42.jpg"))))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (name,) = proc.stdout.split()
    with av.open(str(tmp_path / name)) as video:
        assert video.streams.video[0].frames == FRAMES
