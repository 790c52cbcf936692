"""The generated catalogue's grocery category: its product types, attributes, uses,
title words, options, prices and brands (every word this project's own)."""

from __future__ import annotations

from .build import category
from .options import (
    BAR_COUNTS,
    BAR_FLAVORS,
    CAN_PACKS,
    CHIP_FLAVORS,
    CHOCOLATE_FLAVORS,
    COFFEE_FLAVORS,
    COFFEE_SIZES,
    FOOD_JAR_SIZES,
    JERKY_FLAVORS,
    JERKY_SIZES,
    NUT_BUTTER_FLAVORS,
    OIL_SIZES,
    PASTA_PACKS,
    PASTA_SHAPES,
    SNACK_PACKS,
    TEA_COUNTS,
    TEA_FLAVORS,
    TRAIL_FLAVORS,
    WATER_FLAVORS,
)


GROCERY = category(
    "grocery",
    brands=(
        "Harvest Lane, Copperkettle, Millbrook Pantry, Sunhollow, Greenreach, Bramblewood, Tidewater Farms, "
        "Goldfield Grocers, Pinecrest Provisions, Wildacre, Saltmarsh, Ridgeview Roasters, Kettle & Crumb, "
        "Maple Hollow, Sproutly, Amberhill, Northfork, Cedarvale, Honeydale, Brightfield"
    ),
    shared="gluten free, non gmo, kosher, usda organic",
    bullets=(
        "{ATTR} - Our {variant} {noun} {be} {attr} and packed fresh",
        "{ATTR} - Real {Variant} taste, {attr} and packed with care",
    ),
    extras=(
        "STORAGE - Keep in a cool, dry place and close tightly after opening",
        "TASTE GUARANTEE - Let us know if it is not your new favourite",
    ),
    middles=(
        "Enjoy it on its own or as part of your favourite recipes.",
        "It is packed to order so every delivery tastes like the first.",
        "The {variant} notes come through clearly.",
    ),
    weight=(2.0, 80.0, "Ounces"),
    types=(
        dict(
            title="Coffee Beans", kind="plural",
            path="Grocery & Gourmet Food|Beverages|Coffee, Tea & Cocoa|Coffee|Whole Coffee Beans",
            price=(8, 45),
            attrs="medium roast, dark roast, single origin, fair trade, low acid, small batch, "
            "freshly roasted, whole bean",
            uses="espresso, cold brew, french press",
            variants="Colombian, Ethiopian, Sumatra, Guatemalan, House Blend, Brazilian",
            specs="12 Ounce Bag, 2 Pound Bag, 5 Pound Bag, 32 Ounce",
            options={"Size": COFFEE_SIZES, "Flavor Name": COFFEE_FLAVORS},
        ),
        dict(
            title="Green Tea", kind="mass",
            path="Grocery & Gourmet Food|Beverages|Coffee, Tea & Cocoa|Tea|Green Tea",
            price=(4, 26),
            attrs="decaf, loose leaf, individually wrapped, antioxidant rich, sugar free, fair trade, "
            "unsweetened, caffeinated",
            uses="iced tea, weight management",
            variants="Sencha, Matcha, Jasmine, Gunpowder, Genmaicha, Dragon Well",
            specs="20 Tea Bags, 100 Count, 8 Ounce Tin, 40 Count",
            options={"Flavor Name": TEA_FLAVORS, "Pack Size": TEA_COUNTS},
        ),
        dict(
            title="Protein Bar", path="Grocery & Gourmet Food|Snack Foods|Bars|Protein Bars",
            price=(9, 40),
            attrs="high protein, low sugar, keto friendly, plant based, low carb, individually wrapped, "
            "dairy free, soy free",
            uses="post workout, meal replacement",
            variants="Whey, Pea Protein, Almond Butter, Oat, Chocolate Coated, Crispy",
            specs="12 Count, 12 Pack, 18 Bars, 4 Count",
            options={"Flavor Name": BAR_FLAVORS, "Pack Size": BAR_COUNTS},
        ),
        dict(
            title="Potato Chips", kind="plural",
            path="Grocery & Gourmet Food|Snack Foods|Chips & Crisps|Potato Chips",
            price=(3, 28),
            attrs="kettle cooked, low sodium, crunchy, thick cut, nut free, family size, "
            "air fried, +no artificial flavors",
            uses="lunch boxes, parties",
            variants="Kettle, Wavy, Ridged, Thin & Crispy, Avocado Oil, Sweet Potato",
            specs="8 Ounce Bag, 1 Ounce (Pack of 24), 5 Ounce, 2 Ounce (Pack of 12)",
            options={"Flavor Name": CHIP_FLAVORS, "Size": SNACK_PACKS},
        ),
        dict(
            title="Olive Oil", kind="mass",
            path="Grocery & Gourmet Food|Pantry Staples|Cooking & Baking|Oils & Vinegars|Olive Oils",
            price=(7, 40),
            attrs="extra virgin, cold pressed, unfiltered, single origin, high polyphenol, low acidity, "
            "imported, first harvest",
            uses="cooking, salad dressing, dipping",
            variants="Greek, Italian, Spanish, Californian, Koroneiki, Arbequina",
            specs="16.9 Fl Oz, 25.4 Fl Oz, 33.8 Fl Oz, 101 Fl Oz",
            options={"Size": OIL_SIZES},
        ),
        dict(
            title="Dark Chocolate", kind="mass",
            path="Grocery & Gourmet Food|Candy & Chocolate|Chocolate|Chocolate Bars",
            price=(3, 30),
            attrs="sugar free, dairy free, fair trade, keto friendly, individually wrapped, high cacao, "
            "ethically sourced, low sugar",
            uses="baking, gift giving",
            variants="72% Cacao, 85% Cacao, Single Origin, Sea Salt, Almond, Mint",
            specs="3.5 Ounce Bar, 12 Bars, 3 Ounce (Pack of 6), 10 Ounce Bag",
            options={"Flavor Name": CHOCOLATE_FLAVORS, "Size": SNACK_PACKS},
        ),
        dict(
            title="Peanut Butter", kind="mass",
            path="Grocery & Gourmet Food|Pantry Staples|Jams, Jellies & Sweet Spreads|Peanut Butter",
            price=(3, 22),
            attrs="no stir, unsalted, high protein, palm oil free, low sodium, sugar free, "
            "dry roasted, keto friendly",
            uses="smoothies, baking, kids",
            variants="Valencia, Honey Roasted, Stone Ground, Dark Roasted, Powdered, Classic",
            specs="16 Ounce Jar, 26.5 Ounce, 40 Ounce, 12 Ounce (Pack of 2)",
            options={"Flavor Name": NUT_BUTTER_FLAVORS, "Size": FOOD_JAR_SIZES},
        ),
        dict(
            title="Pasta", kind="mass",
            path="Grocery & Gourmet Food|Pantry Staples|Pasta & Noodles|Dry Pasta",
            price=(2, 24),
            attrs="whole wheat, high protein, bronze cut, low carb, quick cooking, imported, "
            "chickpea based, vegan",
            variants="Durum Wheat, Chickpea, Red Lentil, Brown Rice, Semolina, Spinach",
            specs="1 Pound Box, 12 Ounce, Pack of 6, 8 Ounce",
            options={"Style": PASTA_SHAPES, "Pack Size": PASTA_PACKS},
        ),
        dict(
            title="Trail Mix", kind="mass", path="Grocery & Gourmet Food|Snack Foods|Trail Mix",
            price=(4, 30),
            attrs="high protein, unsalted, roasted, resealable, individually wrapped, heart healthy, "
            "low sodium, keto friendly",
            uses="hiking, road trips, lunch boxes",
            variants="Cashew, Almond, Cranberry, Dark Chocolate, Tropical Fruit, Pumpkin Seed",
            specs="26 Ounce, 1.5 Ounce (Pack of 20), 12 Ounce Bag, 3 Pound",
            options={"Flavor Name": TRAIL_FLAVORS, "Size": SNACK_PACKS},
        ),
        dict(
            title="Honey", kind="mass",
            path="Grocery & Gourmet Food|Pantry Staples|Jams, Jellies & Sweet Spreads|Honey",
            price=(6, 38),
            attrs="raw, unfiltered, unpasteurized, pure, locally sourced, single origin, creamed, "
            "small batch",
            uses="tea, baking, allergy season",
            variants="Wildflower, Clover, Manuka, Orange Blossom, Buckwheat, Acacia",
            specs="12 Ounce, 16 Ounce Jar, 2 Pound, 40 Ounce",
            options={"Size": FOOD_JAR_SIZES},
        ),
        dict(
            title="Sparkling Water", kind="mass",
            path="Grocery & Gourmet Food|Beverages|Bottled Beverages, Water & Drink Mixes|Water|Sparkling Water",
            price=(5, 30),
            attrs="zero calorie, sugar free, caffeine free, naturally flavored, sodium free, bpa free, "
            "unsweetened, recyclable",
            variants="Lime, Grapefruit, Black Cherry, Lemon, Mango, Unflavored",
            specs="12 Fl Oz Cans, Pack of 12, 16.9 Fl Oz Bottles, Pack of 24",
            options={"Flavor Name": WATER_FLAVORS, "Pack Size": CAN_PACKS},
        ),
        dict(
            title="Beef Jerky", kind="mass",
            path="Grocery & Gourmet Food|Snack Foods|Jerky & Dried Meats|Jerky",
            price=(6, 36),
            attrs="high protein, low fat, grass fed, keto friendly, low sugar, msg free, ready to eat, "
            "resealable",
            uses="hiking, road trips",
            variants="Original, Teriyaki, Peppered, Sweet & Hot, Hickory Smoked, Carne Asada",
            specs="3.25 Ounce, 10 Ounce Bag, 2.85 Ounce (Pack of 4), 16 Ounce",
            options={"Flavor Name": JERKY_FLAVORS, "Size": JERKY_SIZES},
        ),
    ),
)
