"""The project's macros called by namespace (`lakeshop.to_utc(...)`), looked up in the
Jinja context that sqlfluff filled from `load_macros_from_path`."""

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)

    @pass_context
    def call_macro(context: Context, *args: Any, **kwargs: Any) -> Any:
        macro = context.get(name)
        if macro is None:
            raise LookupError(f"no macro {name} in macros/ or tests/generic/")
        return macro(*args, **kwargs)

    return call_macro
