"""The generated catalogue's fashion category: its product types, attributes, uses,
title words, options, prices and brands (every word this project's own)."""

from __future__ import annotations

from .build import category
from .options import (
    APPAREL_COLORS,
    APPAREL_SIZES,
    BAG_COLORS,
    DENIM_COLORS,
    DRESS_COLORS,
    HAT_COLORS,
    MEN_SHOE_SIZES,
    SHOE_COLORS,
    SOCK_PACKS,
    WAIST_SIZES,
    WATCH_COLORS,
    WATCH_STYLES,
    WOMEN_SHOE_SIZES,
)


FASHION = category(
    "fashion",
    brands=(
        "Lunetta, Ravelle, Northpeak, Stridewell, Coastline Co, Urbane Thread, Kestrel, Marlowe & Finch, "
        "Vantor, Solstice Wear, Brindle, Ashby, Corvo, Fieldmark, Tallis, Wren & Row, Juno Athletic, "
        "Harbor Lane, Ostara, Velmont"
    ),
    shared="lightweight, comfortable, durable, stylish",
    bullets=(
        "{ATTR} - This {variant} style is {attr} and easy to pair",
        "{ATTR} - Designed by {brand} to be {attr} all day",
    ),
    extras=(
        "CARE - Follow the care label to keep it looking new",
        "SIZING - Check the size chart before you order",
    ),
    middles=(
        "It pairs easily with the rest of your wardrobe.",
        "Most customers find it true to size.",
        "Made to keep its shape and colour over time.",
    ),
    weight=(2.0, 48.0, "Ounces"),
    types=(
        dict(
            title="Running Shoes", kind="plural",
            path="Clothing, Shoes & Jewelry|Men|Shoes|Athletic|Running",
            price=(30, 140),
            attrs="non slip, cushioned, +arch support, +memory foam, +wide toe box, shock absorbing, "
            "+rubber sole, breathable",
            uses="men, women, trail running, gym workouts",
            variants="Mesh, Knit, Trail, Road, Carbon Plate, Slip On",
            specs="Lace Up Sneakers, Athletic Trainers, Road Runners, Walking Shoes",
            options={"Color": SHOE_COLORS, "Size": MEN_SHOE_SIZES},
        ),
        dict(
            title="Dress", path="Clothing, Shoes & Jewelry|Women|Clothing|Dresses|Casual",
            price=(18, 80),
            attrs="v neck, short sleeve, long sleeve, high waist, wrinkle free, flowy, casual, stretchy, "
            "machine washable",
            uses="women, summer, wedding guests, the beach",
            variants="Floral Maxi, Wrap, Midi, Boho, Smocked, Shirt",
            specs="Knee Length, Ankle Length, Sundress, Party Dress",
            options={"Color": DRESS_COLORS, "Size": APPAREL_SIZES},
        ),
        dict(
            title="T-Shirt", path="Clothing, Shoes & Jewelry|Men|Clothing|Shirts|T-Shirts",
            price=(8, 35),
            attrs="crew neck, short sleeve, moisture wicking, tagless, slim fit, pre shrunk, "
            "machine washable, breathable",
            uses="men, women, workouts",
            variants="Cotton, Heavyweight, Pocket, Graphic, Athletic, Henley",
            specs="Pack of 3, Crew Tee, Basic Top, Pack of 5",
            options={"Color": APPAREL_COLORS, "Size": APPAREL_SIZES},
        ),
        dict(
            title="Jeans", kind="plural", path="Clothing, Shoes & Jewelry|Women|Clothing|Jeans",
            price=(20, 90),
            attrs="high waist, stretchy, slim fit, straight leg, distressed, skinny, mid rise, relaxed fit",
            uses="women, men",
            variants="Bootcut, Mom, Boyfriend, Wide Leg, Cropped, Flare",
            specs="Denim Pants, Classic Jeans, Ankle Jeans, Full Length",
            options={"Color": DENIM_COLORS, "Size": WAIST_SIZES},
        ),
        dict(
            title="Hoodie", path="Clothing, Shoes & Jewelry|Men|Clothing|Active|Active Hoodies",
            price=(20, 75),
            attrs="fleece lined, pullover, zip up, long sleeve, warm, loose fit, heavyweight, +drawstring hood, "
            "machine washable",
            uses="men, women, teens",
            variants="Fleece, French Terry, Oversized, Cropped, Sherpa, Tech",
            specs="Hooded Sweatshirt, Casual Top, Athletic Hoodie, Sweatshirt Top",
            options={"Color": APPAREL_COLORS, "Size": APPAREL_SIZES},
        ),
        dict(
            title="Leggings", kind="plural",
            path="Clothing, Shoes & Jewelry|Women|Clothing|Active|Active Leggings",
            price=(12, 60),
            attrs="high waist, +tummy control, squat proof, moisture wicking, +four way stretch, "
            "butt lifting, opaque, seamless",
            uses="yoga, running, women",
            variants="Studio, Capri, Fleece Lined, Ribbed, Pocket, Compression",
            specs="Workout Pants, Full Length, 7/8 Length, Athletic Tights",
            options={"Color": APPAREL_COLORS, "Size": APPAREL_SIZES},
        ),
        dict(
            title="Sandals", kind="plural",
            path="Clothing, Shoes & Jewelry|Women|Shoes|Sandals|Flat Sandals",
            price=(15, 70),
            attrs="open toe, +arch support, non slip, adjustable, cushioned, waterproof, slip on, "
            "quick drying",
            uses="women, the beach, summer",
            variants="Slide, Strappy, Platform, Footbed, Thong, Gladiator",
            specs="Flat Shoes, Flat Sandals, Casual Slides, Beach Sandals",
            options={"Color": SHOE_COLORS, "Size": WOMEN_SHOE_SIZES},
        ),
        dict(
            title="Winter Jacket",
            path="Clothing, Shoes & Jewelry|Men|Clothing|Jackets & Coats|Down & Down Alternative",
            price=(40, 180),
            attrs="water resistant, windproof, hooded, insulated, packable, fleece lined, warm, "
            "zip up",
            uses="men, women, hiking, skiing",
            variants="Puffer, Parka, Quilted, Down, Softshell, Sherpa",
            specs="Winter Coat, Outdoor Jacket, Puffer Coat, Winter Outerwear",
            options={"Color": APPAREL_COLORS, "Size": APPAREL_SIZES},
        ),
        dict(
            title="Socks", kind="plural",
            path="Clothing, Shoes & Jewelry|Men|Clothing|Socks|Athletic Socks",
            price=(8, 30),
            attrs="moisture wicking, cushioned, no show, odor resistant, +arch support, ankle length, "
            "+reinforced heel, breathable",
            uses="men, women, running, hiking",
            variants="Cotton, Wool, Bamboo, Compression, Crew, Quarter",
            specs="6 Pairs, 12 Pairs, Pack of 3, 10 Pairs",
            options={"Color": APPAREL_COLORS, "Pack Size": SOCK_PACKS},
        ),
        dict(
            title="Wrist Watch", path="Clothing, Shoes & Jewelry|Men|Watches|Wrist Watches",
            price=(25, 220),
            attrs="water resistant, analog, stainless steel, quartz, scratch resistant, luminous, "
            "minimalist, chronograph",
            uses="men, women, business",
            variants="Dress, Field, Diver, Pilot, Racing, Skeleton",
            specs="40mm Case, 42mm, 36mm Case, 44mm",
            options={"Color": WATCH_COLORS, "Style": WATCH_STYLES},
        ),
        dict(
            title="Backpack", path="Clothing, Shoes & Jewelry|Luggage & Travel Gear|Backpacks|Casual Daypacks",
            price=(20, 120),
            attrs="water resistant, anti theft, +usb charging port, large capacity, padded, laptop friendly, "
            "carry on size, multi pocket",
            uses="travel, school, work, hiking",
            variants="Canvas, Nylon, Rolltop, Daypack, Leather, Trekking",
            specs="30L, 20L, Fits 15.6 Inch Laptop, 25L",
            options={"Color": BAG_COLORS},
        ),
        dict(
            title="Baseball Cap",
            path="Clothing, Shoes & Jewelry|Men|Accessories|Hats & Caps|Baseball Caps",
            price=(9, 40),
            attrs="adjustable, unstructured, washed cotton, +sun protection, breathable, moisture wicking, "
            "low profile, vintage",
            uses="men, women, golf, running",
            variants="Dad Hat, Trucker, Denim, Corduroy, Mesh Back, Performance",
            specs="One Size, Strapback, Snapback, Curved Brim",
            options={"Color": HAT_COLORS, "Pack Size": ("1 Pack", "2 Pack", "3 Pack")},
        ),
    ),
)
