"""Print pip constraints that pin every `>=` floor in pyproject.toml to exactly that version.

`.ci/run` installs neurodyn with these constraints in a second virtual environment and runs the
fast tests there, so the floors that pyproject.toml states are versions the tests were run with: a
floor that is too low fails CI instead of a user's install.

    python .ci/min_versions.py > constraints.txt
    pip install -e ".[test,nwb,cluster,peers]" -c constraints.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# Requirements whose floor is not pinned here, with the reason.
SKIP = {
    # Dependencies of a Python version other than the one running CI.
    "tomli": "only needed on Python < 3.11",
    # Tools that do not change what the tests check.
    "ruff": "the linter runs in the main CI step, at its newest version",
    # The notebooks extra opens the tutorials in a browser; no test imports it.
    "jupyterlab": "not used by the tests",
    "ipywidgets": "not used by the tests",
    # neurogym 2.3.1, the only 2.3 release, pins numpy 2.2.* and matplotlib 3.10.*, so it cannot be
    # installed beside the other floors; the main CI step runs its tests at that same version.
    "neurogym": "pins numpy 2.2.*; tested at its floor in the main CI step",
}


def floors(pyproject: Path) -> dict[str, str]:
    data = tomllib.loads(pyproject.read_text())
    project = data["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    pins: dict[str, str] = {}
    for req in requirements:
        spec = req.split(";")[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)", spec)
        if match is None or match.group(1).lower() in SKIP:
            continue  # exact pins (torch==...), self-references (neurodyn[...]) and skips
        name, version = match.group(1).lower(), match.group(2)
        if pins.get(name, version) != version:
            sys.exit(f"min_versions: two different floors for {name}: {pins[name]} and {version}")
        pins[name] = version
    return pins


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    pins = floors(root / "pyproject.toml")
    # jaxlib is released in lockstep with jax: its floor is jax's.
    if "jax" in pins:
        pins.setdefault("jaxlib", pins["jax"])
    for name, version in sorted(pins.items()):
        print(f"{name}=={version}")


if __name__ == "__main__":
    main()
