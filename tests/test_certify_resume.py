"""certify --resume keeps the class reports that the same code, versions, options and manifest
entries made, and reruns every other class (saying why)."""

import os
import pathlib
import shutil
import subprocess

import certify_transformers as ct

from harness import certify
from harness.report import load_report

CASE = "grow.shape[bias=none,dtype=float32,new=9,old=8,tie=tied,width=8]"


def _cases(report):
    return [{k: v for k, v in c.items() if k != "duration_s"} for c in report["cases"]]


def test_resume_keeps_finished_classes_and_reruns_the_rest(transformers_certified, tmp_path):
    out = tmp_path / "cert"
    shutil.copytree(transformers_certified, out)  # the first run: GPT-2, DistilBERT and ViT, finished
    first = load_report(out)
    gpt2 = out / "classes" / "TFGPT2LMHeadModel"
    shutil.rmtree(gpt2)  # as if the run had stopped before this class
    code, text = ct.certify(out, "--resume", jobs=1)
    assert code == 0, text
    assert "kept from the earlier run" in text.split("TFDistilBertForMaskedLM", 1)[1].splitlines()[0]
    assert "kept from the earlier run" not in text.split("TFGPT2LMHeadModel", 1)[1].splitlines()[0]
    vit = text.split("TFViTModel", 1)[1].splitlines()[0]  # its probe's finding is kept too: not probed again
    assert "N/A" in vit and "kept from the earlier run" in vit
    again = load_report(out)
    assert _cases(again) == _cases(first)
    assert again["run"]["timing"]["subjects_resumed"] == 2
    assert [s["status"] for s in again["matrix"]["subjects"] if s["name"] == "TFViTModel"] == ["not_applicable"]
    code, text = ct.certify(out, "--resume", "--seed", "1", jobs=1)  # another seed: no class report is reused
    assert code == 0, text
    for name in ("TFGPT2LMHeadModel", "TFDistilBertForMaskedLM"):  # the N/A finding does not depend on the seed
        line = text.split(name, 1)[1].splitlines()[0]
        assert "kept from the earlier run" not in line and "rerun: run.seed differs" in line


def test_reusable_report_requires_same_manifest_entries_and_finished_run(tmp_path):
    from harness.manifest import ExpectedFailure
    from harness.report import write_report

    options = {"seed": 0, "profile": "ci", "timeout_s": 120.0, "select": [], "shrink": True}
    assert certify.reusable_report(str(tmp_path), options, ())[1] == "no earlier report"
    from harness.versions import collect_versions

    report = {"schema_version": 1, "partial": False, "run": {
        "adapter": {"name": "x", "spec": "x", "class": "x",
                    "capabilities": {"tie_modes": [], "bias_layouts": [], "dtypes": [], "flags": []}},
        "versions": collect_versions(), "seed": 0,
        "options": {**{k: v for k, v in options.items() if k != "seed"}, "expected_failures": None,
                    "expected_failures_digest": certify.xfails_digest((), [(CASE, "grow.shape")])},
        "started_at": "2026-12-01T00:00:00+00:00", "finished_at": "2026-12-01T00:00:01+00:00",
        "duration_s": 1.0, "command": None},
        "summary": {"counts": {s: 0 for s in ("passed", "failed", "error", "xfailed", "xpassed", "skipped",
                                              "not_applicable")},
                    "expected": 0, "collected": 0, "total": 0, "gate": "pass", "gate_reasons": []},
        "checks": [], "cases": [{"id": CASE, "check": "grow.shape", "kind": "example", "params": None,
                                 "status": "passed", "message": "", "duration_s": 0.1}]}
    from harness.report import build

    report["schema_version"] = build.SCHEMA_VERSION
    write_report(report, tmp_path)
    kept, why = certify.reusable_report(str(tmp_path), options, ())
    assert kept is not None and why == ""
    entry = ExpectedFailure(check="grow.shape", reason="defect: x")
    assert certify.reusable_report(str(tmp_path), options, (entry,))[1] == \
        "the manifest entries for this class changed"
    elsewhere = ExpectedFailure(check="shrink.shape", reason="defect: x")  # matches none of its cases
    assert certify.reusable_report(str(tmp_path), options, (elsewhere,))[0] is not None
    # the same decision written another way (a glob of case ids instead of the check) keeps the digest
    report["run"]["options"]["expected_failures_digest"] = certify.xfails_digest((entry,), [(CASE, "grow.shape")])
    write_report(report, tmp_path)
    glob = ExpectedFailure(check="grow.shape", reason="defect: x", case="grow.shape[*]")
    assert certify.reusable_report(str(tmp_path), options, (glob,))[0] is not None
    # a library upgrade (keras-hub included: its version is a run version, not only the adapter's) reruns
    report["run"]["versions"] = {**collect_versions(), "keras_hub": "0.0.1"}
    write_report(report, tmp_path)
    assert certify.reusable_report(str(tmp_path), options, ())[1].startswith("keras_hub differs ('0.0.1'")
    report["run"]["versions"] = collect_versions()
    report["partial"] = True
    report["run"]["finished_at"] = None
    write_report(report, tmp_path)
    assert certify.reusable_report(str(tmp_path), options, ())[1] == "the earlier run did not finish"


