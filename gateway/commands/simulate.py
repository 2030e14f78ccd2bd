"""`lig simulate UPSTREAM`: serve an upstream's simulator on 127.0.0.1 (tests, demos, benches)."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.faults import FAULT_HELP, Faults
from adapters.simulators import SIMULATORS, create
from gateway.commands.common import err, fail


def simulate(
    upstream: Annotated[str, typer.Argument(help="One of: " + ", ".join(SIMULATORS))],
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8900,
    seed: Annotated[int, typer.Option(help="The same seed gives the same data.")] = 2026,
    size: Annotated[
        int, typer.Option(min=1, max=10_000_000, help="Households (national) or records.")
    ] = 1000,
    fault: Annotated[str | None, typer.Option(help=f"Faults to inject: {FAULT_HELP}.")] = None,
    drop_folder: Annotated[
        str | None, typer.Option(help="education: the folder its files are dropped into.")
    ] = None,
) -> None:
    """Serve a simulator of UPSTREAM on 127.0.0.1 (never on another address: it holds no real
    data, but it answers anyone)."""
    import uvicorn

    if upstream not in SIMULATORS:
        raise fail(f"upstream: one of {', '.join(SIMULATORS)}, not {upstream!r}")
    try:
        faults = Faults.parse(fault, seed)
    except ValueError as error:
        raise fail(f"fault: {error}") from None
    options = {"drop_folder": drop_folder} if drop_folder else {}
    app = create(upstream, seed, faults, size, **options)
    if upstream == "national":
        from adapters.national.simulator import DEFAULT_APP_KEY, DEFAULT_SECRET

        err.print(
            "point the gateway at it:\n"
            f"  LIG_NATIONAL_URL=http://127.0.0.1:{port} LIG_NATIONAL_APP_KEY={DEFAULT_APP_KEY} "
            f"LIG_NATIONAL_APP_SECRET={DEFAULT_SECRET.decode()}",
            highlight=False,
            soft_wrap=True,
        )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info", server_header=False)
