"""Writes the exec_line seeds: each tests/scenarios/*.yaml as the request lines it sends.

The scenario runner's `save: {name: path}` and `${name}` become the fuzz target's `${N.path}`: the
string field `path` of the answer to line N (counted from 0) of the same input. Run from the
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
        for name, field in (step.get("save") or {}).items():
            saved[name] = f"{len(lines)}.{field}"
        lines.append(text)
    (out / (path.stem + ".jsonl")).write_text("\n".join(lines) + "\n")
