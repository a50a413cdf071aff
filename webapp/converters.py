class IdConverter:
    """A database id in a URL: digits that fit a bigint, so a huge number is a 404, not an
    error from the database."""

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)
