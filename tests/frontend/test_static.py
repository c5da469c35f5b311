"""Static assets: every module parses, every referenced file ships, nothing from a CDN."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
STATIC = FRONTEND / "static"
MODULES = sorted((STATIC / "frontend" / "js").glob("*.js"))
TEMPLATES = sorted((FRONTEND / "templates").rglob("*.html"))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_parses(module, tmp_path):
    copy = tmp_path / f"{module.stem}.mjs"  # .mjs: parse as an ES module
    copy.write_text(module.read_text())
    result = subprocess.run(["node", "--check", str(copy)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_imports_exist(module):
    for name in re.findall(r'from "\./([\w.-]+)"', module.read_text()):
        assert (module.parent / name).exists(), f"{module.name} imports missing {name}"


def test_templates_reference_only_shipped_static_files():
    for template in TEMPLATES:
        for path in re.findall(r"{% static '([^']+)' %}", template.read_text()):
            assert (STATIC / path).exists(), f"{template.name}: {path}"


def test_no_third_party_urls_at_run_time():
    sources = [*TEMPLATES, *MODULES, STATIC / "frontend" / "css" / "app.css"]
    for source in sources:
        assert not re.search(r"(src|href)=\"https?://", source.read_text()), source.name
        assert "cdn" not in source.read_text().lower(), source.name
