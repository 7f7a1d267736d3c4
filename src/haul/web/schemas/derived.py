"""Response models derived from haul's own values, so a field is written once.

A value of the service (a frozen dataclass, e.g. :class:`haul.core.tracking.Tracked`) is what
every interface shows; :func:`model_of` turns it into the pydantic model the API documents and
answers with: the value's fields in their order, with their defaults, each typed as the value
types it unless the API shows it otherwise (an enum as its string, a list of plain dicts as a
list of a documented model).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, get_type_hints

from pydantic import BaseModel, Field, create_model


def model_of(
    value: type[Any],
    name: str,
    *,
    shown_as: Mapping[str, Any] = {},
    described: Mapping[str, str] = {},
    module: str = __name__,
) -> type[BaseModel]:
    """A model named ``name`` with the fields of the dataclass ``value``: ``shown_as`` gives
    the type the API shows a field as (default: the value's own), ``described`` the
    description the schema gives it."""
    hints = get_type_hints(value)
    unknown = (set(shown_as) | set(described)) - set(hints)
    if unknown:
        raise TypeError(f"{value.__name__} has no fields {sorted(unknown)}")
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(value):
        if field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{value.__name__}.{field.name}: a default factory is not shown")
        default = ... if field.default is dataclasses.MISSING else field.default
        annotation = shown_as.get(field.name, hints[field.name])
        description = described.get(field.name)
        fields[field.name] = (
            annotation,
            Field(default, description=description) if description is not None else default,
        )
    model: type[BaseModel] = create_model(name, __module__=module, **fields)
    return model
