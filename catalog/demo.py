"""A believable demo catalogue, generated deterministically (same names every run)."""

import io
import random
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify
from PIL import Image, ImageColor, ImageDraw, ImageFont

from catalog.models import Category, Product

# name, colour, (min, max) price, nouns, descriptors
CATEGORIES = [
    (
        "Kitchen",
        "#c0573e",
        (6, 120),
        [
            "Chef's Knife",
            "Cast-Iron Skillet",
            "Cutting Board",
            "Saucepan",
            "Salad Bowl",
            "Pepper Mill",
            "Teapot",
            "Mixing Bowl",
            "Colander",
            "Whisk",
        ],
        ["Walnut", "Enamel", "Copper", "Stoneware", "Olive Wood"],
    ),
    (
        "Garden",
        "#4f8a3c",
        (4, 90),
        [
            "Trowel",
            "Pruning Shears",
            "Watering Can",
            "Planter",
            "Seed Tray",
            "Garden Gloves",
            "Hose Reel",
            "Bird Feeder",
            "Kneeler",
            "Rake",
        ],
        ["Galvanised", "Terracotta", "Ash-Handled", "Recycled", "Heritage"],
    ),
    (
        "Books",
        "#3d5a8a",
        (8, 45),
        [
            "Field Guide",
            "Cookbook",
            "Atlas",
            "Sketchbook",
            "Notebook",
            "Poetry Collection",
            "Travel Journal",
            "Almanac",
            "Recipe Cards",
            "Star Chart",
        ],
        ["Illustrated", "Pocket", "Hardback", "Linen-Bound", "Annotated"],
    ),
    (
        "Outdoor",
        "#2f6f73",
        (10, 250),
        [
            "Daypack",
            "Thermos",
            "Camp Stove",
            "Headlamp",
            "Hammock",
            "Trekking Poles",
            "Tent Footprint",
            "Water Filter",
            "Picnic Blanket",
            "Compass",
        ],
        ["Ultralight", "Waxed Canvas", "Trail", "Alpine", "Weatherproof"],
    ),
    (
        "Home",
        "#8a6d3b",
        (9, 180),
        [
            "Throw Blanket",
            "Table Lamp",
            "Wall Clock",
            "Vase",
            "Cushion",
            "Candle",
            "Mirror",
            "Doormat",
            "Storage Basket",
            "Bookends",
        ],
        ["Linen", "Brass", "Seagrass", "Ceramic", "Oak"],
    ),
    (
        "Stationery",
        "#6b4f8a",
        (2, 60),
        [
            "Fountain Pen",
            "Pencil Set",
            "Desk Tray",
            "Letter Opener",
            "Ink Bottle",
            "Washi Tape",
            "Weekly Planner",
            "Envelope Pack",
            "Stamp Set",
            "Bookmark",
        ],
        ["Recycled", "Cotton Paper", "Brass", "Dot-Grid", "Letterpress"],
    ),
    (
        "Tea & Coffee",
        "#5e3a24",
        (5, 140),
        [
            "Breakfast Tea",
            "Green Tea",
            "Espresso Beans",
            "Pour-Over Kettle",
            "French Press",
            "Milk Frother",
            "Tea Caddy",
            "Coffee Grinder",
            "Infuser",
            "Mug",
        ],
        ["Single-Origin", "Smoky", "Organic", "Hand-Thrown", "Small-Batch"],
    ),
    (
        "Toys & Games",
        "#c08a1e",
        (6, 80),
        [
            "Jigsaw Puzzle",
            "Wooden Blocks",
            "Card Game",
            "Kite",
            "Spinning Top",
            "Marble Run",
            "Chess Set",
            "Yo-Yo",
            "Dominoes",
            "Board Game",
        ],
        ["Classic", "Family", "Travel-Size", "Beechwood", "Pocket"],
    ),
    (
        "Bath & Body",
        "#8a3d6b",
        (4, 55),
        [
            "Soap Bar",
            "Bath Salts",
            "Hand Cream",
            "Loofah",
            "Towel",
            "Lip Balm",
            "Body Brush",
            "Shampoo Bar",
            "Face Cloth",
            "Bath Oil",
        ],
        ["Lavender", "Oatmeal", "Sea Kelp", "Unscented", "Rosemary"],
    ),
    (
        "Tools",
        "#4a4f55",
        (7, 160),
        [
            "Claw Hammer",
            "Screwdriver Set",
            "Tape Measure",
            "Spirit Level",
            "Hand Saw",
            "Utility Knife",
            "Pliers",
            "Work Apron",
            "Chisel Set",
            "Toolbox",
        ],
        ["Forged", "Steel", "Compact", "Pro", "Leather"],
    ),
]
DESCRIPTIONS = [
    "Our {thing} is made to last and easy to care for.\n\nA customer favourite in {category}.",
    "Every {thing} is checked by hand before it leaves us.\n\nSmall-batch, built for daily use.",
    "The {thing} we reach for ourselves: simple, sturdy and good-looking.\n\n"
    "Backed by our two-year guarantee.",
    "A {thing} that earns its place.\n\nThoughtfully designed, fairly made, and ready to "
    "become a favourite.",
]
PRODUCTS_PER_CATEGORY = 20
IMAGE_SIZE = 480