def test_checkpoint_script_carries_class_reports_and_their_commit(tmp_path):
    """scripts/certify_checkpoint.sh: save keeps report.json and not_applicable.json files (not the rest) and
    the commit; restore brings them back byte for byte."""
    script = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "certify_checkpoint.sh"
    run_dir = tmp_path / "run"
    for name in ("TFBertModel", "TFGPT2Model"):
        (run_dir / "classes" / name).mkdir(parents=True)
        (run_dir / "classes" / name / "report.json").write_text(f'{{"subject": "{name}"}}')
        (run_dir / "classes" / name / "report.md").write_text("# derived")
    (run_dir / "classes" / "TFViTModel").mkdir()
    (run_dir / "classes" / "TFViTModel" / certify.VERDICT_FILE).write_text("{}")
    env = dict(os.environ, CHECKPOINT_DIR=str(tmp_path / "kept"))
    subprocess.run(["bash", str(script), "save", str(run_dir), "x", "abc123", "--", "--adapter", "transformers"],
                   env=env, check=True, capture_output=True)
    meta = (tmp_path / "kept" / "x.txt").read_text()
    assert "commit: abc123" in meta and "class reports: 2" in meta and "--adapter transformers" in meta
    assert "not-applicable findings: 1" in meta
    subprocess.run(["bash", str(script), "restore", "x", str(tmp_path / "back")], env=env, check=True,
                   capture_output=True)
    back = sorted(p.relative_to(tmp_path / "back") for p in (tmp_path / "back").rglob("*") if p.is_file())
    assert [str(p) for p in back] == ["classes/TFBertModel/report.json", "classes/TFGPT2Model/report.json",
                                      f"classes/TFViTModel/{certify.VERDICT_FILE}"]
    assert (tmp_path / "back/classes/TFGPT2Model/report.json").read_text() == '{"subject": "TFGPT2Model"}'


def test_reusable_verdict_requires_the_same_code_and_versions(tmp_path):
    run = certify.SubjectRun(certify.Subject("TFViTModel", "transformers/TFViTModel"), {}, str(tmp_path))
    run.unsupported, run.error = certify.NO_VOCABULARY + ": the forward takes pixel_values", "unsupported"
    certify.write_verdict(str(tmp_path), run, "transformers")
    assert certify.reusable_verdict(str(tmp_path), "transformers")["unsupported"] == run.unsupported
    assert certify.reusable_verdict(str(tmp_path), None) is None  # another family's code digest
    path = tmp_path / certify.VERDICT_FILE
    path.write_text(path.read_text().replace('"tensorflow": "', '"tensorflow": "0.'))
    assert certify.reusable_verdict(str(tmp_path), "transformers") is None
    path.write_text("not json")
    assert certify.reusable_verdict(str(tmp_path), "transformers") is None
