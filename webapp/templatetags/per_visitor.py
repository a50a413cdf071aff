from django import template

from webapp.pages import PerVisitorNode

register = template.Library()


@register.tag
def per_visitor(parser, token):
    """What differs between visitors: rendered for each request (webapp/pages.py)."""
    nodelist = parser.parse(("endper_visitor",))
    parser.delete_first_token()
    return PerVisitorNode(nodelist)
