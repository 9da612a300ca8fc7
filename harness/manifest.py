"""Expected-failure manifests: known defects of a model library, one TOML entry each.

```toml
[[expected_failure]]
check = "untied.value_equal_head_independent"   # a check id or a glob on check ids
classes = "TFT5*"                                 # a glob on class names, or a list of globs
category = "bug"                                  # bug | unsupported | out_of_scope
reason = "modeling_tf_utils.py _get_resized_lm_head_decoder: ..."  # root cause: file and function
versions = ">=4.40,<5"                            # optional PEP 440 specifier on the library
cases = ["grow.shape[bias=none,...,tie=untied,width=8]"]  # optional: only these exact case ids
strict = true                                     # optional: an unexpected pass fails the gate
```

``load(path)`` returns the entries or raises ``ManifestError`` whose ``errors`` are one line
each (``file:entry N: ...``); ``for_class`` turns the entries that apply to one class into
``harness.runner.ExpectedFailure``; ``unmatched`` lists entries that matched no failing case.
"""

import dataclasses
import fnmatch
import os
import re
import tomllib

CATEGORIES = ("bug", "unsupported", "out_of_scope")
KEYS = {"check", "classes", "category", "reason", "versions", "cases", "strict"}
FAILING = ("failed", "xfailed")
_SOURCE_RE = re.compile(r"[\w/.-]+\.py\b")


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

    def where(self):
        return f"{self.source}:entry {self.index}"

    def applies_to(self, class_name, version=None):
        if not any(fnmatch.fnmatchcase(class_name, g) for g in self.classes):
            return False
        if self.versions and version is not None:
            from packaging.specifiers import SpecifierSet  # noqa: PLC0415

            return SpecifierSet(self.versions).contains(version, prereleases=True)
        return True

    def matches(self, class_name, case_id, check_id, version=None):
        if not self.applies_to(class_name, version):
            return False
        return case_id in self.cases if self.cases else fnmatch.fnmatchcase(check_id, self.check)

    def to_expected_failures(self):
        """One runner ``ExpectedFailure`` per listed case id, or one for the check glob."""
        from harness.runner import ExpectedFailure  # noqa: PLC0415 - the runner imports hypothesis

        reason = f"{self.category}: {self.reason}"
        if self.cases:
            return [ExpectedFailure(check=c.split("[", 1)[0], reason=reason, case=c, strict=self.strict)
                    for c in self.cases]
        return [ExpectedFailure(check=self.check, reason=reason, strict=self.strict)]


def _known_check_ids():
    from harness.checks import all_checks  # noqa: PLC0415

    return [c.id for c in all_checks()]


def validate(data, source="<manifest>", check_ids=None):
    """``(entries, errors)`` for parsed TOML ``data``; errors are one line each."""
    check_ids = _known_check_ids() if check_ids is None else list(check_ids)
    errors, entries, seen = [], [], {}
    unknown_top = set(data) - {"expected_failure"}
    if unknown_top:
        errors.append(f"{source}: unknown top-level keys {sorted(unknown_top)} (expected [[expected_failure]])")
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
                      tuple(item.get("cases", ())), bool(item.get("strict", True)), source)
        key = (entry.check, entry.classes, entry.cases, entry.versions)
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
    if out:
        return out
    if item["category"] not in CATEGORIES:
        out.append(f"unknown category {item['category']!r} (choose from {', '.join(CATEGORIES)})")
    if not any(fnmatch.fnmatchcase(c, item["check"]) for c in check_ids):
        out.append(f"check {item['check']!r} matches no known check id")
    for case in item.get("cases", []):
        cid = case.split("[", 1)[0]
        if cid not in check_ids or not fnmatch.fnmatchcase(cid, item["check"]):
            out.append(f"case {case!r} is not a case of a known check matching {item['check']!r}")
            break
    if not _SOURCE_RE.search(item["reason"]):
        out.append("reason must name the root cause's source file (e.g. modeling_tf_utils.py) and function")
    if item.get("versions"):
        from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415

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


def library_version():
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version("transformers")
    except metadata.PackageNotFoundError:
        return None


def for_class(entries, class_name, version=None):
    """``ExpectedFailure``s of the entries whose class glob (and version range) match ``class_name``."""
    version = library_version() if version is None else version
    return [x for e in entries if e.applies_to(class_name, version) for x in e.to_expected_failures()]


def _status(case):
    return case["status"] if isinstance(case, dict) else case.status


def _ids(case):
    return (case["id"], case["check"]) if isinstance(case, dict) else (case.id, case.check)


def unmatched(entries, results, version=None):
    """Entries that matched no failing case. ``results``: ``{class_name: [CaseResult or case dict]}``."""
    version = library_version() if version is None else version
    hit = set()
    for class_name, cases in results.items():
        for case in cases:
            if _status(case) not in FAILING:
                continue
            case_id, check_id = _ids(case)
            hit.update(e.index for e in entries if e.matches(class_name, case_id, check_id, version))
    return [e for e in entries if e.index not in hit]
