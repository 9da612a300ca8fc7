"""Expected-failure manifests: known defects of a model library, one TOML entry each.

```toml
library = "transformers"                          # optional: the distribution ``versions`` refer to
                                                  # (default transformers; e.g. "keras-hub")
[[expected_failure]]
check = "untied.value_equal_head_independent"   # a check id or a glob on check ids
classes = "TFT5*"                                 # a glob on class names, or a list of globs
category = "bug"                                  # bug | unsupported | out_of_scope
reason = "modeling_tf_utils.py _get_resized_lm_head_decoder: ..."  # root cause: file and function
versions = ">=4.40,<5"                            # optional PEP 440 specifier on the library
cases = ["grow.shape[bias=none,...,tie=untied,width=8]"]  # optional: only these case ids
params = {dtype = ["float16", "bfloat16"], tie = "untied"}  # optional: only cases with these parameters
strict = true                                     # optional: an unexpected pass fails the gate
```

Narrowing an entry to some cases:

* ``cases``: case ids, or globs of case ids where only ``*`` and ``?`` are wildcards (``[`` and ``]``
  are literal), e.g. ``"grow.*[*tie=untied*]"``; the part before ``[`` must match a known check.
  Without ``cases`` the entry covers every case of the checks ``check`` matches.
* ``params``: a case matches when its id carries every named parameter with one of the given
  values (a value or a list of values, compared as written in the case id: ``dtype=bfloat16``,
  ``new=12``); property cases (``check[property]``) carry none. Combines with ``check`` and ``cases``.

``load(path)`` returns the entries or raises ``ManifestError`` whose ``errors`` are one line
each (``file:entry N: ...``); ``for_class`` turns the entries that apply to one class into
``ExpectedFailure`` objects (the runner applies them); ``unmatched`` lists entries that matched no
failing case; after ``run`` and ``certify`` those in the run's scope are printed as warnings and
recorded in the report (``run.options.expected_failures_unmatched``, see ``record_unmatched``).
"""

import dataclasses
import fnmatch
import functools
import os
import re
import sys
import tomllib

CATEGORIES = ("bug", "unsupported", "out_of_scope")
DEFAULT_LIBRARY = "transformers"
KEYS = {"check", "classes", "category", "reason", "versions", "cases", "params", "strict"}
FAILING = ("failed", "xfailed")
_SOURCE_RE = re.compile(r"[\w/.-]+\.py\b")
_PARAM_RE = re.compile(r"(\w+)=(.*?)(?=,\w+=|$)")
_SCALARS = (str, int, float, bool)


