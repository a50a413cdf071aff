"""The local stack is the AWS topology: a load balancer without stickiness in front of three
instances that booted with the EC2 bootstrap, and pages whose files come from S3."""

import re
import subprocess
import sys
import textwrap
from collections import Counter

import pytest
import requests
from playwright.sync_api import expect

from deploy.stack.stack import INSTANCES, ROOT
from tests.stack.shop import stack_json

pytestmark = pytest.mark.stack


def test_the_load_balancer_spreads_requests_round_robin(serving):
    stack = serving
    served_by = Counter(
        requests.get(f"{stack.url}/healthz", timeout=5).headers["X-Served-By"] for _ in range(9)
    )
    assert served_by == dict.fromkeys(INSTANCES, 3)


def test_three_instances_booting_together_migrated_once(stack):
    logs = {
        name: (stack.instance(name).directory / "bootstrap.log").read_text() for name in INSTANCES
    }
    migrated = [name for name, log in logs.items() if f"{stack.release}: migrated by" in log]
    assert len(migrated) == 1
    assert all(
        f"{stack.release}: skipped" in logs[name] for name in INSTANCES if name != migrated[0]
    )
    rows = stack_json(
        stack,
        "import json; from webapp.models import Release; "
        "print(json.dumps(list(Release.objects.values_list('version', 'applied_by'))))",
    )
    assert rows == [[stack.release, migrated[0]]]


def test_pages_load_static_files_and_images_from_s3(stack):
    page = requests.get(f"{stack.url}/", timeout=10).text
    s3 = f"http://127.0.0.1:{stack.ports['s3']}"
    css = re.search(r'href="([^"]+/static/css/shop\.[0-9a-f]{12}\.css)"', page).group(1)
    image = re.search(r'src="([^"]+/media/products/[^"]+\.jpg)"', page).group(1)
    assert css.startswith(s3) and image.startswith(s3)
    css_response = requests.get(css, timeout=10)
    assert css_response.headers["Content-Type"] == "text/css"
    assert css_response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert requests.get(image, timeout=10).content[:3] == b"\xff\xd8\xff"  # a JPEG


@pytest.mark.browser
def test_the_shop_renders_in_a_browser_through_the_load_balancer(serving, page):
    stack = serving
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.goto(f"{stack.url}/")
    expect(page.locator(".product-card")).to_have_count(24)
    page.wait_for_load_state("networkidle")
    images = page.locator(".product-card img")
    assert images.first.evaluate("img => img.complete && img.naturalWidth > 0")
    assert failed == []


def test_the_command_line_reports_every_instance_in_the_pool(serving):
    stack = serving
    result = subprocess.run(
        [sys.executable, "-m", "deploy.stack", "--dir", str(stack.directory), "status"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in INSTANCES:
        assert re.search(rf"{name} .* pid \d+ .*load balancer: UP", result.stdout), result.stdout


def test_shoppers_pay_by_card_and_stripes_webhooks_come_through_the_load_balancer(
    serving, shoppers, products
):
    buyer = shoppers[0]
    outcomes = buyer.place_order(products[0][0])
    assert all(o.ok for o in outcomes), [str(o) for o in outcomes]
    [order_id] = buyer.orders
    code = textwrap.dedent(
        f"""
        import json, time
        from cart.models import Order
        from notifications.models import Email
        from payments.models import StripeEvent
        order = Order.objects.get(pk={order_id})
        for _ in range(200):  # localstripe sends its event a second after the payment
            events = StripeEvent.objects.filter(
                payload__data__object__id=order.payment_reference, processed_at__isnull=False
            )
            if events:
                break
            time.sleep(0.1)
        print(json.dumps({{
            "status": order.status,
            "events": list(events.values_list("type", "outcome")),
            "emails": Email.objects.filter(key=f"order_confirmation:{{order.pk}}").count(),
        }}))
        """
    )
    assert stack_json(serving, code) == {
        "status": "paid",
        # Paid at once by the payment page; Stripe's webhook then changes nothing.
        "events": [["payment_intent.succeeded", "order was not awaiting payment"]],
        "emails": 1,
    }
