"""Writes the exec_line seeds: each tests/scenarios/*.yaml as the request lines it sends.

The scenario runner's `save: {name: path}` becomes the harness's `${path}` (the latest ok answer's
top-level string field of that name), since the fuzz target substitutes only those. Run from the
repository root after the scenarios change: python3 fuzz/seeds/exec_line_from_scenarios.py
"""

import json
import pathlib
import re

import yaml

root = pathlib.Path("tests/scenarios")
out = pathlib.Path("fuzz/seeds/exec_line")
for path in sorted(root.glob("*.yaml")):
    scenario = yaml.safe_load(path.read_text())
    saved = {}
    lines = []
    for step in scenario["steps"]:
        if step.get("drain"):
            continue
        request = {k: step[k] for k in ("as", "user", "at", "key", "cmd", "args") if k in step}
        text = json.dumps(request, separators=(",", ":"))
        text = re.sub(r"\$\{(\w+)\}", lambda m: "${" + saved.get(m.group(1), m.group(1)) + "}", text)
        lines.append(text)
        for name, field in (step.get("save") or {}).items():
            saved[name] = field
    (out / (path.stem + ".jsonl")).write_text("\n".join(lines) + "\n")