@dataclass(frozen=True)
class DemoProduct:
    category: str
    colour: str
    name: str
    price: Decimal
    stock: int
    description: str


def demo_products() -> list[DemoProduct]:
    rng = random.Random(20261123)  # noqa: S311  (fixed seed: the same catalogue everywhere)
    products = []
    for category, colour, (low, high), nouns, descriptors in CATEGORIES:
        combos = [(d, n) for d in descriptors for n in nouns]
        rng.shuffle(combos)
        for descriptor, noun in combos[:PRODUCTS_PER_CATEGORY]:
            price = Decimal(rng.randint(low * 100, high * 100)) / 100
            price = price.quantize(Decimal("1")) - Decimal("0.01") if price > 10 else price
            stock = 0 if rng.random() < 0.05 else rng.randint(1, 60)
            products.append(
                DemoProduct(
                    category=category,
                    colour=colour,
                    name=f"{descriptor} {noun}",
                    price=price,
                    stock=stock,
                    description=rng.choice(DESCRIPTIONS).format(
                        thing=f"{descriptor.lower()} {noun.lower()}", category=category.lower()
                    ),
                )
            )
    return products


def product_image(product: DemoProduct) -> ContentFile:
    """A simple poster: the category colour, a lighter disc and the product's initials."""
    base = ImageColor.getrgb(product.colour)
    lighter = tuple(round(c + (255 - c) * 0.35) for c in base)
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), base)
    draw = ImageDraw.Draw(image)
    # Place the disc by the name so that neighbouring products do not look identical.
    offset = sum(map(ord, product.name)) % (IMAGE_SIZE // 4) - IMAGE_SIZE // 8
    inset = IMAGE_SIZE // 6
    draw.ellipse(
        (inset + offset, inset - offset, IMAGE_SIZE - inset + offset, IMAGE_SIZE - inset - offset),
        fill=lighter,
    )
    initials = "".join(word[0] for word in product.name.split()[:2]).upper()
    font = ImageFont.load_default(size=IMAGE_SIZE // 4)
    draw.text((IMAGE_SIZE / 2, IMAGE_SIZE / 2), initials, fill="white", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return ContentFile(buffer.getvalue())


def seed_demo_catalogue() -> tuple[int, int]:
    """Create what is missing of the demo catalogue; returns (created, already present)."""
    categories = {}
    for name, *_rest in CATEGORIES:
        categories[name], _ = Category.objects.get_or_create(
            slug=slugify(name), defaults={"name": name}
        )
    created = existing = 0
    for demo in demo_products():
        with transaction.atomic():
            product, was_created = Product.objects.get_or_create(
                slug=slugify(demo.name),
                defaults={
                    "category": categories[demo.category],
                    "name": demo.name,
                    "price": demo.price,
                    "stock": demo.stock,
                    "description": demo.description,
                },
            )
            if not product.image:
                product.image.save(f"{product.slug}.jpg", product_image(demo))
        created += was_created
        existing += not was_created
    return created, existing
