"""Checks a put makes before it writes: names every backend can store, values JSON can carry."""

from __future__ import annotations

import reprlib
from typing import Any

from petsard_status import formats as codec
from petsard_status.errors import PutError, SerializationError
from petsard_status.metadata.types import SchemaMetadata

# Offending values are shown in error messages, shortened (a frame-sized repr helps nobody).
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80


def name_problem(value: Any, *, empty: bool = False, limit: int | None = None) -> str | None:
    """Why ``value`` cannot be stored as a name on every backend, or None."""
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not a string"
    if not empty and not value.strip():
        return "is empty"
    if "\x00" in value:
        return "holds a NUL character, which PostgreSQL cannot store in text"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate, which is not UTF-8 text"
    if limit is not None and len(value) > limit:
        return f"is {len(value)} characters long, over the limit of {limit}"
    return None


def metadata_name_problem(schema: SchemaMetadata) -> str | None:
    # These names are also stored in plain text columns, outside the JSON documents.
    for what, value in (("schema_id", schema.schema_id), ("name", schema.name)):
        problem = name_problem(value, empty=True)
        if problem is not None:
            return f"the schema's {what} {value!r} {problem}"
    names = [f.name for f in schema.fields]
    if all(type(name) is str for name in names) and _all_storable("".join(names)):
        return None  # the common case, checked at once rather than field by field
    for name in names:
        problem = name_problem(name, empty=True)
        if problem is not None:
            return f"the field name {name!r} {problem}"
    return None


def _all_storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_property(schema: SchemaMetadata) -> str | None:
    """The first property JSON cannot carry, named with its value, or None."""
    owners = [(f"schema {schema.schema_id!r}", schema.properties)]
    owners += [(f"field {f.name!r}", f.properties) for f in schema.fields]
    for owner, properties in owners:
        for key, value in properties.items():
            try:
                codec.dumps_value({key: value})
            except SerializationError:
                return f"{owner} property {key!r} = {_SHORT.repr(value)}"
    return None


def checked_metadata(metadata: Any, where: str) -> SchemaMetadata | None:
    """``get_metadata()``'s answer, if it is metadata a put can store."""
    if metadata is None:
        return None
    if not isinstance(metadata, SchemaMetadata):
        raise PutError(f"{where}: get_metadata() returned {type(metadata).__name__}, not "
                       "SchemaMetadata or None")
    problem = metadata_name_problem(metadata)
    if problem is not None:
        raise PutError(f"{where}: the metadata from get_metadata() cannot be stored: {problem}")
    return metadata
