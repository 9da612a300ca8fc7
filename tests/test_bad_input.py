"""Bad input to public entry points: a one-line error saying what is wrong, a documented exit
code, never a traceback. Loaders and the reference API are fuzzed with hypothesis."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import cli, manifest
from harness.report import load_report
from reference import ResizeError, resize_bias_dict, resize_matrix

FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _files(tmp_path):
    (tmp_path / "not.json").write_text("{not json")
    (tmp_path / "wrong.json").write_text(json.dumps({"schema_version": "1.0", "cases": "nope"}))
    (tmp_path / "bad.toml").write_text("[[expected_failure]]\ncheck = 'grow.shape'\n")
    (tmp_path / "bad_syntax.toml").write_text("[[expected_failure\n")
    return tmp_path


CLI_CASES = [
    (["run"], "--adapter"),
    (["run", "--adapter", "nope", "--report-dir", "{d}/r"], "unknown adapter"),
    (["run", "--adapter", "reference", "--profile", "fast", "--report-dir", "{d}/r"], "invalid choice"),
    (["run", "--adapter", "reference", "--timeout", "0", "--report-dir", "{d}/r"], "--timeout"),
    (["run", "--adapter", "reference", "--timeout", "nan", "--report-dir", "{d}/r"], "--timeout"),
    (["run", "--adapter", "reference", "--seed", "x", "--report-dir", "{d}/r"], "invalid int"),
    (["run", "--adapter", "reference", "--select", "no.such", "--report-dir", "{d}/r"], "no case matches"),
    (["run", "--adapter", "reference", "--shard", "0/2", "--report-dir", "{d}/r"], "--shard"),
    (["run", "--adapter", "reference", "--shard", "a/b", "--report-dir", "{d}/r"], "--shard"),
    (["run", "--adapter", "reference", "--report-dir", "/proc/no/such"], "cannot write"),
    (["run", "--adapter", "reference", "--baseline", "{d}/not.json", "--report-dir", "{d}/r"], "baseline"),
    (["run", "--adapter", "reference", "--baseline", "{d}/wrong.json", "--report-dir", "{d}/r"], "baseline"),
    (["run", "--adapter", "reference", "--expected-failures", "{d}/bad.toml", "--report-dir", "{d}/r"], "manifest"),
    (["run", "--adapter", "reference", "--expected-failures", "{d}/bad_syntax.toml", "--report-dir", "{d}/r"],
     "manifest"),
    (["run", "--adapter", "reference", "--expected-failures", "{d}/missing.toml", "--report-dir", "{d}/r"],
     "manifest"),
    (["merge", "{d}/not.json", "--report-dir", "{d}/m"], "cannot merge"),
    (["merge", "{d}/wrong.json", "--report-dir", "{d}/m"], "cannot merge"),
    (["merge", "{d}/missing.json", "--report-dir", "{d}/m"], "cannot merge"),
    (["certify", "--adapter", "reference", "-j", "0", "--report-dir", "{d}/c"], "-j"),
    (["certify", "--adapter", "reference", "--model", "X", "--report-dir", "{d}/c"], "--model"),
    (["certify", "--adapter", "reference", "--class-timeout", "-1", "--report-dir", "{d}/c"], "--class-timeout"),
    (["nosuchcommand"], "invalid choice"),
]


@pytest.mark.parametrize("argv, fragment", CLI_CASES, ids=[" ".join(a[:3]) + f"#{i}" for i, (a, _) in
                                                          enumerate(CLI_CASES)])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, fragment):
    d = _files(tmp_path)
    code = cli.main([a.format(d=d) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert fragment in err and "Traceback" not in err
    assert len(err.splitlines()) == 1, err


@FAST
@given(st.binary(max_size=300))
def test_report_loader_fuzz(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "report.json"
    path.write_bytes(data)
    with pytest.raises((ValueError, OSError)):
        load_report(path)


@FAST
@given(st.text(max_size=300))
def test_manifest_loader_fuzz(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "m.toml"
    path.write_text(text)
    try:
        manifest.load(path)
    except manifest.ManifestError as exc:
        assert str(exc).strip() and "\n" not in str(exc).split(" (and ")[0]


SIZES = st.one_of(st.integers(-5, 40), st.integers(2**31, 2**33), st.floats(allow_nan=True),
                  st.booleans(), st.text(max_size=3), st.none(), st.lists(st.integers(), max_size=2))


@FAST
@given(rows=st.integers(1, 6), width=st.integers(1, 4), size=SIZES,
       dtype=st.sampled_from(["float16", "float32", "float64"]))
def test_reference_resize_fuzz(rows, width, size, dtype):
    src = np.arange(rows * width, dtype=dtype).reshape(rows, width)
    try:
        out = resize_matrix(src, size, seed=0)
    except ResizeError as exc:
        assert "new_num_tokens" in str(exc)
        return
    assert isinstance(size, int) and not isinstance(size, bool) and 1 <= size < 2**31
    assert out.shape == (size, width) and out.dtype.name == dtype
    np.testing.assert_array_equal(out.numpy()[: min(rows, size)], src[: min(rows, size)])


@FAST
@given(size=SIZES, layout=st.sampled_from([(3,), (1, 3)]))
def test_reference_bias_fuzz(size, layout):
    bias = {"b": np.ones(layout, np.float32)}
    try:
        out = resize_bias_dict(bias, size)
    except ResizeError:
        return
    assert out["b"].shape == layout[:-1] + (size,)


@pytest.mark.parametrize("bad", [np.zeros((3,), np.float32), np.zeros((2, 2), np.int32), "matrix", None,
                                 np.zeros((2, 2, 2), np.float32)])
def test_reference_rejects_bad_matrices(bad):
    with pytest.raises(ResizeError):
        resize_matrix(bad, 4)


def test_no_pickle_anywhere():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    offenders = []
    for path in list(root.glob("harness/**/*.py")) + list(root.glob("reference/*.py")) + list(root.glob("suites/*.py")):
        text = path.read_text()
        if re.search(r"^\s*(import pickle|from pickle|import cloudpickle|import dill)", text, re.M) \
                or re.search(r"allow_pickle\s*=\s*True", text) or "pd.read_pickle" in text:
            offenders.append(str(path.relative_to(root)))
    assert not offenders, offenders
