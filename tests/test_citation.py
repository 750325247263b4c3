"""neurodyn.citation: BibTeX that parses, with the right entries for what a run used."""

import io
import re
from pathlib import Path

import pytest

import neurodyn as nd
from neurodyn.experiment import citation, citation_keys, load_config, methods_of

ROOT = Path(__file__).resolve().parents[1]


def parse_bibtex(text: str) -> dict[str, tuple[str, dict]]:
    """A small independent BibTeX reader: @type{key, field = {value}, ...} with balanced
    braces; raises on anything malformed."""
    entries = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = re.compile(r"\s*@(\w+)\{([^,\s]+),").match(text, pos)
        assert m, f"expected an entry at {text[pos:pos + 40]!r}"
        kind, key = m.group(1), m.group(2)
        pos = m.end()
        fields = {}
        while True:
            end = re.compile(r"\s*\}").match(text, pos)
            if end:
                pos = end.end()
                break
            f = re.compile(r"\s*(\w+)\s*=\s*\{").match(text, pos)
            assert f, f"expected a field at {text[pos:pos + 40]!r}"
            depth, i = 1, f.end()
            while depth:
                assert i < len(text), "unbalanced braces"
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            fields[f.group(1)] = text[f.end():i - 1]
            pos = i
            sep = re.compile(r"\s*,").match(text, pos)
            if sep:
                pos = sep.end()
        assert key not in entries, f"duplicate key {key}"
        entries[key] = (kind, fields)
    return entries


def test_neurodyn_alone_prints_and_returns():
    out = io.StringIO()
    text = citation(file=out)
    assert out.getvalue() == text
    entries = parse_bibtex(text)
    assert list(entries) == ["neurodyn"]
    assert entries["neurodyn"][1]["version"] == nd.__version__


def test_every_entry_parses_with_required_fields():
    entries = parse_bibtex(citation(citation_keys(), quiet=True))
    assert set(entries) == {"neurodyn", *citation_keys()}
    for key, (kind, fields) in entries.items():
        assert {"author", "title", "year"} <= set(fields), key
        assert re.fullmatch(r"(19|20)\d\d", fields["year"]), key
        if "doi" in fields:
            assert re.fullmatch(r"10\.\d{4,5}/\S+", fields["doi"]), key
        if kind == "article":
            assert "journal" in fields, key


def test_keys_follow_the_methods_of_a_run():
    base = 'name = "t"\n[task]\nname = "ContextDecisionMaking"\n'
    cfg = load_config(base + '[analyses.dpad]\nmethods = ["psid"]\n')
    keys = set(parse_bibtex(citation(cfg, quiet=True)))
    assert keys == {"neurodyn", "mastrogiuseppe2018", "dubreuil2022", "mante2013",
                    "sussillo2013", "golub2018", "sani2021"}
    off = load_config(base + '[model]\ntype = "FullRankRNN"\n[analyses.fixed_points]\n'
                      'enabled = false\n[analyses.dpad]\nmethods = ["dpad"]\n')
    assert set(methods_of(off)) == {"mante2013", "sani2024", "sani2021"}
    assert set(parse_bibtex(citation(["psid", "sussillo2013"], quiet=True))) == {
        "neurodyn", "sani2021", "sussillo2013"}
    with pytest.raises(ValueError, match="methods: unknown method"):
        citation(["spectral"], quiet=True)


def test_consistent_with_citation_cff():
    cff = ROOT / "CITATION.cff"
    if not cff.is_file():
        pytest.skip("no CITATION.cff beside the package")
    text = cff.read_text()
    top = dict(re.findall(r"^(title|version|date-released|license): (.+)$", text, re.M))
    sw = parse_bibtex(citation(quiet=True))["neurodyn"][1]
    assert top["title"].strip('"') == sw["title"]
    assert top["version"].strip('"') == sw["version"] == nd.__version__
    assert top["date-released"].strip('"')[:4] == sw["year"]
    assert top["license"] == sw["license"]
    # every DOI that CITATION.cff lists is one of ours, with the same fields
    ours = parse_bibtex(citation(citation_keys(), quiet=True))
    dois = {f.get("doi"): f for _, f in ours.values()}
    for doi in re.findall(r'doi: "([^"]+)"', text):
        assert doi in dois, doi
