"""Steps more than one browser journey takes."""


def fill_checkout_address(page, *, name: str, line1: str, city: str, postcode: str) -> None:
    """Type an address into the checkout's address form (a UK one) and go on to review."""
    page.get_by_label("Full name").fill(name)
    page.locator("#id_line1").fill(line1)
    page.get_by_label("City").fill(city)
    page.get_by_label("Postcode").fill(postcode)
    page.get_by_label("Country").fill("United Kingdom")
    page.get_by_role("button", name="Continue to review").click()
