"""Canonical JSON for the metadata model and for plain values.

Every document is a versioned envelope::

    {"format": "petsard-status/metadata", "version": 1, "kind": KIND, "value": ...}

written with sorted keys, no whitespace, UTF-8 text (``ensure_ascii=False``) and
no bare ``NaN`` / ``Infinity`` (PostgreSQL's JSON types reject them), so equal
values always give equal bytes and can be stored by content hash.

Kinds: ``schema``, ``field``, ``field_stats``, ``schema_stats`` (the model, see
:func:`to_json` / :func:`from_json`), ``schema_shell`` (a schema without its
fields, plus the ordered references to them, for structural sharing) and
``value`` (any plain value, see :func:`dumps_value` / :func:`loads_value`).

Inside a value, what JSON cannot say directly is a tagged object
``{"$t": TAG, "v": ...}``:

=============  ====================================================================
``float``      ``"nan"``, ``"inf"`` or ``"-inf"`` (finite floats are JSON numbers,
               written as ``repr(float)``, the shortest text that reads back equal)
``datetime``   ISO 8601 text, naive or with its UTC offset, microseconds kept
``date``       ISO 8601 text
``time``       ISO 8601 text, with its UTC offset when it has one
``timedelta``  ``[days, seconds, microseconds]``
``decimal``    ``str(Decimal)``, exponent and sign kept
``bytes``      standard base64
``tuple``      a JSON array of the items
``map``        ``[[key, value], ...]`` for a dict with a key that is not a string,
               sorted by the key's canonical JSON text
``dict``       a string-keyed dict that itself has a ``"$t"`` key, so it cannot
               be mistaken for a tag
``data_type``  / ``logical_type``: the model's enums, by value, where they occur
               inside free-form values (the typed fields hold the bare value)
=============  ====================================================================

Timezones: an aware datetime or time is written with its UTC offset.  A zone that
is not a fixed offset (``zoneinfo``, ``pytz``, ``dateutil``) is replaced by the
fixed offset it has at that instant, so a value reads back as the same instant
with a ``datetime.timezone`` (equal under ``==``, except for the rare wall times
that PEP 495 makes compare unequal across zones: those in a DST fold or gap).
The zone's name is not kept.

pandas and numpy scalars are written as the Python values they stand for
(nanoseconds of ``Timestamp`` / ``Timedelta`` are dropped; ``NA`` and ``NaT``
become ``null``) and read back as those Python values.  Every NaN reads back as
the one ``math.nan`` object, which is what makes NaN-holding models compare equal.

Decoding is strict and total: any input either decodes or raises
:class:`~petsard_status.errors.UnknownFormatError` (a foreign document, or a
format version or kind this package does not know) or
:class:`~petsard_status.errors.SerializationError` naming what is wrong and where
(``value.fields[3].stats.quantiles``).

This module holds the public functions and the envelope; plain values are
encoded in ``_values``, the model's attributes in ``_model``, and
failures are located and worded in ``_codec_messages``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from petsard_status.errors import SerializationError, UnknownFormatError
from petsard_status.formats._common import hash_bytes, strict_loads
from petsard_status.formats._messages import (
    Invalid,
    class_name,
    json_type,
    key_problem,
    short_repr,
    type_name,
)
from petsard_status.formats._model import (
    MODEL_DECODERS,
    MODEL_ENCODERS,
    SHELL_SPEC,
    decode_record,
    encode_record,
)
from petsard_status.formats._values import decode_tagged, encode_json, encode_tagged
from petsard_status.metadata.types import (
    FieldMetadata,
    FieldStats,
    SchemaMetadata,
    SchemaStats,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMAT",
    "VERSION",
    "content_hash",
    "dumps_value",
    "from_json",
    "loads_value",
    "schema_from_shell",
    "schema_shell_to_json",
    "shell_field_refs",
    "to_json",
]

FORMAT = "petsard-status/metadata"
VERSION = 1
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_MODEL_KINDS: dict[str, type] = {
    "schema": SchemaMetadata,
    "field": FieldMetadata,
    "field_stats": FieldStats,
    "schema_stats": SchemaStats,
}
_KIND_OF: dict[type, str] = {cls: kind for kind, cls in _MODEL_KINDS.items()}
_KINDS = frozenset([*_MODEL_KINDS, "schema_shell", "value"])
_ENVELOPE_KEYS = frozenset({"format", "version", "kind", "value"})
# A lone surrogate can only enter through a \uD800-\uDFFF escape.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


# --- public API ------------------------------------------------------------------------


def to_json(
    obj: SchemaMetadata | FieldMetadata | FieldStats | SchemaStats,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> str:
    """The canonical JSON document of a metadata object.

    Raises :class:`SerializationError` naming the path and type of a value JSON
    cannot carry, or if the document would exceed ``max_bytes`` (which
    :func:`from_json` would then refuse to read).
    """
    kind = _KIND_OF.get(type(obj))
    if kind is None:
        raise SerializationError(
            f"to_json encodes SchemaMetadata, FieldMetadata, FieldStats or SchemaStats, "
            f"not {type_name(obj)}; use dumps_value for plain values"
        )
    return _finish(kind, lambda: MODEL_ENCODERS[kind](obj), max_bytes)


def from_json(
    text: str | bytes,
    expected: type | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> object:
    """Decode a document written by :func:`to_json`.

    ``expected``, if given, is the model class the document must hold.
    """
    kind, value = _open(text, max_bytes)
    cls = _MODEL_KINDS.get(kind)
    if cls is None:
        hint = "loads_value" if kind == "value" else "schema_from_shell"
        raise SerializationError(f"document: a {kind!r} document; read it with {hint}")
    if expected is not None and not (isinstance(expected, type) and issubclass(cls, expected)):
        raise SerializationError(
            f"document: expected a {class_name(expected)} document, got kind {kind!r} "
            f"({cls.__name__})"
        )
    return _guard(lambda: MODEL_DECODERS[kind](value))


def dumps_value(value: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Canonical JSON document (kind ``value``) of a plain value.

    Plain values are None, bool, int, float (NaN and infinities included), str,
    bytes, Decimal, date, time, datetime, timedelta, list, tuple, dict (any
    hashable keys of these types), the model's enums, and numpy / pandas scalars
    (written as the Python values they stand for).  Lists stay lists and tuples
    stay tuples.
    """
    return _finish("value", lambda: encode_tagged(value), max_bytes)


