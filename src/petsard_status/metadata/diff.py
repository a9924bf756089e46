"""What changed between two versions of a schema.

Fields are matched by name.  ``created_at`` and ``updated_at`` never count as a
change: metadata re-inferred from unchanged data gets new timestamps but is the
same metadata.

Equality follows the model's ``==``, so NaN statistics compare equal to
themselves (the model holds every NaN as the one ``math.nan`` object).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from petsard_status.metadata.types import FieldMetadata, SchemaMetadata

__all__ = ["FieldChange", "MetadataDiff", "diff", "preserve_unchanged"]

# Compared in this order, which is also the order of FieldChange.attributes.
FIELD_ATTRIBUTES: tuple[str, ...] = (
    "data_type",
    "logical_type",
    "nullable",
    "source_dtype",
    "target_dtype",
    "description",
    "cast_error",
    "stats",
    "properties",
)
SCHEMA_ATTRIBUTES: tuple[str, ...] = (
    "schema_id",
    "name",
    "description",
    "fields",
    "stats",
    "properties",
)


@dataclass(frozen=True)
class FieldChange:
    """One field created, updated or deleted."""

    name: str
    change_type: str  # "create" | "update" | "delete"
    before: FieldMetadata | None
    after: FieldMetadata | None
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetadataDiff:
    """The difference between two schemas (either may be absent)."""

    schema_change: str | None  # "create" | "update" | "delete" | None when equal
    schema_attributes: tuple[str, ...] = ()
    field_changes: tuple[FieldChange, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.schema_change is None


def field_attributes_changed(before: FieldMetadata, after: FieldMetadata) -> tuple[str, ...]:
    """Names of the attributes (timestamps aside, name aside) that differ."""
    return tuple(
        name for name in FIELD_ATTRIBUTES if getattr(before, name) != getattr(after, name)
    )


def diff(before: SchemaMetadata | None, after: SchemaMetadata | None) -> MetadataDiff:
    """Compare two schemas; ``None`` stands for "no schema"."""
    if before is None and after is None:
        return MetadataDiff(None)
    if before is None:
        assert after is not None
        return MetadataDiff(
            "create",
            SCHEMA_ATTRIBUTES,
            tuple(FieldChange(f.name, "create", None, f, FIELD_ATTRIBUTES) for f in after.fields),
        )
    if after is None:
        return MetadataDiff(
            "delete",
            SCHEMA_ATTRIBUTES,
            tuple(
                FieldChange(f.name, "delete", f, None, FIELD_ATTRIBUTES) for f in before.fields
            ),
        )

    old_by_name = {f.name: f for f in before.fields}
    new_names = {f.name for f in after.fields}
    changes: list[FieldChange] = []
    for new in after.fields:
        old = old_by_name.get(new.name)
        if old is None:
            changes.append(FieldChange(new.name, "create", None, new, FIELD_ATTRIBUTES))
            continue
        if old is new:
            continue
        changed = field_attributes_changed(old, new)
        if changed:
            changes.append(FieldChange(new.name, "update", old, new, changed))
    changes.extend(
        FieldChange(old.name, "delete", old, None, FIELD_ATTRIBUTES)
        for old in before.fields
        if old.name not in new_names
    )

    schema_attributes = []
    for name in SCHEMA_ATTRIBUTES:
        if name == "fields":
            # Order matters for a table even when no field's content changed.
            if changes or before.field_names != after.field_names:
                schema_attributes.append(name)
        elif getattr(before, name) != getattr(after, name):
            schema_attributes.append(name)
    return MetadataDiff(
        "update" if schema_attributes else None,
        tuple(schema_attributes),
        tuple(changes),
    )


def preserve_unchanged(before: SchemaMetadata | None, after: SchemaMetadata) -> SchemaMetadata:
    """``after``, reusing ``before``'s objects wherever nothing but timestamps changed.

    Re-inferring metadata stamps every field with a new time, so its JSON (and
    content hash) changes although its meaning did not.  Passing the result of
    this function to the store keeps unchanged fields byte-identical, and so
    shared: a field keeps the ``created_at`` / ``updated_at`` of the version in
    which it last changed.  When nothing changed at all, ``before`` itself is
    returned; otherwise the schema keeps ``before.created_at``.
    """
    if before is None:
        return after
    old_by_name = {f.name: f for f in before.fields}
    fields = []
    for new in after.fields:
        old = old_by_name.get(new.name)
        if old is not None and old is not new and not field_attributes_changed(old, new):
            fields.append(old)
        else:
            fields.append(new)
    merged = replace(after, fields=tuple(fields), created_at=before.created_at)
    if diff(before, merged).is_empty:
        return before
    return merged
