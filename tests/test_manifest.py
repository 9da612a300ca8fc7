"""Expected-failure manifests: parameter and case-glob matching, unmatched entries, compatibility."""

import io
import pathlib

import pytest

from harness import cli, manifest
from harness.report import load_report

ROOT = pathlib.Path(__file__).resolve().parents[1]
IDS = ["grow.shape", "grow.dtype_preserved", "tied.still_tied", "dtype.forward_keeps_dtype"]
REASON = 'reason = "modeling_tf_utils.py TFPreTrainedModel._get_resized_embeddings: does X"'
BF16 = "grow.dtype_preserved[bias=none,dtype=bfloat16,new=12,old=8,tie=untied,width=8]"
F16_TIED = "grow.dtype_preserved[bias=none,dtype=float16,new=12,old=8,tie=tied,width=8]"
F32 = "grow.shape[bias=none,dtype=float32,new=40,old=8,tie=untied,width=8]"


def _load(tmp_path, text, check_ids=IDS):
    path = tmp_path / "m.toml"
    path.write_text(text)
    return manifest.load(path, check_ids=check_ids)


def _entry(body):
    return f'[[expected_failure]]\ncategory = "bug"\n{REASON}\n{body}\n'


def _matches(entry, case_id):
    return entry.matches("TFBertModel", case_id, case_id.split("[", 1)[0], "4.57.6")


def test_params_match_on_the_case_ids_parameters(tmp_path):
    (e,) = _load(tmp_path, _entry('check = "grow.*"\nparams = {dtype = ["float16", "bfloat16"], tie = "untied"}'))
    assert e.params == (("dtype", ("float16", "bfloat16")), ("tie", ("untied",)))
    assert _matches(e, BF16)
    assert not _matches(e, F16_TIED)                      # tie differs
    assert not _matches(e, F32)                           # dtype differs
    assert not _matches(e, "grow.shape[property]")        # a property case carries no parameters
    assert not _matches(e, "tied.still_tied[bias=none,dtype=bfloat16,tie=untied]")  # check glob


def test_numbers_and_booleans_compare_as_written_in_case_ids(tmp_path):
    (e,) = _load(tmp_path, _entry('check = "grow.shape"\nparams = {new = 40, old = [8, 10]}'))
    assert _matches(e, F32) and not _matches(e, F32.replace("new=40", "new=4"))
    assert manifest.case_params("x.y[a=1,b=(1, 2),d=True]") == {"a": "1", "b": "(1, 2)", "d": "True"}


def test_case_globs_have_literal_brackets(tmp_path):
    (e,) = _load(tmp_path, _entry('check = "*"\ncases = ["grow.*[*dtype=bfloat16*]", "tied.still_tied[*]"]'))
    assert _matches(e, BF16) and _matches(e, "tied.still_tied[tie=tied]")
    assert not _matches(e, F16_TIED) and not _matches(e, "dtype.forward_keeps_dtype[dtype=bfloat16]")
    assert manifest.case_glob_matches("a.b[x=1]", "a.b[x=1]")
    assert not manifest.case_glob_matches("a.b[xy]", "a.b[x]")  # not a character class
    assert manifest.case_glob_matches("a.b[x=?]", "a.b[x=1]")


def test_cases_and_params_combine(tmp_path):
    (e,) = _load(tmp_path, _entry('check = "grow.*"\ncases = ["grow.*[*]"]\nparams = {tie = "tied"}'))
    assert _matches(e, F16_TIED) and not _matches(e, BF16)


def test_exact_case_ids_match_as_before():
    """Every case id of the repository's manifest matches itself and nothing else it lists."""
    entries = manifest.load(ROOT / "manifests" / "transformers.toml")
    exact = [e for e in entries if not any("*" in c or "?" in c for c in e.cases)]
    listed = [c for e in exact for c in e.cases]
    for e in exact:
        for xf in e.to_expected_failures():
            assert xf.check == xf.case.split("[", 1)[0] if xf.case else xf.check == e.check
            assert [c for c in listed if xf.matches(c, c.split("[", 1)[0]) and xf.case] == (
                [c for c in listed if c == xf.case])


@pytest.mark.parametrize("body, fragment", [
    ('check = "grow.*"\nparams = {}', "'params' must be a table"),
    ('check = "grow.*"\nparams = {dtype = []}', "'params' must be a table"),
    ('check = "grow.*"\nparams = {dtype = {a = 1}}', "'params' must be a table"),
    ('check = "grow.*"\nparams = "dtype=float16"', "'params' must be a table"),
    ('check = "grow.*"\ncases = ["nosuch.*[*]"]', "is not a case of a known check"),
    ('check = "tied.*"\ncases = ["grow.*[*]"]', "is not a case of a known check"),
])
def test_bad_params_and_case_globs_are_one_line_errors(tmp_path, body, fragment):
    with pytest.raises(manifest.ManifestError) as info:
        _load(tmp_path, _entry(body))
    assert len(info.value.errors) == 1 and fragment in info.value.errors[0], info.value.errors
    assert info.value.errors[0].startswith(f"{tmp_path / 'm.toml'}:entry 0: ")


