"""Untrusted content: a database edited by someone else is refused, and never runs code.

Edits come in two kinds.  A naive edit changes a stored document or blob in
place; the content hash it is stored under no longer matches.  A careful edit
stores the forged content under its true hash and re-points every reference
(schema shells, result trees, run states) at it; then the decoders' own
validation must refuse it.  Both must end in a package error when the data is
read through the API, and no stored byte is ever unpickled or evaluated: a
pickle program that would create a file if it ran is planted everywhere a
decoder looks, and the file never appears.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sqlite3
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyarrow import ipc

import petsard_status
from petsard_status import (
    CorruptDataError,
    Metadater,
    PetsardStatusError,
    SerializationError,
    Status,
    Store,
    UnknownFormatError,
)
from petsard_status import formats as codec
from petsard_status.formats import (
    MANIFEST_KEY,
    TREE_FORMAT,
    RunState,
    decode_result,
    encode_frame,
    encode_result,
    hash_bytes,
)
from petsard_status.store.migrate import migrations_dir

CONFIG = {"Loader": {"load": {}}, "Splitter": {"split": {}}, "Preprocessor": {"prep": {}}}


def pickle_program(canary: Path) -> bytes:
    """A protocol-0 pickle that runs ``touch canary`` when unpickled (written by hand)."""
    return f"cposix\nsystem\n(S'touch {canary}'\ntR.".encode()


class Adapter:
    def __init__(self, frame: pd.DataFrame, schema: Any = None, indices: Any = None) -> None:
        self.frame, self.schema, self.indices = frame, schema, indices

    def get_result(self) -> pd.DataFrame:
        return self.frame

    def get_metadata(self) -> Any:
        return self.schema

    def get_train_indices(self) -> list[set[int]]:
        return self.indices


FRAME = pd.DataFrame({"age": [31, 45, 27, 62], "city": ["Oslo", "Lima", "Pune", "Graz"]})


def make_run(path: Path) -> Path:
    with Status(CONFIG, path, run="r") as status:
        status.put("Loader", "load", Adapter(FRAME, Metadater.create_schema(FRAME, "data")))
        status.put("Splitter", "split", Adapter({"train": FRAME.iloc[:3]}, None, [{0, 1, 2}]))
    return path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("pristine") / "store.db")


@pytest.fixture
def db(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "edited.db"
    target.write_bytes(pristine.read_bytes())
    return target


@contextlib.contextmanager
def edit(path: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection as another program would use: no foreign keys, no checks."""
    conn = sqlite3.connect(path)
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def head(conn: sqlite3.Connection) -> RunState:
    return RunState.from_json(conn.execute("SELECT head_json FROM runs").fetchone()[0])


def loader_refs(conn: sqlite3.Connection) -> dict[str, Any]:
    state = head(conn)
    tree = state.active_map["Loader"].result_ref
    tree_doc = json.loads(blob(conn, tree))
    schema = state.metadata_map["Loader"]
    shell = conn.execute("SELECT doc FROM schemas WHERE hash = ?", (schema,)).fetchone()[0]
    return {"tree": tree, "frame": tree_doc["root"]["frame"], "schema": schema,
            "fields": codec.shell_field_refs(shell), "indices": state.train_indices}


def blob(conn: sqlite3.Connection, digest: str) -> bytes:
    return bytes(conn.execute("SELECT data FROM blobs WHERE hash = ?", (digest,)).fetchone()[0])


def repoint(conn: sqlite3.Connection, old: str, new: str) -> None:
    """Make every reference to ``old`` (a content hash) name ``new`` instead."""
    for table, column in (("runs", "head_json"), ("snapshots", "state_json"),
                          ("snapshots", "schema_before"), ("snapshots", "schema_after"),
                          ("changes", "before_schema"), ("changes", "after_schema"),
                          ("changes", "before_field"), ("changes", "after_field"),
                          ("schemas", "doc")):
        conn.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)",
                     (old, new))


def forge_blob(conn: sqlite3.Connection, data: bytes, kind: str) -> str:
    digest = hash_bytes(data)
    conn.execute("INSERT OR REPLACE INTO blobs (hash, kind, size, data) VALUES (?, ?, ?, ?)",
                 (digest, kind, len(data), data))
    return digest


def forge_frame(conn: sqlite3.Connection, data: bytes) -> None:
    """Store ``data`` as the Loader's result frame, consistently re-pointed."""
    refs = loader_refs(conn)
    digest = forge_blob(conn, data, "frame")
    tree = json.dumps({"format": TREE_FORMAT, "version": 1, "root": {"frame": digest}}).encode()
    repoint(conn, refs["tree"], forge_blob(conn, tree, "tree"))


