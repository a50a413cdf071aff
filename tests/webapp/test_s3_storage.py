"""Static files and media on S3 through django-storages, against a local S3 server over HTTP."""

import re

import pytest
import requests

from catalog.demo import DemoProduct, product_image
from catalog.models import Product
from deploy.servers.client import ShopClient
from tests.accounts.helpers import admin_login_form
from tests.factories import make_product
from tests.servers import server_user, start_app_server


def test_release_publishes_hashed_files_with_long_cache_headers(s3_environment):
    environment, s3 = s3_environment
    bucket = environment["AWS_STORAGE_BUCKET_NAME"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="static/")["Contents"]]
    assert "static/staticfiles.json" in keys
    hashed_css = [k for k in keys if re.fullmatch(r"static/css/shop\.[0-9a-f]{12}\.css", k)]
    assert hashed_css
    head = s3.head_object(Bucket=bucket, Key=hashed_css[0])
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert head["ContentType"] == "text/css"
    assert not [k for k in keys if k.endswith(".gz")]


@pytest.mark.servers
@pytest.mark.django_db(transaction=True)
def test_pages_load_assets_and_uploaded_images_from_s3(s3_environment):
    environment, _s3 = s3_environment
    make_product(name="Brass Lamp", slug="brass-lamp")
    server = start_app_server(instance_id="s3", mail=False, **environment)
    try:
        admin = ShopClient(server.url)
        staff = server_user(
            "admin@example.com", "a-long-admin-password", is_staff=True, is_superuser=True
        )
        login = admin_login_form(staff, "a-long-admin-password")
        assert admin.post(f"{server.url}/admin/login/", login).status_code == 302
        product = Product.objects.get(slug="brass-lamp")
        image = product_image(DemoProduct("Home", "#996633", "Brass Lamp", product.price, 1, ""))
        saved = admin.post(
            f"{server.url}/admin/catalog/product/{product.pk}/change/",
            {
                "category": product.category_id,
                "name": product.name,
                "slug": product.slug,
                "price": str(product.price),
                "stock": "3",
                "is_active": "on",
            },
            files={"image": ("brass-lamp.jpg", image.read(), "image/jpeg")},
        )
        assert saved.headers["Location"] == "/admin/catalog/product/"  # saved, not sent to login

        page = requests.get(f"{server.url}/products/brass-lamp/", timeout=10).text
        css = re.search(r'href="([^"]+/static/css/shop\.[0-9a-f]{12}\.css)"', page).group(1)
        img = re.search(r'src="([^"]+/media/products/brass-lamp[^"]*\.jpg)"', page).group(1)
        assert css.startswith(environment["AWS_S3_ENDPOINT_URL"])
        assert requests.get(css, timeout=10).headers["Content-Type"] == "text/css"
        fetched = requests.get(img, timeout=10)
        assert fetched.status_code == 200
        assert fetched.content[:3] == b"\xff\xd8\xff"  # a JPEG
    finally:
        server.stop()
