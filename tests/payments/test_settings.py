"""Stripe's settings: all three keys or none, and a Content-Security-Policy that allows
exactly Stripe.js (its script, frames and API) when Stripe is on, and nothing of it when off."""

import pytest

from tests.webapp.test_settings import load_settings, production_environment, start

KEYS = {
    "STRIPE_SECRET_KEY": "sk_live_placeholder",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_placeholder",
    "STRIPE_WEBHOOK_SECRET": "whsec_placeholder",
}


def csp(**environment) -> dict:
    """The policy with the production environment minus Stripe's keys, plus `environment`."""
    base = {k: v for k, v in production_environment().items() if k not in KEYS}
    return load_settings({**base, **environment})["csp"]


def test_stripe_on_allows_stripe_js_its_frames_and_its_api_only():
    policy = csp(**KEYS)
    assert policy["script-src"] == ["'self'", "https://shop.example.com", "https://js.stripe.com"]
    assert policy["frame-src"] == ["https://js.stripe.com", "https://hooks.stripe.com"]
    assert policy["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert not any("unsafe" in str(value) for value in policy.values())


def test_a_fake_stripe_is_the_only_stripe_origin():
    policy = csp(**KEYS, STRIPE_API_BASE="http://127.0.0.1:8420/")
    assert policy["script-src"][-1] == policy["frame-src"][0] == "http://127.0.0.1:8420"
    assert policy["connect-src"] == ["'self'", "http://127.0.0.1:8420"]
    assert "https://js.stripe.com" not in str(policy)


def test_stripe_off_allows_no_stripe_and_no_frames():
    policy = csp()
    assert "frame-src" not in policy
    assert "stripe" not in str(policy)


@pytest.mark.parametrize("missing", sorted(KEYS))
def test_some_stripe_keys_without_the_others_stop_the_process(missing):
    environment = {**production_environment(), **KEYS}
    del environment[missing]
    result = start(environment)
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"django.core.exceptions.ImproperlyConfigured: Set {missing}:")
    )


def test_production_takes_stripes_keys_from_its_env_file():
    assert "https://js.stripe.com" in load_settings(production_environment())["csp"]["script-src"]


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        (
            {"STRIPE_API_BASE": "http://127.0.0.1:8420", **dict.fromkeys(KEYS, "")},
            "STRIPE_SECRET_KEY",
        ),
        ({**KEYS, "STRIPE_API_BASE": "ftp://127.0.0.1"}, "STRIPE_API_BASE"),
        ({"SHOP_PAYMENT_TIMEOUT_MINUTES": "0"}, "SHOP_PAYMENT_TIMEOUT_MINUTES"),
    ],
)
def test_contradictory_payment_settings_stop_the_process(environment, named):
    result = start({**production_environment(), **environment})
    assert result.returncode != 0
    assert named in result.stderr.strip().splitlines()[-1]