def forge_schema(conn: sqlite3.Connection, old: str, shell: str) -> None:
    new = codec.content_hash(shell)
    conn.execute("INSERT OR REPLACE INTO schemas (hash, schema_id, name, field_count, doc) "
                  "VALUES (?, 'data', 'data', 2, ?)", (new, shell))
    repoint(conn, old, new)


def forge_field(conn: sqlite3.Connection, doc: str) -> None:
    """Replace the Loader schema's first field by ``doc``, consistently re-pointed."""
    refs = loader_refs(conn)
    new = codec.content_hash(doc)
    conn.execute("INSERT OR REPLACE INTO fields (hash, name, data_type, doc) "
                 "VALUES (?, 'age', 'int64', ?)", (new, doc))
    shell = conn.execute("SELECT doc FROM schemas WHERE hash = ?",
                         (refs["schema"],)).fetchone()[0]
    forge_schema(conn, refs["schema"], shell.replace(refs["fields"][0], new))


def manifest_of(data: bytes) -> dict[str, Any]:
    return json.loads(ipc.open_stream(data).schema.metadata[MANIFEST_KEY])


def with_manifest(data: bytes, manifest: Any, field_metadata: dict | None = None) -> bytes:
    reader = ipc.open_stream(data)
    batches = list(reader)
    fields = list(reader.schema)
    if field_metadata is not None:
        fields[0] = fields[0].with_metadata(field_metadata)
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    schema = pa.schema(fields, metadata={MANIFEST_KEY: raw})
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
    return sink.getvalue().to_pybytes()


def get_result(path: Path) -> Any:
    with Status.open("r", path) as status:
        return status.get_result("Loader")


def get_metadata(path: Path) -> Any:
    with Status.open("r", path) as status:
        return status.get_metadata("Loader")


def refused(read: Any, path: Path, error: Any, *words: str) -> None:
    with pytest.raises(error) as info:
        read(path)
    assert isinstance(info.value, PetsardStatusError)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


# --- naive edits: the content hash no longer matches ------------------------------------


@pytest.mark.parametrize("target", ["frame", "tree", "field", "schema"])
def test_edit_in_place_fails_the_content_hash(db: Path, target: str) -> None:
    with edit(db) as conn:
        refs = loader_refs(conn)
        if target in ("frame", "tree"):
            data = blob(conn, refs[target])
            if target == "frame":
                manifest = manifest_of(data)
                manifest["columns"][0]["dtype"] = "float64"
                data = with_manifest(data, manifest)
            else:
                data = data.replace(b'"version":1', b'"version":2')
            conn.execute("UPDATE blobs SET data = ? WHERE hash = ?", (data, refs[target]))
        else:
            table, digest = ("fields", refs["fields"][0]) if target == "field" else (
                "schemas", refs["schema"])
            conn.execute(f"UPDATE {table} SET doc = replace(doc, 'data', 'DATA') "
                         "WHERE hash = ?", (digest,))
    read = get_result if target in ("frame", "tree") else get_metadata
    refused(read, db, CorruptDataError, "does not match its content hash", "backup")


# --- careful edits: true hashes, and the decoders refuse the content ----------------------


@pytest.mark.parametrize("dtype", ["pickle", "object", "python:builtins.eval", "int64", 7, None])
def test_manifest_names_an_unexpected_dtype(db: Path, dtype: Any) -> None:
    with edit(db) as conn:
        data = blob(conn, loader_refs(conn)["frame"])
        manifest = manifest_of(data)
        manifest["columns"][1]["dtype"] = dtype  # the "city" column holds strings
        forge_frame(conn, with_manifest(data, manifest))
    refused(get_result, db, CorruptDataError, "frame")


@pytest.mark.parametrize(
    ("doc", "error", "words"),
    [
        ({"format": "petsard-status/metadata", "version": 1, "kind": "field",
          "value": ["not", "an", "object"]}, SerializationError, ["value"]),
        ({"format": "petsard-status/metadata", "version": 1, "kind": "field",
          "value": {"data_type": "int64"}}, SerializationError, ["name"]),
        ({"format": "petsard-status/metadata", "version": 99, "kind": "field",
          "value": {}}, UnknownFormatError, ["99"]),
        ({"format": "someone-else/metadata", "version": 1, "kind": "field",
          "value": {}}, UnknownFormatError, ["someone-else"]),
        ({"format": "petsard-status/metadata", "version": 1, "kind": "schema_stats",
          "value": {}}, SerializationError, ["schema_stats"]),
        ("not json at all", SerializationError, []),
    ],
    ids=["list-value", "no-name", "version-99", "foreign-format", "wrong-kind", "not-json"],
)
def test_field_document_of_the_wrong_shape_or_version(db: Path, doc: Any, error: Any,
                                                       words: list[str]) -> None:
    with edit(db) as conn:
        forge_field(conn, doc if isinstance(doc, str) else json.dumps(doc))
    refused(get_metadata, db, error, *words)


