"""Pages rendered in two passes, so that what every visitor sees alike is rendered once.

In a template, `{% per_visitor %}…{% endper_visitor %}` (webapp/templatetags/per_visitor.py)
marks what differs between visitors: their name and cart count, messages, forms with
their CSRF token, what they viewed. `render_page` renders the rest once, its *shell*,
caches it in each process's memory under a key that names everything the shell shows,
and for each request renders only the marked parts into it. The key always names the
visitor's `audience` (signed in or not, staff or not), so the shell may show what depends
on that alone, such as the account menu's links; anything else about the visitor, even
their name, belongs in a marked part.

The shell is a list of strings and marked parts, never template source, so nothing a
shopper or an admin typed can become template code. A marked part sees the page's
context (the view's and the context processors'), not variables that `with` or `for`
set around it; outside `render_page` (every other page) it renders in place. It must not
sit in an `{% include ... only %}`: that hides the first pass from it, and it would be
rendered into the shell.
"""

import re
import secrets

from django.http import HttpResponse
from django.template import Node, NodeList
from django.template.context import make_context
from django.template.loader import get_template

# The first pass stands each marked part in with this, followed by its index and "-->":
# random per process, so no text on a page can pass for one.
_MARK = f"<!--per-visitor-{secrets.token_hex(8)}-"
_MARKS = re.compile(re.escape(_MARK) + r"(\d+)-->")
_PARTS = "per_visitor_parts"  # the context variable that collects them in the first pass


class PerVisitorNode(Node):
    def __init__(self, nodelist: NodeList):
        self.nodelist = nodelist

    def render(self, context) -> str:
        parts = context.get(_PARTS)
        if parts is None:  # rendered in one pass
            return self.nodelist.render(context)
        parts.append(self)
        return f"{_MARK}{len(parts) - 1}-->"


def audience(user) -> str:
    """What a shell may show of its visitor."""
    if not user.is_authenticated:
        return "visitor"
    return "staff" if user.is_staff else "shopper"


def render_page(
    request, template_name: str, context: dict, *, cache, key: str, timeout: int, status=200
):
    """The page, its shell from `cache` under `key` and the visitor's audience (filled on a
    miss, kept `timeout` seconds); only the marked parts are rendered for this request."""
    template = get_template(template_name)
    key = f"{key}:{audience(request.user)}"
    shell = cache.get(key)
    if shell is None:
        parts: list[PerVisitorNode] = []
        html = template.render({**context, _PARTS: parts}, request)
        pieces = _MARKS.split(html)  # text, index, text, index, ..., text
        shell = [piece if i % 2 == 0 else parts[int(piece)] for i, piece in enumerate(pieces)]
        cache.set(key, shell, timeout)
    page_context = make_context(context, request)
    with page_context.bind_template(template.template):
        html = "".join(
            piece if isinstance(piece, str) else piece.render(page_context) for piece in shell
        )
    return HttpResponse(html, status=status)
