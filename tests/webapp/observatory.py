"""The MDN HTTP Observatory's scoring, mirrored for the headers and cookies the shop controls.

Source mirrored: @mdn/mdn-http-observatory 1.4.8 (npm), src/analyzer/tests/*.js, the score
table in src/grader/charts.js and the curve in src/scanner/index.js: start at 100, add every
test's modifier; bonuses count only if the score without them (the "uncurved" score, which
keeps only penalties) is at least 90; 100 or more is A+.

Mirrored tests: content-security-policy (one header policy; the parser's duplicate and empty
-src rules), cookies, cross-origin-resource-sharing, cross-origin-resource-policy,
redirection, referrer-policy, strict-transport-security, subresource-integrity,
x-content-type-options, x-frame-options. Not mirrored: <meta http-equiv> policies (the shop
sends none), the union of several CSP headers, certificate checks (TLS ends at the load
balancer: the scan is given the HTTPS leg as verified), and the HSTS preload list (the
shop's domain is not on it: that +5 is never counted).
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

SCORES = {
    "csp-implemented-with-no-unsafe-default-src-none": 10,
    "csp-implemented-with-no-unsafe": 5,
    "csp-implemented-with-unsafe-inline-in-style-src-only": 0,
    "csp-implemented-with-insecure-scheme-in-passive-content-only": -10,
    "csp-implemented-with-unsafe-eval": -10,
    "csp-implemented-with-unsafe-inline": -20,
    "csp-implemented-with-insecure-scheme": -20,
    "csp-header-invalid": -25,
    "csp-not-implemented": -25,
    "csp-not-implemented-but-reporting-enabled": -25,
    "cookies-secure-with-httponly-sessions-and-samesite": 5,
    "cookies-secure-with-httponly-sessions": 0,
    "cookies-not-found": 0,
    "cookies-without-secure-flag-but-protected-by-hsts": -5,
    "cookies-session-without-secure-flag-but-protected-by-hsts": -10,
    "cookies-without-secure-flag": -20,
    "cookies-samesite-flag-invalid": -20,
    "cookies-anticsrf-without-samesite-flag": -20,
    "cookies-session-without-httponly-flag": -30,
    "cookies-session-without-secure-flag": -40,
    "cross-origin-resource-sharing-not-implemented": 0,
    "cross-origin-resource-sharing-implemented-with-public-access": 0,
    "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
    "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    "cross-origin-resource-policy-implemented-with-same-origin": 10,
    "cross-origin-resource-policy-implemented-with-same-site": 10,
    "cross-origin-resource-policy-implemented-with-cross-origin": 0,
    "cross-origin-resource-policy-not-implemented": 0,
    "cross-origin-resource-policy-header-invalid": -5,
    "redirection-to-https": 0,
    "redirection-not-needed-no-http": 0,
    "redirection-off-host-from-http": -5,
    "redirection-not-to-https-on-initial-redirection": -10,
    "redirection-not-to-https": -20,
    "redirection-missing": -20,
    "referrer-policy-private": 5,
    "referrer-policy-no-referrer-when-downgrade": 0,
    "referrer-policy-not-implemented": 0,
    "referrer-policy-unsafe": -5,
    "referrer-policy-header-invalid": -5,
    "hsts-implemented-max-age-at-least-six-months": 0,
    "hsts-implemented-max-age-less-than-six-months": -10,
    "hsts-not-implemented": -20,
    "hsts-header-invalid": -20,
    "sri-implemented-and-all-scripts-loaded-securely": 5,
    "sri-implemented-and-external-scripts-loaded-securely": 5,
    "sri-not-implemented-but-no-scripts-loaded": 0,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
    "sri-not-implemented-but-external-scripts-loaded-securely": -5,
    "sri-implemented-but-external-scripts-not-loaded-securely": -20,
    "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    "x-content-type-options-nosniff": 0,
    "x-content-type-options-not-implemented": -5,
    "x-content-type-options-header-invalid": -5,
    "x-frame-options-implemented-via-csp": 5,
    "x-frame-options-sameorigin-or-deny": 0,
    "x-frame-options-allow-from-origin": 0,
    "x-frame-options-not-implemented": -20,
    "x-frame-options-header-invalid": -20,
}
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
SIX_MONTHS = 15_768_000
DANGEROUSLY_BROAD = {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*"}
DANGEROUSLY_BROAD |= {"https://*.*"}
UNSAFE_INLINE = {"'unsafe-inline'", "data:"}
PASSIVE_DIRECTIVES = ("img-src", "media-src")


@dataclass
class Scan:
    """What the Observatory fetches: the page over HTTPS (`headers`, `html`), the cookies
    every response set (raw Set-Cookie lines), the redirect route from http://host/, and
    the answer to a request carrying an Origin header (CORS)."""

    url: str
    headers: list[tuple[str, str]]
    html: str
    set_cookies: list[str]
    http_route: list[str]  # URLs from the http:// one to the final one
    cors_headers: list[tuple[str, str]] = field(default_factory=list)
    cors_origin: str = "https://http-observatory.security.mozilla.org"

    def all(self, name: str, headers=None) -> list[str]:
        return [v for k, v in (self.headers if headers is None else headers) if k.lower() == name]

    def first(self, name: str, headers=None) -> str | None:
        values = self.all(name, headers)
        return values[0] if values else None


def parse_csp(policy: str) -> dict[str, set[str]]:
    policy = policy.replace("\r", "").replace("\n", "").strip()
    if len(policy) < len("img-src") - 1:
        raise ValueError("invalid policy")
    csp: dict[str, set[str]] = {}
    for entry in policy.split(";"):
        directive, *sources = entry.strip().split() or [""]
        if not directive:
            continue
        directive = directive.lower()
        if directive in csp and directive not in ("report-uri", "report-to"):
            raise ValueError(f"duplicate directive {directive}")
        values = {s.strip().lower() for s in sources}
        if not values and directive.endswith("-src"):
            values = {"'none'"}
        csp[directive] = values or {"'none'"}
    return csp


def csp_test(scan: Scan) -> tuple[str, dict | None]:
    headers = scan.all("content-security-policy")
    if not headers:
        if scan.first("content-security-policy-report-only"):
            return "csp-not-implemented-but-reporting-enabled", None
        return "csp-not-implemented", None
    try:
        csp = parse_csp(headers[0]) if len(headers) == 1 else None
    except ValueError:
        return "csp-header-invalid", None
    if csp is None:
        raise NotImplementedError("several CSP headers: the union is not mirrored")
    script_src = set(csp.get("script-src") or csp.get("default-src") or {"*"})
    style_src = set(csp.get("style-src") or csp.get("default-src") or {"*"})
    object_src = csp.get("object-src") or csp.get("default-src") or {"*"}
    nonce_or_hash = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")
    for sources in (script_src, style_src):
        if any(s.startswith(nonce_or_hash) for s in sources):
            sources.discard("'unsafe-inline'")
    if "'strict-dynamic'" in script_src:
        if not any(s.startswith(nonce_or_hash) for s in script_src):
            return "csp-header-invalid", csp
        script_src = {
            s
            for s in script_src
            if not (s in ("'self'", "'unsafe-inline'") or s.startswith(tuple(DANGEROUSLY_BROAD)))
        }
    active = [
        s
        for d, sources in csp.items()
        if d not in (*PASSIVE_DIRECTIVES, "script-src")
        for s in sources
    ] + list(script_src)
    passive = [
        s for d in PASSIVE_DIRECTIVES for s in (csp.get(d) or csp.get("default-src") or set())
    ]
    https = scan.url.startswith("https:")
    if script_src & (DANGEROUSLY_BROAD | UNSAFE_INLINE) or object_src & DANGEROUSLY_BROAD:
        return "csp-implemented-with-unsafe-inline", csp
    if https and any(s.startswith(("http:", "ftp:")) for s in active):
        return "csp-implemented-with-insecure-scheme", csp
    if "'unsafe-eval'" in script_src | style_src:
        return "csp-implemented-with-unsafe-eval", csp
    if https and any(s.startswith(("http:", "ftp:")) for s in passive):
        return "csp-implemented-with-insecure-scheme-in-passive-content-only", csp
    if style_src & (DANGEROUSLY_BROAD | UNSAFE_INLINE):
        return "csp-implemented-with-unsafe-inline-in-style-src-only", csp
    if csp.get("default-src") == {"'none'"}:
        return "csp-implemented-with-no-unsafe-default-src-none", csp
    return "csp-implemented-with-no-unsafe", csp


def hsts_test(scan: Scan) -> str:
    headers = scan.all("strict-transport-security")
    if not headers:
        return "hsts-not-implemented"
    header = headers[0][:1024]
    if "," in header:
        return "hsts-header-invalid"
    max_age = None
    for parameter in (p.strip().lower() for p in header.split(";")):
        if parameter.startswith("max-age="):
            try:
                max_age = int(parameter[8:128])
            except ValueError:
                return "hsts-header-invalid"
    if max_age is None:
        return "hsts-header-invalid"
    if max_age < SIX_MONTHS:
        return "hsts-implemented-max-age-less-than-six-months"
    return "hsts-implemented-max-age-at-least-six-months"


COOKIE_ORDER = [  # onlyIfWorse: a later one replaces an earlier one
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
]


def cookies_test(scan: Scan) -> str:
    hsts = hsts_test(scan) == "hsts-implemented-max-age-at-least-six-months"
    result = None

    def worse(candidate):
        nonlocal result
        if result is None or COOKIE_ORDER.index(candidate) > COOKIE_ORDER.index(result):
            result = candidate

    cookies = {}
    for raw in scan.set_cookies:
        for part in raw.split(";"):
            key, _, value = part.strip().partition("=")
            if key.strip().lower() == "samesite" and value.strip().lower() not in (
                "lax",
                "strict",
                "none",
            ):
                worse("cookies-samesite-flag-invalid")
        jar = SimpleCookie()
        jar.load(raw)
        cookies.update(jar)  # later Set-Cookie lines for a name replace earlier ones
    if not cookies:
        return "cookies-not-found"
    missing_samesite = False
    for name, cookie in cookies.items():
        session = "login" in name.lower() or "sess" in name.lower()
        anticsrf = "csrf" in name.lower()
        secure, httponly = bool(cookie["secure"]), bool(cookie["httponly"])
        samesite = cookie["samesite"]
        if not secure and samesite.lower() == "none":
            worse("cookies-samesite-flag-invalid")
        if not secure:
            worse(
                "cookies-without-secure-flag-but-protected-by-hsts"
                if hsts
                else "cookies-without-secure-flag"
            )
        if anticsrf and not samesite:
            worse("cookies-anticsrf-without-samesite-flag")
        if session and not secure:
            worse(
                "cookies-session-without-secure-flag-but-protected-by-hsts"
                if hsts
                else "cookies-session-without-secure-flag"
            )
        if session and not httponly:
            worse("cookies-session-without-httponly-flag")
        missing_samesite = missing_samesite or not samesite
    if result:
        return result
    if missing_samesite:
        return "cookies-secure-with-httponly-sessions"
    return "cookies-secure-with-httponly-sessions-and-samesite"


def cors_test(scan: Scan) -> str:
    acao = scan.first("access-control-allow-origin", scan.cors_headers)
    if not acao:
        return "cross-origin-resource-sharing-not-implemented"
    acao = acao[:256].strip().lower()
    credentials = scan.first("access-control-allow-credentials", scan.cors_headers) or ""
    if acao == "*":
        return "cross-origin-resource-sharing-implemented-with-public-access"
    if acao == scan.cors_origin and credentials.strip().lower() == "true":
        return "cross-origin-resource-sharing-implemented-with-universal-access"
    return "cross-origin-resource-sharing-implemented-with-restricted-access"


def corp_test(scan: Scan) -> str:
    header = scan.first("cross-origin-resource-policy")
    if not header:
        return "cross-origin-resource-policy-not-implemented"
    value = header[:256].strip().lower()
    known = {"same-site", "same-origin", "cross-origin"}
    if value in known:
        return f"cross-origin-resource-policy-implemented-with-{value}"
    return "cross-origin-resource-policy-header-invalid"


def redirection_test(scan: Scan) -> str:
    route = [urlsplit(u) for u in scan.http_route]
    if not route:
        return "redirection-not-needed-no-http"
    if len(route) == 1:
        return "redirection-missing"
    if route[-1].scheme != "https":
        return "redirection-not-to-https"
    if route[1].scheme == "http":
        return "redirection-not-to-https-on-initial-redirection"
    if route[0].hostname != route[1].hostname:
        return "redirection-off-host-from-http"
    return "redirection-to-https"


def referrer_test(scan: Scan) -> str:
    values = scan.all("referrer-policy")
    if not values:
        return "referrer-policy-not-implemented"
    good = ["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"]
    bad = ["origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"]
    policies = [p.strip().lower() for p in ", ".join(values).split(",")]
    valid = [p for p in policies if p in good + bad]
    policy = valid[-1] if valid else ""
    if policy in good:
        return "referrer-policy-private"
    if policy in bad:
        return "referrer-policy-unsafe"
    return "referrer-policy-header-invalid"


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))


def _registered_domain(host: str) -> str:
    # The Observatory compares registrable domains (tldts); two labels is that for the
    # hosts a test uses (example.com, 127.0.0.1 is compared whole).
    parts = host.split(".")
    return host if host.replace(".", "").isdigit() else ".".join(parts[-2:])


def sri_test(scan: Scan) -> str:
    mime = (scan.first("content-type") or "").split(";")[0].strip()
    if mime not in ("text/html", "application/xhtml+xml"):
        return "sri-not-implemented-response-not-html"
    parser = _Scripts()
    parser.feed(scan.html)
    if not parser.scripts:
        return "sri-not-implemented-but-no-scripts-loaded"
    order = [
        "sri-implemented-and-all-scripts-loaded-securely",
        "sri-implemented-and-external-scripts-loaded-securely",
        "sri-implemented-but-external-scripts-not-loaded-securely",
        "sri-not-implemented-but-external-scripts-loaded-securely",
        "sri-not-implemented-and-external-scripts-not-loaded-securely",
        "sri-not-implemented-response-not-html",
    ]
    result = None
    foreign = False
    host = urlsplit(scan.url).hostname or ""
    for script in parser.scripts:
        src = script.get("src")
        if not src:
            continue
        integrity = script.get("integrity")
        relative_protocol = src.startswith("//") and not src.startswith("///")
        full = src.startswith(("http://", "https://"))
        relative_origin = not relative_protocol and not full
        same_domain = (
            relative_protocol
            or relative_origin
            or (_registered_domain(urlsplit(src).hostname or "") == _registered_domain(host))
        )
        secure_origin = relative_origin or (same_domain and not relative_protocol)
        scheme = None if relative_protocol or relative_origin else urlsplit(src).scheme
        secure_scheme = scheme == "https" or (relative_origin and scan.url.startswith("https:"))
        if not secure_origin:
            foreign = True
            if integrity and not secure_scheme:
                candidate = "sri-implemented-but-external-scripts-not-loaded-securely"
            elif not integrity and secure_scheme:
                candidate = "sri-not-implemented-but-external-scripts-loaded-securely"
            elif not integrity:
                candidate = "sri-not-implemented-and-external-scripts-not-loaded-securely"
            else:
                continue
            if result is None or order.index(candidate) > order.index(result):
                result = candidate
        elif integrity and secure_scheme and result is None:
            result = "sri-implemented-and-all-scripts-loaded-securely"
    if result:
        return result
    if foreign:
        return "sri-implemented-and-external-scripts-loaded-securely"
    return "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"


def xcto_test(scan: Scan) -> str:
    header = scan.first("x-content-type-options")
    if not header:
        return "x-content-type-options-not-implemented"
    if header[:256].strip().lower() == "nosniff":
        return "x-content-type-options-nosniff"
    return "x-content-type-options-header-invalid"


def xfo_test(scan: Scan, csp: dict | None) -> str:
    header = scan.first("x-frame-options")
    if header:
        value = header[:1024].strip().lower()
        if value in ("deny", "sameorigin"):
            result = "x-frame-options-sameorigin-or-deny"
        elif value.startswith("allow-from"):
            result = "x-frame-options-allow-from-origin"
        else:
            result = "x-frame-options-header-invalid"
    else:
        result = "x-frame-options-not-implemented"
    if csp and "frame-ancestors" in csp:
        result = "x-frame-options-implemented-via-csp"
    return result


def score(scan: Scan) -> tuple[int, str, dict[str, str]]:
    """(score, grade, {test: result}) as the Observatory grades the scan."""
    csp_result, csp = csp_test(scan)
    results = {
        "content-security-policy": csp_result,
        "cookies": cookies_test(scan),
        "cross-origin-resource-sharing": cors_test(scan),
        "cross-origin-resource-policy": corp_test(scan),
        "redirection": redirection_test(scan),
        "referrer-policy": referrer_test(scan),
        "strict-transport-security": hsts_test(scan),
        "subresource-integrity": sri_test(scan),
        "x-content-type-options": xcto_test(scan),
        "x-frame-options": xfo_test(scan, csp),
    }
    modifiers = [SCORES[result] for result in results.values()]
    uncurved = 100 + sum(m for m in modifiers if m < 0)
    total = 100 + sum(modifiers) if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved
    return total, grade(total), results


def grade(points: int) -> str:
    chart = {100: "A+", 95: "A", 90: "A", 85: "A-", 80: "B+", 75: "B", 70: "B", 65: "B-"}
    chart |= {60: "C+", 55: "C", 50: "C", 45: "C-", 40: "D+", 35: "D", 30: "D", 25: "D-"}
    points = max(points, 0)
    return chart.get(min(points - points % 5, 100), "F")