def case_glob_matches(pattern, case_id):
    """``pattern`` matches ``case_id``; only ``*`` and ``?`` are wildcards (case ids contain ``[``)."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == case_id
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, case_id, re.DOTALL) is not None


def case_params(case_id):
    """``{name: value as written}`` of a case id ``check[a=1,b=x]``; ``{}`` for ``check[property]``."""
    inner = case_id.partition("[")[2].rpartition("]")[0]
    return dict(_PARAM_RE.findall(inner))


def params_match(params, case_id):
    """Every ``(name, values)`` of ``params`` is in the case id, with one of ``values``."""
    found = case_params(case_id)
    return all(name in found and found[name] in values for name, values in params)


@dataclasses.dataclass(frozen=True)
class ExpectedFailure:
    """A known defect: the cases it matches are expected to fail (the runner marks them xfailed).

    Matches the cases of checks matching ``check`` (a glob), or with ``case`` the case ids that
    glob matches (``case_glob_matches``); ``params`` (``((name, (value, ...)), ...)``) narrows both.
    """

    check: str
    reason: str
    case: str = ""      # optional case id, or a glob of case ids
    strict: bool = True
    params: tuple = ()

    def matches(self, case_id, check_id):
        if self.params and not params_match(self.params, case_id):
            return False
        if self.case:
            return case_glob_matches(self.case, case_id)
        return fnmatch.fnmatchcase(check_id, self.check)


class ManifestError(ValueError):
    def __init__(self, errors):
        self.errors = list(errors)
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{self.errors[0]}{more}" if self.errors else "invalid manifest")


@dataclasses.dataclass(frozen=True)
class Entry:
    index: int
    check: str
    classes: tuple
    category: str
    reason: str
    versions: str = ""
    cases: tuple = ()
    strict: bool = True
    source: str = ""
    params: tuple = ()  # ((name, (value as written in case ids, ...)), ...)
    library: str = DEFAULT_LIBRARY  # the distribution whose version ``versions`` constrains

    def where(self):
        return f"{self.source}:entry {self.index}"

    def applies_to(self, class_name, version=None):
        """The class glob matches and ``version`` (default: the installed ``library``'s) is in range."""
        if not any(fnmatch.fnmatchcase(class_name, g) for g in self.classes):
            return False
        if self.versions and version is None:
            version = library_version(self.library)
        if self.versions and version is not None:
            from packaging.specifiers import SpecifierSet

            return SpecifierSet(self.versions).contains(version, prereleases=True)
        return True

    def matches(self, class_name, case_id, check_id, version=None):
        if not self.applies_to(class_name, version):
            return False
        return any(x.matches(case_id, check_id) for x in self.to_expected_failures())

    def covers_check(self, check_id):
        """Some case of ``check_id`` could match (the entry's scope, ignoring ``params``)."""
        if self.cases:
            return any(fnmatch.fnmatchcase(check_id, c.split("[", 1)[0]) for c in self.cases)
        return fnmatch.fnmatchcase(check_id, self.check)

    def describe(self):
        return {"entry": self.where(), "check": self.check, "classes": list(self.classes)}

    def to_expected_failures(self):
        """One ``ExpectedFailure`` per listed case id or glob, or one for the check glob."""
        reason = f"{self.category}: {self.reason}"
        if self.cases:
            return [ExpectedFailure(check=c.split("[", 1)[0], reason=reason, case=c, strict=self.strict,
                                    params=self.params) for c in self.cases]
        return [ExpectedFailure(check=self.check, reason=reason, strict=self.strict, params=self.params)]


def _known_check_ids():
    from harness.checks import all_checks

    return [c.id for c in all_checks()]


def validate(data, source="<manifest>", check_ids=None):
    """``(entries, errors)`` for parsed TOML ``data``; errors are one line each."""
    check_ids = _known_check_ids() if check_ids is None else list(check_ids)
    errors, entries, seen = [], [], {}
    unknown_top = set(data) - {"expected_failure", "library"}
    if unknown_top:
        errors.append(f"{source}: unknown top-level keys {sorted(unknown_top)} "
                      "(expected 'library' and [[expected_failure]])")
    library = data.get("library", DEFAULT_LIBRARY)
    if not isinstance(library, str) or not library.strip():
        errors.append(f"{source}: 'library' must be a distribution name, e.g. \"keras-hub\"")
        library = DEFAULT_LIBRARY
    raw = data.get("expected_failure", [])
    if not isinstance(raw, list):
        return [], errors + [f"{source}: 'expected_failure' must be an array of tables ([[expected_failure]])"]
    for i, item in enumerate(raw):
        where = f"{source}:entry {i}"
        if not isinstance(item, dict):
            errors.append(f"{where}: not a table")
            continue
        bad = _entry_errors(item, check_ids)
        errors.extend(f"{where}: {msg}" for msg in bad)
        if bad:
            continue
        classes = item.get("classes", "*")
        entry = Entry(i, item["check"], (classes,) if isinstance(classes, str) else tuple(classes),
                      item["category"], " ".join(item["reason"].split()), item.get("versions", ""),
                      tuple(item.get("cases", ())), bool(item.get("strict", True)), source,
                      _params(item.get("params", {})), library)
        key = (entry.check, entry.classes, entry.cases, entry.versions, entry.params)
        if key in seen:
            errors.append(f"{where}: duplicate of entry {seen[key]} (same check, classes, cases and versions)")
            continue
        seen[key] = i
        entries.append(entry)
    return entries, errors


def _entry_errors(item, check_ids):
    out = []
    unknown = set(item) - KEYS
    if unknown:
        out.append(f"unknown keys {sorted(unknown)}")
    for key in ("check", "category", "reason"):
        if not isinstance(item.get(key), str) or not item.get(key, "").strip():
            out.append(f"missing or empty '{key}'")
    if "versions" in item and not isinstance(item["versions"], str):
        out.append("'versions' must be a string")
    classes = item.get("classes", "*")
    if not isinstance(classes, str) and not (isinstance(classes, list) and classes
                                             and all(isinstance(c, str) for c in classes)):
        out.append("'classes' must be a glob or a non-empty list of globs")
    cases = item.get("cases", [])
    if not isinstance(cases, list) or not all(isinstance(c, str) and "[" in c for c in cases):
        out.append("'cases' must be a list of case ids like 'grow.shape[...]'")
    if "strict" in item and not isinstance(item["strict"], bool):
        out.append("'strict' must be true or false")
    if "params" in item and not _valid_params(item["params"]):
        out.append("'params' must be a table of parameter = value or [values], e.g. "
                       "{dtype = [\"float16\", \"bfloat16\"], tie = \"untied\"}")
    if out:
        return out
    if item["category"] not in CATEGORIES:
        out.append(f"unknown category {item['category']!r} (choose from {', '.join(CATEGORIES)})")
    if not any(fnmatch.fnmatchcase(c, item["check"]) for c in check_ids):
        out.append(f"check {item['check']!r} matches no known check id")
    for case in item.get("cases", []):
        cid = case.split("[", 1)[0]
        if not any(fnmatch.fnmatchcase(k, cid) and fnmatch.fnmatchcase(k, item["check"]) for k in check_ids):
            out.append(f"case {case!r} is not a case of a known check matching {item['check']!r}")
            break
    if not _SOURCE_RE.search(item["reason"]):
        out.append("reason must name the root cause's source file (e.g. modeling_tf_utils.py) and function")
    if item.get("versions"):
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            SpecifierSet(item["versions"])
        except InvalidSpecifier:
            out.append(f"'versions' {item['versions']!r} is not a PEP 440 specifier")
    return out


def load(path, check_ids=None):
    """Read and validate a manifest file; raise ``ManifestError`` if it has any error."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ManifestError([f"{source}: cannot read: {exc.strerror or exc}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError([f"{source}: invalid TOML: {exc}"]) from exc
    entries, errors = validate(data, source, check_ids)
    if errors:
        raise ManifestError(errors)
    return entries


@functools.cache
def library_version(distribution=DEFAULT_LIBRARY):
    """The installed version of ``distribution`` (what an entry's ``versions`` constrain), or None."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def for_class(entries, class_name, version=None):
    """``ExpectedFailure``s of the entries whose class glob (and version range) match ``class_name``;
    ``version`` overrides the installed version of each entry's library."""
    return [x for e in entries if e.applies_to(class_name, version) for x in e.to_expected_failures()]


def _status(case):
    return case["status"] if isinstance(case, dict) else case.status


def _ids(case):
    return (case["id"], case["check"]) if isinstance(case, dict) else (case.id, case.check)


def _valid_params(table):
    def scalar(v):
        return isinstance(v, _SCALARS)

    return isinstance(table, dict) and bool(table) and all(
        scalar(v) or (isinstance(v, list) and v and all(scalar(x) for x in v)) for v in table.values())


def _params(table):
    """The ``params`` table as ``((name, (value as written in case ids, ...)), ...)``, sorted."""
    return tuple(sorted((name, tuple(str(v) for v in (values if isinstance(values, list) else [values])))
                        for name, values in table.items()))


def unmatched(entries, results, version=None, *, scoped=False):
    """Entries that matched no failing case. ``results``: ``{class_name: [CaseResult or case dict]}``.

    ``scoped``: judge only the entries this run could have matched, those for a class in ``results``
    that cover a check with a case there (a run of one class or ``--select grow`` leaves the rest
    unjudged)."""
    hit, scope = set(), set()
    for class_name, cases in results.items():
        ran = {_ids(case)[1] for case in cases}
        scope.update(e.index for e in entries
                     if e.applies_to(class_name, version) and any(e.covers_check(c) for c in ran))
        for case in cases:
            if _status(case) not in FAILING:
                continue
            case_id, check_id = _ids(case)
            hit.update(e.index for e in entries if e.matches(class_name, case_id, check_id, version))
    return [e for e in entries if e.index not in hit and (not scoped or e.index in scope)]


def record_unmatched(report, entries, results, version=None):
    """Put the in-scope entries that matched no failing case into ``report`` and return them.

    ``report["run"]["options"]["expected_failures_unmatched"]``: one ``{entry, check, classes}`` each."""
    found = unmatched(entries, results, version, scoped=True)
    report["run"]["options"]["expected_failures_unmatched"] = [e.describe() for e in found]
    return found


def warn_unmatched(report, prog="resize-conformance", file=None):
    """Print one warning line per unmatched entry recorded in ``report`` (stderr by default)."""
    file = sys.stderr if file is None else file
    for e in (report.get("run", {}).get("options") or {}).get("expected_failures_unmatched") or ():
        print(f"{prog}: warning: expected-failure {e['entry']} (check {e['check']!r}, classes "
              f"{', '.join(e['classes'])}) matched no failing case in this run; is it stale?", file=file)
