"""The production configuration scores A+ (at least 100) on the MDN HTTP Observatory's
rules (tests/webapp/observatory.py mirrors them), page by page.

gunicorn runs with production's security settings (DJANGO_HTTPS=true behind one proxy, as
behind the ALB); the test plays the load balancer, which ends TLS and says so in
X-Forwarded-Proto: `http` for the scan's first request, `https` for the rest.
"""

from http.cookies import SimpleCookie

import pytest
import requests

from tests.factories import make_product
from tests.servers import start_app_server
from tests.webapp import observatory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.servers]
PAGES = ["/", "/products/brass-lamp/", "/accounts/login/", "/cart/", "/admin/login/"]


@pytest.fixture
def production_server():
    make_product(name="Brass Lamp", slug="brass-lamp")
    server = start_app_server("observatory", DJANGO_HTTPS="true", DJANGO_PROXY_COUNT="1")
    yield server
    server.stop()


def fetch(server, path, proto="https", **headers) -> requests.Response:
    return requests.get(
        f"{server.url}{path}",
        headers={"X-Forwarded-Proto": proto, "X-Forwarded-For": "203.0.113.5", **headers},
        allow_redirects=False,
        timeout=10,
    )


def set_cookies(response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


def test_every_page_scores_a_plus(production_server):
    server = production_server
    host_url = server.url.replace("http://", "https://")
    first = fetch(server, "/", proto="http")
    assert first.status_code == 301
    route = [f"{server.url}/", first.headers["Location"]]
    responses = {path: fetch(server, path) for path in PAGES}
    cookies = [line for r in responses.values() for line in set_cookies(r)]
    cors = fetch(server, "/", Origin="https://http-observatory.security.mozilla.org")

    scores = {}
    for path, response in responses.items():
        assert response.status_code == 200, path
        scan = observatory.Scan(
            url=host_url + path,
            headers=list(response.headers.items()),
            html=response.text,
            set_cookies=cookies,
            http_route=route,
            cors_headers=list(cors.headers.items()),
        )
        scores[path] = observatory.score(scan)
    for path, (points, grade, results) in scores.items():
        print(f"Observatory {path}: {points} ({grade}) {results}")
    assert {path: grade for path, (_p, grade, _r) in scores.items()} == dict.fromkeys(PAGES, "A+")
    assert all(points >= 100 for points, _g, _r in scores.values())
    home = scores["/"][2]
    assert home["content-security-policy"] == "csp-implemented-with-no-unsafe-default-src-none"
    assert home["cookies"] == "cookies-secure-with-httponly-sessions-and-samesite"
    assert home["redirection"] == "redirection-to-https"


def test_session_and_csrf_cookies_carry_the_host_prefix_over_https(production_server):
    server = production_server
    lines = set_cookies(fetch(server, "/products/brass-lamp/"))
    lines += set_cookies(fetch(server, "/accounts/login/"))
    jar = SimpleCookie()
    for line in lines:
        jar.load(line)
    assert {"__Host-sessionid", "__Host-csrftoken"} <= set(jar)
    for name in ("__Host-sessionid", "__Host-csrftoken"):
        cookie = jar[name]
        # What browsers require of the prefix: Secure, Path=/, no Domain.
        assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"], name
        assert cookie["samesite"] == "Lax"
    assert jar["__Host-sessionid"]["httponly"]


def test_headers_on_every_page(production_server):
    response = fetch(production_server, "/")
    policy = observatory.parse_csp(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == {"'none'"}
    assert policy["frame-ancestors"] == policy["object-src"] == policy["base-uri"] == {"'none'"}
    assert not any("unsafe" in s for sources in policy.values() for s in sources)
    assert policy["report-uri"] == {"/csp-report/"}
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "geolocation=()" in response.headers["Permissions-Policy"]
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "csp-not-implemented"),
        ({"Content-Security-Policy": "script-src 'self' 'unsafe-inline'"}, "unsafe-inline"),
        ({"Content-Security-Policy": "default-src 'self'"}, "no-unsafe"),
        ({"Content-Security-Policy": "default-src 'none'; img-src http:"}, "passive-content-only"),
    ],
)
def test_the_mirrored_scoring_marks_down_weak_policies(headers, expected):
    """The scorer is not a rubber stamp: the policies the shop does not send lose points."""
    scan = observatory.Scan(
        url="https://shop.example.com/",
        headers=[("Content-Type", "text/html"), *headers.items()],
        html="<p>no scripts</p>",
        set_cookies=["sessionid=1; Path=/"],
        http_route=["http://shop.example.com/"],
    )
    points, grade, results = observatory.score(scan)
    assert results["content-security-policy"].endswith(expected)
    assert results["cookies"] == "cookies-session-without-secure-flag"
    assert results["redirection"] == "redirection-missing"
    assert points < 50 and grade != "A+"