def test_schema_shell_of_an_unknown_version(db: Path) -> None:
    with edit(db) as conn:
        refs = loader_refs(conn)
        shell = json.loads(conn.execute("SELECT doc FROM schemas WHERE hash = ?",
                                        (refs["schema"],)).fetchone()[0])
        shell["version"] = 2
        forge_schema(conn, refs["schema"], json.dumps(shell))
    refused(get_metadata, db, UnknownFormatError, "version")


@pytest.mark.parametrize("consistent", [False, True], ids=["in-place", "true-hash"])
def test_huge_document(db: Path, consistent: bool) -> None:
    padding = "a" * (65 * 1024 * 1024)
    doc = json.dumps({"format": "petsard-status/metadata", "version": 1, "kind": "field",
                      "value": {"name": padding, "data_type": "int64"}})
    with edit(db) as conn:
        if consistent:
            forge_field(conn, doc)
        else:
            conn.execute("UPDATE fields SET doc = ? WHERE hash = ?",
                         (doc, loader_refs(conn)["fields"][0]))
    refused(get_metadata, db, CorruptDataError, "over the limit")


@pytest.mark.parametrize(
    ("delete", "read"),
    [
        ("frame", get_result),
        ("tree", get_result),
        ("schema", get_metadata),
        ("field", get_metadata),
        ("indices", lambda path: Status.open("r", path).get_exist_train_indices()),
    ],
    ids=["frame-blob", "tree-blob", "schema", "field", "indices-blob"],
)
def test_rows_pointing_at_missing_rows(db: Path, delete: str, read: Any) -> None:
    with edit(db) as conn:
        refs = loader_refs(conn)
        table, digest = {
            "frame": ("blobs", refs["frame"]), "tree": ("blobs", refs["tree"]),
            "schema": ("schemas", refs["schema"]), "field": ("fields", refs["fields"][0]),
            "indices": ("blobs", refs["indices"]),
        }[delete]
        assert conn.execute(f"DELETE FROM {table} WHERE hash = ?", (digest,)).rowcount == 1
    refused(read, db, CorruptDataError, digest, "does not hold it", "db check")


@pytest.mark.parametrize("state", ['{"v": 2}', "[]", '{"v": 1, "active": 5}',
                                   '{"v": 1, "active": [["Loader", "e", 1e999, null, "A"]]}'])
def test_tampered_run_state(db: Path, state: str) -> None:
    with edit(db) as conn:
        conn.execute("UPDATE runs SET head_json = ?", (state,))
        conn.execute("UPDATE snapshots SET state_json = ? WHERE seq = 1", (state,))
    refused(lambda path: Status.open("r", path), db, CorruptDataError, "run state")
    with edit(db) as conn:
        conn.execute("UPDATE runs SET head_json = (SELECT state_json FROM snapshots "
                     "WHERE seq = 2)")
    with Status.open("r", db) as status:
        pd.testing.assert_frame_equal(status.get_result("Splitter")["train"], FRAME.iloc[:3])
        with pytest.raises(CorruptDataError, match="run state"):
            status.restore_from_snapshot(status.get_snapshots()[0].snapshot_id)


# --- nothing is ever unpickled or evaluated -----------------------------------------------