def test_entries_differing_only_in_params_are_not_duplicates(tmp_path):
    text = _entry('check = "grow.*"\nparams = {tie = "tied"}') + _entry('check = "grow.*"\nparams = {tie = "untied"}')
    assert len(_load(tmp_path, text)) == 2


def test_expected_failures_survive_the_trip_to_a_worker(tmp_path):
    import dataclasses
    import json

    (e,) = _load(tmp_path, _entry('check = "grow.*"\nparams = {dtype = ["bfloat16"]}'))
    (xf,) = manifest.for_class([e], "TFBertModel", "4.57.6")
    back = manifest.ExpectedFailure(**json.loads(json.dumps(dataclasses.asdict(xf))))
    assert back.matches(BF16, "grow.dtype_preserved") and not back.matches(F16_TIED, "grow.dtype_preserved")


def _case(case_id, status):
    return {"id": case_id, "check": case_id.split("[", 1)[0], "status": status}


def test_unmatched_in_scope_only(tmp_path):
    text = (_entry('check = "grow.*"\nclasses = "TFBert*"\nparams = {dtype = "bfloat16"}')   # 0: matches
            + _entry('check = "grow.*"\nclasses = "TFBert*"\nparams = {dtype = "float64"}')  # 1: matches nothing
            + _entry('check = "tied.*"\nclasses = "TFBert*"')                               # 2: check not run
            + _entry('check = "grow.*"\nclasses = "TFGPT2*"')                               # 3: class not run
            + _entry('check = "grow.*"\nclasses = "TFBert*"\ncases = ["grow.shape[*new=40*]"]'))  # 4: passed
    entries = _load(tmp_path, text)
    results = {"TFBertModel": [_case(BF16, "xfailed"), _case(F32, "xpassed"), _case(F16_TIED, "passed")]}
    assert [e.index for e in manifest.unmatched(entries, results, "4.57.6", scoped=True)] == [1, 4]
    assert [e.index for e in manifest.unmatched(entries, results, "4.57.6")] == [1, 2, 3, 4]
    report = {"run": {"options": {}}}
    manifest.record_unmatched(report, entries, results, "4.57.6")
    assert report["run"]["options"]["expected_failures_unmatched"] == [
        {"entry": f"{tmp_path / 'm.toml'}:entry 1", "check": "grow.*", "classes": ["TFBert*"]},
        {"entry": f"{tmp_path / 'm.toml'}:entry 4", "check": "grow.*", "classes": ["TFBert*"]}]
    out = io.StringIO()
    manifest.warn_unmatched(report, file=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("resize-conformance: warning: expected-failure ")
    assert "entry 1" in lines[0] and "matched no failing case in this run" in lines[0]


def test_run_warns_about_an_entry_that_matched_nothing_and_records_it(tmp_path, capsys):
    """The reference passes: an entry for it that matches only passing cases is reported at the end."""
    path = tmp_path / "m.toml"
    path.write_text(_entry('check = "grow.shape"\nclasses = "reference"\nstrict = false\nparams = {tie = "tied"}')
                    + _entry('check = "grow.shape"\nclasses = "reference"\nparams = {tie = "nosuch"}')
                    + _entry('check = "tied.*"\nclasses = "reference"'))
    out_dir = tmp_path / "out"
    code = cli.main(["run", "--adapter", "reference", "--select", "grow.shape", "--report-dir", str(out_dir),
                     "--profile", "dev", "--in-process", "--expected-failures", str(path)])
    captured = capsys.readouterr()
    report = load_report(out_dir / "report.json")
    assert code == 0  # non-strict xpassed cases do not fail the gate
    statuses = {c["id"]: c["status"] for c in report["cases"] if c["kind"] == "example"}
    assert {s for i, s in statuses.items() if "tie=tied" in i} == {"xpassed"}
    assert {s for i, s in statuses.items() if "tie=tied" not in i} == {"passed"}
    unmatched = report["run"]["options"]["expected_failures_unmatched"]
    assert [u["entry"].rsplit(":", 1)[1] for u in unmatched] == ["entry 0", "entry 1"]  # entry 2: not run
    assert captured.err.count("matched no failing case in this run") == 2


def test_run_without_manifest_records_nothing(tmp_path):
    out_dir = tmp_path / "out"
    assert cli.main(["run", "--adapter", "reference", "--select", "grow.shape", "--report-dir", str(out_dir),
                     "--profile", "dev", "--in-process"]) == 0
    assert "expected_failures_unmatched" not in load_report(out_dir / "report.json")["run"]["options"]


def test_versions_constrain_the_manifests_library(tmp_path, monkeypatch):
    """``versions`` refer to the distribution the file names (``library``), transformers by default."""
    monkeypatch.setattr(manifest, "library_version", lambda dist="transformers": {"transformers": "4.57.6",
                                                                                  "keras-hub": "0.32.0"}[dist])
    body = _entry('check = "grow.shape"\nversions = "<0.40"')
    (hub,) = _load(tmp_path, 'library = "keras-hub"\n' + body)
    (tx,) = _load(tmp_path, body)
    assert (hub.library, tx.library) == ("keras-hub", "transformers")
    assert manifest.for_class([hub], "GPT2CausalLM") and not manifest.for_class([tx], "GPT2CausalLM")
    assert manifest.for_class([tx], "GPT2CausalLM", version="0.32.0")   # an explicit version wins
    with pytest.raises(manifest.ManifestError, match="'library' must be"):
        _load(tmp_path, "library = 3\n" + body)


def _compact_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("compact_manifest", ROOT / "scripts" / "compact_manifest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compact_manifest_rewrites_case_lists_as_globs_deciding_the_same(tmp_path, capsys):
    """scripts/compact_manifest.py: listed ids become the fewest exact globs over the reports' cases."""
    import json

    compact = _compact_module()
    ids = [f"grow.shape[bias=none,dtype={d},new={n},old=8,tie={t},width=8]"
           for d in ("float32", "bfloat16") for n in (4, 40) for t in ("tied", "untied")]
    ids += ["grow.shape[property]", "tied.still_tied[bias=none,dtype=float32,tie=tied]"]
    classes = tmp_path / "reports" / "classes" / "TFBertModel"
    classes.mkdir(parents=True)
    (classes / "report.json").write_text(json.dumps(
        {"run": {"subject": "TFBertModel"}, "cases": [{"id": i, "check": i.split("[")[0]} for i in ids]}))
    untied = [i for i in ids if "tie=untied" in i]
    listed = untied + ["tied.still_tied[bias=none,dtype=float32,tie=tied]", "grow.shape[bias=gone]"]
    path = tmp_path / "m.toml"
    path.write_text(_entry('check = "*"\nclasses = "TFBert*"\ncases = [\n'
                           + "".join(f'    "{i}",\n' for i in listed) + "]\nstrict = true"))
    assert compact.main([str(path), str(tmp_path / "reports"), "--write"]) == 0
    (entry,) = manifest.load(path, check_ids=IDS)
    assert entry.cases == ("grow.shape[*,tie=untied,*]", "tied.still_tied[*]")   # new=4 never matches 40
    assert "1 ids dropped; decisions changed for 0 classes" in capsys.readouterr().out
    assert compact._glob("a.b", ["new", "old", "tie"], {"new": "4", "tie": "x"}) == "a.b[new=4,*,tie=x]"
    # every example case but not the property case (listed in a non-strict entry of its own)
    examples = {i for i in ids if i.startswith("grow.shape[") and "property" not in i}
    assert compact.cover("grow.shape", examples, {i for i in ids if i.startswith("grow.shape[")}) == \
        ["grow.shape[*=*]"]
    assert manifest.case_glob_matches("grow.shape[*=*]", ids[0])
    assert not manifest.case_glob_matches("grow.shape[*=*]", "grow.shape[property]")


def test_manifest_audit_names_unmatched_failures_and_strict_entries_that_pass(tmp_path, capsys):
    """scripts/manifest_audit.py: triage a certify-all's class reports against a manifest without rerunning."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("manifest_audit", ROOT / "scripts" / "manifest_audit.py")
    audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(audit)
    cases = [("grow.shape[property]", "failed"), ("tied.still_tied[property]", "passed"),
             ("grow.dtype_preserved[property]", "xfailed")]
    classes = tmp_path / "reports" / "classes" / "TFBertModel"
    classes.mkdir(parents=True)
    (classes / "report.json").write_text(json.dumps({"partial": False, "run": {"subject": "TFBertModel"}, "cases": [
        {"id": i, "check": i.split("[")[0], "status": s} for i, s in cases]}))
    path = tmp_path / "m.toml"
    path.write_text(_entry('check = "tied.still_tied"\nclasses = "TFBert*"\nversions = ">=4,<5"\nstrict = true'))
    assert audit.main([str(path), str(tmp_path / "reports")]) == 1
    out = capsys.readouterr().out
    assert "unmatched: grow.shape[property]" in out and "unmatched: grow.dtype_preserved[property]" in out
    assert "strict but passes: tied.still_tied[property]" in out and "1 classes to triage" in out
