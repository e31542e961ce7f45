"""The Teams app package: schema-valid manifest v1.30, the two icons Teams requires, zipped at the root."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from bot.cli import main

SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "teams"
APP_ID = "8f0b6c3e-1d2a-4b5c-9e7f-0a1b2c3d4e5f"


def build(tmp_path, *args: str) -> tuple[int, Path]:
    out = tmp_path / "handoff-teams.zip"
    code = main(["manifest", "teams", *args, "--out", str(out)])
    return code, out


def test_the_package_validates_and_has_the_required_icons(tmp_path, capsys):
    code, out = build(tmp_path, "--app-id", APP_ID, "--url", "https://bot.example.com")
    assert code == 0 and "https://bot.example.com/api/messages" in capsys.readouterr().out
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]  # at the root
        manifest = json.loads(package.read("manifest.json"))
        color = Image.open(io.BytesIO(package.read("color.png")))
        outline = Image.open(io.BytesIO(package.read("outline.png")))

    schema = json.loads((SCHEMAS / "MicrosoftTeams.schema.json").read_text())
    # (no check_schema: the published schema has \p{L} patterns Python's re cannot compile, in parts we don't use)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(manifest), key=str)
    assert errors == []

    assert manifest["manifestVersion"] == "1.30"
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID and sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    titles = [c["title"] for c in bot["commandLists"][0]["commands"]]
    assert {"escalate", "use this channel", "make"} <= set(titles)
    [action] = manifest["composeExtensions"][0]["commands"]
    assert (action["type"], action["title"], action["context"], action["fetchTask"]) == (
        "action", "Escalate this message", ["message"], True)
    assert manifest["validDomains"] == ["bot.example.com"]

    assert color.size == (192, 192)
    assert outline.size == (32, 32) and outline.mode == "RGBA"
    pixels = [outline.getpixel((x, y)) for y in range(32) for x in range(32)]
    assert [a for *_, a in pixels].count(0) > len(pixels) // 2, "the outline icon's background is transparent"
    assert {(r, g, b) for r, g, b, a in pixels if a} == {(255, 255, 255)}, "outline strokes are white"


@pytest.mark.parametrize("args, says", [
    (["--app-id", "not-a-guid", "--url", "https://bot.example.com"], "--app-id must be"),
    (["--app-id", APP_ID, "--url", "http://bot.example.com"], "--url must be"),
])
def test_bad_arguments_are_named(tmp_path, capsys, args, says):
    code, out = build(tmp_path, *args)
    assert code == 2 and says in capsys.readouterr().err and not out.exists()
