"""The library's JSONTranscoder, reading with orjson: the same stored bytes, the same
objects, in about half the time (reads dominate a rebuild and every aggregate load).

Writing is unchanged (the library's stdlib-json encoder), so the stored format is the
library's own and its plain mapper reads our store. Reading parses with orjson and then
revives every ``{"_type_": name, "_data_": data}`` object with the registered
transcoding, innermost first, exactly as the library's ``object_hook`` does. Anything
orjson refuses (NaN or Infinity written by stdlib json, a lone surrogate) is read by the
library's own decoder instead, and so is any state holding a float: orjson silently reads
an integer beyond 64 bits as a float, and events rarely hold floats (a legacy FLOAT
column), so a float anywhere sends the state to the library's decoder.

Selected with the library's ``TRANSCODER_TOPIC`` setting (see ``ConversionTracker``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

# The library's own transcodings, whose ``decode`` is exactly these constructors.
_DIRECT_DECODERS: dict[type[Transcoding], Callable[[Any], Any]] = {
    DatetimeAsISO: datetime.fromisoformat,
    DecimalAsStr: Decimal,
    UUIDAsHex: UUID,
}


class OrjsonReadingTranscoder(JSONTranscoder):
    def __init__(self) -> None:
        super().__init__()
        self._decoders: dict[str, Callable[[Any], Any]] = {}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        self._decoders[transcoding.name] = _DIRECT_DECODERS.get(type(transcoding), transcoding.decode)

    def decode(self, data: bytes) -> Any:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            return super().decode(data)
        floats: list[float] = []
        revived = self._revive(parsed, floats)
        if floats:
            return super().decode(data)  # a float may be an integer beyond 64 bits, misread
        return revived

    def _revive(self, obj: Any, floats: list[float]) -> Any:
        """``obj`` with every typed object inside it (and itself) decoded, innermost
        first; any float met is noted in ``floats``."""
        kind = type(obj)
        if kind is dict:
            for key, value in obj.items():
                inner = type(value)
                if inner is dict:
                    # the common case inline: a typed leaf such as {"_type_": "datetime_iso", ...}
                    if len(value) == 2 and "_type_" in value and "_data_" in value and type(value["_data_"]) is str:
                        obj[key] = self._decoder(value["_type_"])(value["_data_"])
                    else:
                        obj[key] = self._revive(value, floats)
                elif inner is list:
                    obj[key] = self._revive(value, floats)
                elif inner is float:
                    floats.append(value)
            if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
                return self._decoder(obj["_type_"])(obj["_data_"])
            return obj
        if kind is list:
            for index, value in enumerate(obj):
                inner = type(value)
                if inner is dict or inner is list:
                    obj[index] = self._revive(value, floats)
                elif inner is float:
                    floats.append(value)
        elif kind is float:
            floats.append(obj)
        return obj

    def _decoder(self, name: Any) -> Callable[[Any], Any]:
        try:
            return self._decoders[name]
        except (KeyError, TypeError) as error:
            raise TranscodingNotRegisteredError(
                f"Data serialized with name '{name}' is not deserializable. "
                "Please register a custom transcoding for this type."
            ) from error