def loads_value(text: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Decode a document written by :func:`dumps_value`."""
    kind, value = _open(text, max_bytes)
    if kind != "value":
        hint = "schema_from_shell" if kind == "schema_shell" else "from_json"
        raise SerializationError(f"document: a {kind!r} document; read it with {hint}")
    return _guard(lambda: decode_tagged(value))


def content_hash(text: str | bytes) -> str:
    """Hex BLAKE2b (16-byte digest) of the UTF-8 bytes of ``text``: a document's address."""
    return hash_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))


def schema_shell_to_json(
    schema: SchemaMetadata,
    field_refs: Sequence[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> str:
    """A schema without its fields (kind ``schema_shell``), plus references to them.

    ``field_refs[i]`` stands for ``schema.fields[i]``; the codec treats references
    as opaque strings (the store uses the content hash of each field's document).
    """
    if type(schema) is not SchemaMetadata:
        raise SerializationError(
            f"schema_shell_to_json expects a SchemaMetadata, not {type_name(schema)}"
        )
    refs = list(field_refs)
    if len(refs) != len(schema.fields):
        raise SerializationError(
            f"schema {schema.schema_id!r} has {len(schema.fields)} fields but "
            f"{len(refs)} field references were given"
        )
    for i, ref in enumerate(refs):
        if type(ref) is not str:
            raise SerializationError(f"field_refs[{i}]: expected str, got {type_name(ref)}")

    def build() -> dict[str, Any]:
        value = encode_record(schema, SHELL_SPEC)
        value["field_refs"] = refs
        return value

    return _finish("schema_shell", build, max_bytes)


def shell_field_refs(shell_json: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[str]:
    """The ordered field references of a ``schema_shell`` document."""
    value = _open_shell(shell_json, max_bytes)
    return _guard(lambda: _shell_refs(value))


def schema_from_shell(
    shell_json: str | bytes,
    fields: Sequence[FieldMetadata],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> SchemaMetadata:
    """Rebuild a schema from its shell and its fields, in the shell's reference order."""
    value = _open_shell(shell_json, max_bytes)
    field_list = list(fields)

    def build() -> SchemaMetadata:
        refs = _shell_refs(value)
        if len(refs) != len(field_list):
            raise Invalid(
                f"the shell refers to {len(refs)} fields but {len(field_list)} were given"
            )
        for i, f in enumerate(field_list):
            if type(f) is not FieldMetadata:
                raise Invalid(f"fields[{i}]: expected FieldMetadata, got {type_name(f)}")
        kwargs = decode_record(value, SHELL_SPEC, extra=("field_refs",))
        return SchemaMetadata(fields=tuple(field_list), **kwargs)

    return _guard(build)


# --- envelope --------------------------------------------------------------------------


def _finish(kind: str, build: Callable[[], Any], max_bytes: int) -> str:
    try:
        value = build()
        text = encode_json(
            {"format": FORMAT, "version": VERSION, "kind": kind, "value": value}
        )
    except Invalid as exc:
        raise SerializationError(f"{exc.at('value')}: {exc.message}") from None
    except RecursionError:
        raise SerializationError(
            "value: nested too deeply (or contains itself) to be encoded"
        ) from None
    except ValueError as exc:  # e.g. an int too long to write as text
        raise SerializationError(f"value: {exc}") from None
    size = len(text)
    if not text.isascii():
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise SerializationError(
                f"value: text with a lone surrogate ({exc.object[exc.start:exc.end]!r}) "
                "cannot be stored as UTF-8"
            ) from None
    if size > max_bytes:
        raise SerializationError(
            f"the {kind} document would be {size} bytes, over the limit of {max_bytes}"
        )
    return text


def _open(text: Any, max_bytes: int) -> tuple[str, Any]:
    """Parse and check a document's envelope; return its kind and raw value."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        if len(data) > max_bytes:
            raise SerializationError(f"document: {len(data)} bytes, over the limit of {max_bytes}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError(f"document: not UTF-8 text ({exc.reason})") from None
    elif isinstance(text, str):
        if len(text) > max_bytes or (
            4 * len(text) > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes
        ):
            raise SerializationError(f"document: over the limit of {max_bytes} bytes")
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise SerializationError(
                    "document: contains a lone surrogate, which is not UTF-8 text"
                ) from None
    else:
        raise SerializationError(
            f"document: expected str or bytes, got {type_name(text)}"
        )
    doc = strict_loads(text, what="document", error=SerializationError)
    if _SURROGATE_ESCAPE.search(text):
        try:
            encode_json(doc).encode("utf-8")
        except (UnicodeEncodeError, ValueError, RecursionError):
            raise SerializationError(
                "document: a \\u escape makes a lone surrogate, which is not UTF-8 text"
            ) from None
    if type(doc) is not dict:
        raise UnknownFormatError(
            f"not a {FORMAT} document: expected a JSON object, got {json_type(doc)}"
        )
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise UnknownFormatError(
            f"not a {FORMAT} document (format is {short_repr(fmt)})"
        )
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        raise UnknownFormatError(
            f"{FORMAT} version {short_repr(version)} is not known to this version of "
            f"petsard-status (it reads version {VERSION}); upgrade petsard-status"
        )
    kind = doc.get("kind")
    if type(kind) is not str or kind not in _KINDS:
        raise UnknownFormatError(
            f"{FORMAT} document kind {short_repr(kind)} is unknown; known kinds: "
            f"{', '.join(sorted(_KINDS))}"
        )
    if doc.keys() != _ENVELOPE_KEYS:
        raise SerializationError(f"document: {key_problem(doc.keys(), _ENVELOPE_KEYS)}")
    return kind, doc["value"]


def _open_shell(text: Any, max_bytes: int) -> Any:
    kind, value = _open(text, max_bytes)
    if kind != "schema_shell":
        raise SerializationError(
            f"document: expected a 'schema_shell' document, got kind {kind!r}"
        )
    return value


def _shell_refs(value: Any) -> list[str]:
    if type(value) is not dict:
        raise Invalid(f"expected an object, got {json_type(value)}")
    refs = value.get("field_refs")
    if type(refs) is not list:
        fail = Invalid(f"expected a list of strings, got {json_type(refs)}")
        fail.parts.append(".field_refs")
        raise fail
    for i, ref in enumerate(refs):
        if type(ref) is not str:
            fail = Invalid(f"expected a string, got {json_type(ref)}")
            fail.parts.append(f".field_refs[{i}]")
            raise fail
    return list(refs)


def _guard(build: Callable[[], Any]) -> Any:
    """Run a decoder, turning any failure into SerializationError with its path."""
    try:
        return build()
    except Invalid as exc:
        raise SerializationError(f"{exc.at('value')}: {exc.message}") from None
    except RecursionError:
        raise SerializationError("value: nested too deeply") from None
    except Exception as exc:
        # The model's own checks (a constructor, normalisation) may reject what the
        # shape checks let through; a caller must only ever see the package's errors.
        raise SerializationError(f"value: {type(exc).__name__}: {exc}") from exc
