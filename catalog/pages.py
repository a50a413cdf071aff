"""Pages through their shells (webapp/pages.py), cached per catalogue generation: every
page's header shows the catalogue's categories."""

import hashlib

from catalog import selectors
from webapp.pages import render_page


def render(request, template_name: str, context: dict, *, shows: tuple = (), status=200):
    """As django.shortcuts.render, through the page's shell; `shows` names everything else
    than the generation that the shell depends on."""
    shown = hashlib.md5(repr((template_name, *shows)).encode(), usedforsecurity=False)
    return render_page(
        request,
        template_name,
        context,
        cache=selectors.generation_cache,
        key=f"catalog:{selectors.catalog_version(request)}:page:{shown.hexdigest()}",
        timeout=selectors.CATALOG_TTL,
        status=status,
    )
