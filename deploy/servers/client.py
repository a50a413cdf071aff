"""The shop's HTTP client side: a browser-like session that keeps cookies and posts forms
with the CSRF token, for the tests, the fault tests' shoppers and `make bench`."""

from urllib.parse import urljoin

import requests

CSRF_COOKIE = "csrftoken"
CSRF_FIELD = "csrfmiddlewaretoken"
FORM_PAGE = "/accounts/login/"  # any page with a form sets the CSRF cookie


class ShopClient:
    """A browser against the shop at `base_url`: paths are relative to it, absolute URLs
    (another instance of the same shop) work too, and cookies are shared between them as a
    browser shares them between the ports of one host. Redirects are not followed."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def twin(self) -> "ShopClient":
        """Another connection of the same browser (same cookies): a second tab."""
        twin = ShopClient(self.base_url, self.timeout)
        twin.http.cookies.update(self.http.cookies)
        return twin

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        return self.http.request(method, urljoin(self.base_url + "/", path), **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        """POST a form as the shop's pages do, with the CSRF token (fetched first from the
        same server if this browser has none yet)."""
        if CSRF_COOKIE not in self.http.cookies:
            self.get(urljoin(urljoin(self.base_url + "/", path), FORM_PAGE))
        return self.request("POST", path, data={**self.csrf(), **data}, **kwargs)

    def csrf(self) -> dict[str, str]:
        # Django accepts the cookie's (unmasked) secret as the form token.
        return {CSRF_FIELD: self.http.cookies.get(CSRF_COOKIE, "")}

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in sorted(self.http.cookies.items()))
