"""`ferrograd models`: the zoo as a table — name, family, parameters, description."""

from __future__ import annotations

from ._registry import list_models, model_entry


def parameter_count(name: str) -> int:
    from ..nn.init import no_init_weights

    with no_init_weights():  # counting needs shapes, not values
        model = model_entry(name).factory()
    return sum(p.numel() for p in model.parameters())


def _human(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def print_models(pattern: str = "*", count: bool = True) -> int:
    names = list_models(pattern)
    if not names:
        print(f"no model matches {pattern!r}; `ferrograd models` lists them all")
        return 1
    width = max(len(n) for n in names)
    for name in names:
        entry = model_entry(name)
        params = _human(parameter_count(name)) if count else ""
        print(f"{name:<{width}}  {entry.family:<18} {params:>9}  {entry.description}")
    return 0
