"""The probe registry: one probe per check config class, every message redacted."""

from __future__ import annotations

import pytest

from lookout_health.checks import ProbeContext, ProbeFailed, ProbeOutcome, probe_for, register
from lookout_health.config import CHECK_CLASSES, KINDS, CheckBase, CustomCheck, kind_of
from lookout_health.status import COMPONENT_TYPE


def test_every_check_class_has_a_probe_and_a_kind() -> None:
    for check_class in CHECK_CLASSES:
        assert KINDS[kind_of(check_class)] is check_class
        check = check_class.model_construct(name="x", kind=kind_of(check_class))
        assert callable(probe_for(check))
    assert COMPONENT_TYPE["postgres"] == "datastore"
    assert COMPONENT_TYPE["dns"] == "system"
    assert COMPONENT_TYPE["http"] == "component"


async def test_a_registered_probe_is_redacted_and_may_flag_degraded() -> None:
    class SecretCheck(CustomCheck):
        pass

    async def leaks(check: SecretCheck) -> ProbeOutcome:
        return ProbeOutcome("token pw-4711 expires soon", degraded=True)

    register(SecretCheck, leaks)
    check = SecretCheck(name="s", kind="custom")
    check._expanded = frozenset({"pw-4711"})
    outcome = await probe_for(check)(check, ProbeContext())
    assert outcome == ProbeOutcome("token *** expires soon", degraded=True)

    async def fails(check: SecretCheck) -> str:
        raise ConnectionError("refused by https://u:pw-4711@db.internal/x?sig=1")

    register(SecretCheck, fails)
    with pytest.raises(ProbeFailed) as failure:
        await probe_for(check)(check, ProbeContext())
    assert str(failure.value) == "ConnectionError: refused by https://***@db.internal/x?…"


def test_register_takes_one_probe() -> None:
    with pytest.raises(TypeError):
        register(CheckBase)