def test_planted_pickle_programs_never_run(pristine: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    db = tmp_path / "extension.db"
    db.write_bytes(pristine.read_bytes())
    program = pickle_program(canary)
    with edit(db) as conn:
        refs = loader_refs(conn)
        data = blob(conn, refs["frame"])
        # The Arrow extension-type hook pyarrow once unpickled (CVE-2023-47248).
        forge_frame(conn, with_manifest(data, manifest_of(data), {
            b"ARROW:extension:name": b"arrow.py_extension_type",
            b"ARROW:extension:metadata": program,
        }))
    with contextlib.suppress(PetsardStatusError):
        get_result(db)

    plants = {
        "frame blob": lambda conn: forge_frame(conn, program),
        "manifest": lambda conn: forge_frame(conn, with_manifest(
            blob(conn, loader_refs(conn)["frame"]), program)),
        "field document": lambda conn: forge_field(conn, program.decode()),
        "tagged value": lambda conn: conn.execute(
            "UPDATE snapshots SET context_json = ?",
            (json.dumps({"format": "petsard-status/metadata", "version": 1, "kind": "value",
                         "value": {"$t": "pickle", "v": program.decode()}}),)),
        "config": lambda conn: conn.execute("UPDATE runs SET config_json = ?",
                                            (program.decode(),)),
        "result tree": lambda conn: repoint(conn, loader_refs(conn)["tree"], forge_blob(
            conn, json.dumps({"format": TREE_FORMAT, "version": 1, "root": {
                "value": program.decode()}}).encode(), "tree")),
    }
    for name, plant in plants.items():
        db = tmp_path / f"{name.replace(' ', '-')}.db"
        db.write_bytes(pristine.read_bytes())
        with edit(db) as conn:
            plant(conn)
        with contextlib.suppress(PetsardStatusError), Status.open("r", db) as status:
            for read in (lambda: status.get_result("Loader"), status.get_snapshots,
                         status.get_change_history, lambda: status.get_metadata("Loader")):
                with contextlib.suppress(PetsardStatusError):
                    read()
        assert not canary.exists(), f"the pickle planted in the {name} ran"


FORBIDDEN_WORDS = ("pickle", "marshal", "shelve", "__reduce__", "dill", "cloudpickle")
FORBIDDEN_CALLS = ("eval", "exec", "compile", "__import__")


def _code_tokens(source: str) -> list[str]:
    """The source's names and operators: comments, docstrings and strings left out."""
    skip = {tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENCODING}
    # Python 3.12 splits f-strings into parts; their literal text is not code either.
    skip |= {getattr(tokenize, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
             if hasattr(tokenize, n)}
    return [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type not in skip]


def _safe_loader_names(tree: ast.Module) -> set[str]:
    names = {"SafeLoader", "CSafeLoader"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            isinstance(b, ast.Attribute) and b.attr in ("SafeLoader", "CSafeLoader")
            for b in node.bases
        ):
            names.add(node.name)
    return names


def _own_import(node: ast.Call) -> bool:
    """``__import__`` of one of the package's own modules, by a name written in the source."""
    if getattr(node.func, "id", "") != "__import__" or not node.args:
        return False
    first = node.args[0]
    if isinstance(first, ast.JoinedStr):
        first = first.values[0]
    return isinstance(first, ast.Constant) and str(first.value).startswith("petsard_status.")


def test_package_source_has_no_code_execution_primitives() -> None:
    package = Path(petsard_status.__file__).parent
    files = sorted(package.rglob("*.py")) + sorted(migrations_dir().rglob("*.py"))
    assert len(files) > 20
    problems = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        label = path.name if path.is_relative_to(package) else f"migrations/{path.name}"
        tokens = _code_tokens(source)
        problems += [f"{label}: uses {w}" for w in FORBIDDEN_WORDS
                     if any(w in t for t in tokens)]
        tree = ast.parse(source)
        safe = _safe_loader_names(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if isinstance(func, ast.Name) and name in FORBIDDEN_CALLS and not _own_import(node):
                problems.append(f"{label}:{node.lineno}: calls {name}()")
            if name in ("unsafe_load", "full_load", "load_all") or (
                name == "load" and isinstance(func, ast.Attribute)
                and getattr(func.value, "id", "") == "yaml"
                and not any(k.arg == "Loader" and getattr(k.value, "id", getattr(
                    k.value, "attr", "")) in safe for k in node.keywords)
            ):
                problems.append(f"{label}:{node.lineno}: yaml.{name} without a SafeLoader")
            if name in ("read_pickle", "to_pickle") or any(
                k.arg == "allow_pickle" and getattr(k.value, "value", False) is not False
                for k in node.keywords
            ):
                problems.append(f"{label}:{node.lineno}: {name} with pickle")
            if name == "exec_module" and label != "custom.py":
                problems.append(f"{label}:{node.lineno}: exec_module outside modules/custom.py")
    assert problems == []


# --- hypothesis: arbitrary content through the store-level decoders -------------------------


FRAMES = {"one": pd.DataFrame({"x": [1.5, None]}), "two": FRAME}
FRAME_BLOBS = {hash_bytes(b): b for b in (encode_frame(f) for f in FRAMES.values())}
json_leaves = (st.none() | st.booleans() | st.integers() | st.text(max_size=8)
               | st.floats(allow_nan=False, allow_infinity=False)
               | st.sampled_from(sorted(FRAME_BLOBS)))
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.sampled_from(["frame", "series", "dict",
                                                            "value"]), inner, max_size=3),
    max_leaves=15,
)
nodes = st.recursive(
    st.builds(lambda h: {"frame": h}, st.sampled_from(sorted(FRAME_BLOBS)) | st.text(max_size=6))
    | st.builds(lambda v: {"value": codec.dumps_value(v)}, json_leaves)
    | st.builds(lambda t: {"value": t}, st.text(max_size=20))
    | json_values,
    lambda inner: st.builds(lambda n: {"series": n}, inner)
    | st.builds(lambda items: {"dict": items},
                st.lists(st.tuples(st.text(max_size=4), inner).map(list)
                         | json_values, max_size=3)),
    max_leaves=10,
)


def _load_blob(digest: Any) -> bytes:
    if isinstance(digest, str) and digest in FRAME_BLOBS:
        return FRAME_BLOBS[digest]
    raise CorruptDataError(f"no blob {digest!r}")


@settings(max_examples=300, deadline=None)
@given(root=nodes, fmt=st.sampled_from([TREE_FORMAT, TREE_FORMAT, "other"]),
       version=st.sampled_from([1, 1, 2, "1"]), extra=st.booleans())
def test_arbitrary_result_trees(root: Any, fmt: str, version: Any, extra: bool) -> None:
    doc = {"format": fmt, "version": version, "root": root}
    if extra:
        doc["pickle"] = "cos\nsystem\n."
    try:
        value = decode_result(json.dumps(doc).encode(), _load_blob)
    except PetsardStatusError:
        return
    # Whatever decodes is plain data that stores and decodes again to the same thing.
    again = encode_result(value)
    back = decode_result(again.blobs[again.ref][1], lambda h: again.blobs[h][1])
    assert encode_result(back).ref == again.ref


def _valid_state_doc() -> dict[str, Any]:
    return json.loads(RunState().with_metadata("Loader", "a" * 32).to_json())


@settings(max_examples=300, deadline=None)
@given(value=json_values, key=st.sampled_from(["v", "active", "metadata", "report",
                                               "train_indices", "validation", "extra", None]))
def test_arbitrary_run_states(value: Any, key: str | None) -> None:
    doc: Any = value
    if key is not None:
        doc = _valid_state_doc()
        doc[key] = value
    try:
        state = RunState.from_json(json.dumps(doc))
    except CorruptDataError:
        return
    assert RunState.from_json(state.to_json()) == state
    for _, entry in state.active:
        assert entry.result_ref is None or isinstance(entry.result_ref, str)
    assert state.train_indices is None or isinstance(state.train_indices, str)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    path = make_run(tmp_path_factory.mktemp("scratch") / "store.db")
    with Store(path) as store:
        yield store, path


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values, envelope=st.booleans())
def test_arbitrary_field_documents_in_a_store(scratch: tuple[Store, Path], value: Any,
                                              envelope: bool) -> None:
    store, path = scratch
    doc = json.dumps({"format": "petsard-status/metadata", "version": 1, "kind": "field",
                      "value": value} if envelope else value)
    digest = codec.content_hash(doc)
    with edit(path) as conn:
        conn.execute("INSERT OR IGNORE INTO fields (hash, name, data_type, doc) "
                     "VALUES (?, 'x', 'int64', ?)", (digest, doc))
    with contextlib.suppress(PetsardStatusError):
        store.load_field(digest)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arbitrary_manifests_in_a_store(scratch: tuple[Store, Path], data: Any) -> None:
    store, path = scratch
    frame_blob = FRAME_BLOBS[hash_bytes(encode_frame(FRAME))]
    manifest = manifest_of(frame_blob)
    if data.draw(st.booleans(), label="whole"):
        manifest = data.draw(json_values, label="manifest")
    else:
        column = data.draw(st.sampled_from([0, 1]), label="column")
        key = data.draw(st.sampled_from(["dtype", "name", "nulls"]), label="key")
        manifest["columns"][column][key] = data.draw(json_values, label="value")
    with edit(path) as conn:
        digest = forge_blob(conn, with_manifest(frame_blob, manifest), "frame")
        tree = json.dumps({"format": TREE_FORMAT, "version": 1, "root": {"frame": digest}})
        ref = forge_blob(conn, tree.encode(), "tree")
    try:
        value = store.load_result(ref)
    except PetsardStatusError:
        return
    assert isinstance(value, pd.DataFrame)
