"""Fixtures shared by the PayPal tests: the stand-in (its state and its loopback URL) and the
OpenAPI validator that every exchange goes through (a test fails on any violation)."""

from __future__ import annotations

import pytest

from skypanel.backend.integrations.paypal import standin
from tests.contract.openapi import PayPalValidator
from tests.contract.server import serve


@pytest.fixture(scope="module")
def validator_spec():
    return PayPalValidator()


@pytest.fixture()
def validator(validator_spec):
    validator_spec.reset()
    yield validator_spec
    assert validator_spec.violations == []


@pytest.fixture()
def state():
    return standin.StandInState()


@pytest.fixture()
def paypal_url(state):
    with serve(standin.create_app(state)) as url:
        yield url
