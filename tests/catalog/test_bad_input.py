import pytest

from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def thirty_products():
    category = make_category()
    return [make_product(category=category) for _ in range(30)]


@pytest.mark.parametrize(
    ("page", "expected_number"),
    [("abc", 1), ("0", 2), ("-1", 2), ("999999", 2), ("1.5", 1), ("", 1), ("%00", 1)],
)
def test_bad_page_numbers_give_a_valid_page(client, thirty_products, page, expected_number):
    response = client.get("/", {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number == expected_number


@pytest.mark.parametrize(
    "query",
    [
        "ünïcödé ☕ 日本語",
        "' OR 1=1; DROP TABLE catalog_product; --",
        "%_\\",
        "<script>alert('x')</script>",
        "x" * 10_000,
        "\x00",
    ],
)
def test_any_search_text_gives_a_normal_page(client, thirty_products, query):
    response = client.get("/", {"q": query})
    assert response.status_code == 200
    assert b"<script>alert" not in response.content
    assert len(response.context["query"]) <= 100


def test_search_text_is_escaped_in_the_page(client):
    response = client.get("/", {"q": '<b onmouseover="x">'})
    assert b"&lt;b onmouseover=&quot;x&quot;&gt;" in response.content
    assert b'<b onmouseover="x">' not in response.content


def test_sql_metacharacters_match_literally(client):
    make_product(name="100% Cotton Tote")
    make_product(name="1000 Piece Puzzle")
    response = client.get("/", {"q": "100%"})
    assert [p.name for p in response.context["page"].object_list] == ["100% Cotton Tote"]


@pytest.mark.parametrize("path", ["/products/", "/products/a/b/", "/category/", "/nothing"])
def test_malformed_paths_are_404(client, path):
    assert client.get(path).status_code == 404
