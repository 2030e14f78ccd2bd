"""Every upstream's simulator by name (`lig simulate NAME`), loaded only when asked for."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from starlette.applications import Starlette

from adapters.faults import Faults

SIMULATORS = {
    "national": "adapters.national.simulator",
    "medical-security": "adapters.medical_security.simulator",
    "public-security": "adapters.public_security.simulator",
    "disabled-federation": "adapters.disabled_federation.simulator",
    "hr-social-security": "adapters.hr_social_security.simulator",
    "education": "adapters.education.simulator",
}


def create(name: str, seed: int, faults: Faults, size: int, **options: Any) -> Starlette:
    module = import_module(SIMULATORS[name])
    app: Starlette = module.create_app(seed, faults, size, **options)
    return app
