"""Golden case folders on disk: ``<dir>/<name>/case.json`` + ``arrays.npz``.

Read without pickle (``np.load(allow_pickle=False)``, ``json``); written atomically
(temp file + ``os.replace``) with fixed zip timestamps, so regenerating an unchanged
case gives the same bytes. bfloat16 arrays are stored as their uint16 bit patterns
(npz has no bfloat16); ``case.json`` records every array's logical dtype and shape.
"""

import io
import json
import os
import re
import tempfile
import zipfile

import numpy as np

from harness.report.atomic import write_text_atomic

SCHEMA_VERSION = 1
CASE_JSON = "case.json"
ARRAYS_NPZ = "arrays.npz"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
ARRAY_KEY_RE = re.compile(r"^(input|expected)\.[A-Za-z0-9_:./-]+$")
STORED_AS = {"float16": "float16", "float32": "float32", "float64": "float64", "bfloat16": "uint16",
             "int32": "int32", "int64": "int64", "bool": "bool"}
REQUIRED = ("schema_version", "name", "operation", "parameters", "seed", "tolerance", "arrays",
            "generated_by")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class GoldenFormatError(ValueError):
    """A case.json or arrays.npz that cannot be read as a golden case (bad input: exit 2)."""


def _bfloat16():
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


def dtype_name(array):
    """Logical dtype name of an array (``bfloat16`` for ml_dtypes' bfloat16)."""
    return "bfloat16" if array.dtype == _bfloat16() else str(array.dtype)


def encode(array):
    """Array as stored in the npz (bfloat16 -> uint16 bits)."""
    array = np.ascontiguousarray(array)
    return array.view(np.uint16) if dtype_name(array) == "bfloat16" else array


def decode(stored, dtype):
    return stored.view(_bfloat16()) if dtype == "bfloat16" else stored


# -- writing -------------------------------------------------------------------------
def _write_npz_atomic(path, arrays):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".arrays.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for key in sorted(arrays):
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, encode(arrays[key]), allow_pickle=False)
                    info = zipfile.ZipInfo(key + ".npy", date_time=ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_case(directory, meta, arrays):
    """Write one case folder: ``arrays.npz`` first, then ``case.json`` (the case is valid once both are)."""
    folder = os.path.join(os.fspath(directory), meta["name"])
    meta = dict(meta)
    meta["arrays"] = {k: {"dtype": dtype_name(np.asarray(v)), "shape": list(np.shape(v))}
                      for k, v in sorted(arrays.items())}
    _write_npz_atomic(os.path.join(folder, ARRAYS_NPZ), arrays)
    write_text_atomic(os.path.join(folder, CASE_JSON), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return folder


# -- reading -------------------------------------------------------------------------
def _bad(path, message):
    raise GoldenFormatError(f"{path}: {message}")


def _no_constants(name):
    raise ValueError(f"non-standard JSON constant {name}")


def read_meta(folder):
    """Parse and validate ``case.json`` of a case folder; raise GoldenFormatError naming the file."""
    path = os.path.join(os.fspath(folder), CASE_JSON)
    try:
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh, parse_constant=_no_constants)
    except (OSError, UnicodeDecodeError) as exc:
        _bad(path, f"cannot read: {exc}")
    except ValueError as exc:
        _bad(path, f"not valid JSON: {' '.join(str(exc).split())}")
    if not isinstance(meta, dict):
        _bad(path, "must hold a JSON object")
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        _bad(path, f"missing keys {missing}")
    if meta["schema_version"] != SCHEMA_VERSION:
        _bad(path, f"schema_version {meta['schema_version']!r} (this harness reads {SCHEMA_VERSION})")
    if not isinstance(meta["name"], str) or meta["name"] != os.path.basename(os.path.abspath(folder)):
        _bad(path, f"name {meta['name']!r} does not match its folder")
    if not isinstance(meta["parameters"], dict) or not isinstance(meta["arrays"], dict):
        _bad(path, "parameters and arrays must be objects")
    if not isinstance(meta["seed"], int) or isinstance(meta["seed"], bool):
        _bad(path, f"seed must be an integer, got {meta['seed']!r}")
    tol = meta["tolerance"]
    if not (isinstance(tol, dict) and all(isinstance(tol.get(k), (int, float)) and tol[k] >= 0
                                          for k in ("atol", "rtol"))):
        _bad(path, f"tolerance must be {{'atol': >=0, 'rtol': >=0}}, got {tol!r}")
    for key, spec in meta["arrays"].items():
        if not ARRAY_KEY_RE.match(key):
            _bad(path, f"array name {key!r} must start with 'input.' or 'expected.'")
        if not (isinstance(spec, dict) and spec.get("dtype") in STORED_AS and isinstance(spec.get("shape"), list)):
            _bad(path, f"array {key!r} needs a known dtype ({sorted(STORED_AS)}) and a shape list")
    return meta


def read_arrays(folder, meta):
    """Load ``arrays.npz`` without pickle and check it against ``case.json``."""
    path = os.path.join(os.fspath(folder), ARRAYS_NPZ)
    out = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            if keys != set(meta["arrays"]):
                _bad(path, f"arrays {sorted(keys)} do not match case.json's {sorted(meta['arrays'])}")
            for key, spec in meta["arrays"].items():
                stored = npz[key]
                if stored.dtype.hasobject or stored.dtype != np.dtype(STORED_AS[spec["dtype"]]):
                    _bad(path, f"array {key!r} is stored as {stored.dtype}, expected {STORED_AS[spec['dtype']]}")
                if list(stored.shape) != spec["shape"]:
                    _bad(path, f"array {key!r} has shape {list(stored.shape)}, case.json says {spec['shape']}")
                out[key] = decode(stored, spec["dtype"])
    except GoldenFormatError:
        raise
    except FileNotFoundError:
        _bad(path, "missing")
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        reason = " ".join(str(exc).split())
        if "allow_pickle" in reason or "pickle" in reason.lower():
            reason = "holds a pickled (object) array; golden files must hold plain numeric arrays"
        _bad(path, f"cannot load: {reason}")
    return out


def read_case(folder):
    """``(meta, arrays)`` of a case folder, validated."""
    meta = read_meta(folder)
    return meta, read_arrays(folder, meta)


def scan(directory):
    """Classify the entries of a golden directory.

    Returns ``(cases, orphans)``: ``cases`` maps a case name to its folder (a folder holding
    both case.json and arrays.npz); ``orphans`` lists ``(path, reason)`` for anything else.
    ``case.json`` files are not parsed here.
    """
    directory = os.fspath(directory)
    cases, orphans = {}, []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if entry.startswith(".") or entry in ("README.md", "__pycache__"):
            continue
        if not os.path.isdir(path):
            orphans.append((path, "a stray file (each case is a folder)"))
            continue
        files = set(os.listdir(path))
        has_json, has_npz = CASE_JSON in files, ARRAYS_NPZ in files
        if has_json and has_npz:
            cases[entry] = path
            extra = sorted(f for f in files - {CASE_JSON, ARRAYS_NPZ} if not f.startswith("."))
            if extra:
                orphans.append((path, f"stray files {extra} beside the case"))
        elif has_npz:
            orphans.append((path, "arrays.npz without case.json"))
        elif has_json:
            orphans.append((path, "case.json without arrays.npz"))
        else:
            orphans.append((path, "a folder without case.json"))
    return cases, orphans
