from catalog.selectors import category_list


def categories(request):
    """The category navigation in every page's header."""
    return {"nav_categories": category_list}
