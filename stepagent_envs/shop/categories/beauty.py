"""The generated catalogue's beauty category: its product types, attributes, uses,
title words, options, prices and brands (every word this project's own)."""

from __future__ import annotations

from .build import category
from .options import (
    BEAUTY_PACKS,
    BODY_SCENTS,
    BOTTLE_SIZES,
    HAIR_SCENTS,
    JAR_SIZES,
    LIP_COLORS,
    MASCARA_COLORS,
    NAIL_COLORS,
    PERFUME_SCENTS,
    SKIN_SHADES,
    SMALL_BOTTLE_SIZES,
)


BEAUTY = category(
    "beauty",
    brands=(
        "Norvale, Lumira, Petalis, Aurelle, Velvique, Solenne, Bloomra, Kaelis, Orrisel, Dewlane, "
        "Siravi, Calmeer, Junova, Elowyn, Brisa Botanics, Halcyra, Tessamy, Fennowell, Ondine Lab, Marisette"
    ),
    shared="cruelty free, paraben free, vegan, dermatologist tested",
    bullets=(
        "{ATTR} - Our {variant} formula is {attr} for a clean feel",
        "{ATTR} FORMULA - Our {noun} {be} {attr}, from first use to last",
    ),
    extras=(
        "WHAT YOU GET - One {noun} in recyclable packaging",
        "OUR PROMISE - Not happy? Contact us and we will make it right",
    ),
    middles=(
        "It suits a quick morning routine as well as an evening reset.",
        "The {variant} blend leaves a soft, clean finish.",
        "Every batch is mixed in small runs and checked by our team.",
    ),
    weight=(1.0, 34.0, "Ounces"),
    types=(
        dict(
            title="Shampoo", path="Beauty & Personal Care|Hair Care|Shampoo & Conditioner|Shampoos",
            price=(6, 28),
            attrs="sulfate free, color safe, volumizing, moisturizing, anti dandruff, silicone free, "
            "clarifying, hydrating, strengthening",
            uses="dry hair, curly hair, damaged hair, oily scalp, fine hair",
            variants="Argan Oil, Tea Tree, Coconut Milk, Biotin, Rosemary Mint, Keratin",
            specs="16 Fl Oz, 12 Fl Oz, 8.5 Fl Oz, 33.8 Fl Oz",
            options={"Size": BOTTLE_SIZES, "Scent": HAIR_SCENTS},
        ),
        dict(
            title="Conditioner", path="Beauty & Personal Care|Hair Care|Shampoo & Conditioner|Conditioners",
            price=(6, 30),
            attrs="detangling, color safe, sulfate free, leave in, deep conditioning, moisturizing, "
            "+frizz control, silicone free, lightweight",
            uses="dry hair, curly hair, damaged hair, thick hair",
            variants="Shea Butter, Avocado Oil, Coconut Milk, Aloe Vera, Honey, Keratin",
            specs="16 Fl Oz, 12 Fl Oz, 10 Fl Oz, 33.8 Fl Oz",
            options={"Size": BOTTLE_SIZES, "Scent": HAIR_SCENTS},
        ),
        dict(
            title="Hair Mask", path="Beauty & Personal Care|Hair Care|Hair Treatments|Hair Masks",
            price=(9, 36),
            attrs="deep conditioning, repairing, heat protecting, +frizz control, moisturizing, protein rich, "
            "color safe, sulfate free",
            uses="damaged hair, bleached hair, curly hair, dry scalp",
            variants="Argan Oil, Banana, Olive Oil, Collagen, Rice Water, Murumuru Butter",
            specs="8 Oz, 16 Oz, 6.8 Oz, 12 Oz",
            options={"Size": JAR_SIZES},
        ),
        dict(
            title="Face Moisturizer",
            path="Beauty & Personal Care|Skin Care|Face|Creams & Moisturizers|Face Moisturizers",
            price=(8, 48),
            attrs="oil free, non comedogenic, fragrance free, hydrating, anti aging, lightweight, +spf 30, "
            "fast absorbing, hypoallergenic",
            uses="sensitive skin, oily skin, dry skin, combination skin",
            variants="Hyaluronic Acid, Ceramide, Niacinamide, Green Tea, Squalane, Peptide",
            specs="1.7 Oz, 2.5 Oz, 1 Oz, 3.4 Oz",
            options={"Size": JAR_SIZES, "Pack Size": BEAUTY_PACKS},
        ),
        dict(
            title="Face Serum", path="Beauty & Personal Care|Skin Care|Face|Serums",
            price=(10, 60),
            attrs="anti aging, brightening, hydrating, oil free, non comedogenic, fast absorbing, "
            "fragrance free, alcohol free",
            uses="dark spots, fine lines, dull skin, sensitive skin",
            variants="Vitamin C, Retinol, Hyaluronic Acid, Niacinamide, Rosehip, Bakuchiol",
            specs="1 Fl Oz, 1.7 Fl Oz, 0.5 Fl Oz, 2 Fl Oz",
            options={"Size": SMALL_BOTTLE_SIZES},
        ),
        dict(
            title="Lipstick", path="Beauty & Personal Care|Makeup|Lips|Lipstick",
            price=(5, 32),
            attrs="long lasting, +matte finish, highly pigmented, smudge proof, moisturizing, transfer proof, "
            "lightweight, waterproof",
            variants="Velvet Matte, Satin, Cream, Liquid, Sheer Tint, Glossy",
            specs="0.12 Oz, 0.15 Oz, 2 Piece Set, 0.1 Oz",
            options={"Color": LIP_COLORS, "Pack Size": BEAUTY_PACKS},
        ),
        dict(
            title="Foundation", path="Beauty & Personal Care|Makeup|Face|Foundation",
            price=(6, 48),
            attrs="full coverage, lightweight, long lasting, oil free, matte, buildable, non comedogenic, "
            "+spf 15, transfer proof",
            uses="oily skin, dry skin, mature skin, sensitive skin",
            variants="Liquid, Cushion, Stick, Serum, Powder, Mousse",
            specs="1 Fl Oz, 1.35 Fl Oz, 0.5 Oz, 1.01 Fl Oz",
            options={"Color": SKIN_SHADES, "Pack Size": BEAUTY_PACKS},
        ),
        dict(
            title="Mascara", path="Beauty & Personal Care|Makeup|Eyes|Mascara",
            price=(5, 28),
            attrs="waterproof, smudge proof, volumizing, lengthening, clump free, long lasting, "
            "ophthalmologist tested, easy to remove",
            uses="sensitive eyes, short lashes",
            variants="Fiber Lash, Curl Boost, Volume Plus, Lift & Define, Tubing, Black Velvet",
            specs="0.3 Fl Oz, 0.27 Fl Oz, 2 Pack, 0.35 Fl Oz",
            options={"Color": MASCARA_COLORS, "Pack Size": BEAUTY_PACKS},
        ),
        dict(
            title="Nail Polish",
            path="Beauty & Personal Care|Foot, Hand & Nail Care|Nail Art & Polish|Nail Polish",
            price=(4, 22),
            attrs="quick dry, chip resistant, long lasting, non toxic, high gloss, easy to apply, "
            "+gel effect, low odor",
            variants="Gel Shine, Classic Cream, Shimmer, Glitter Top, Pastel, Neon",
            specs="0.5 Fl Oz, 0.4 Fl Oz, 6 Piece Set, 0.27 Fl Oz",
            options={"Color": NAIL_COLORS, "Pack Size": BEAUTY_PACKS},
        ),
        dict(
            title="Body Wash", path="Beauty & Personal Care|Skin Care|Body|Cleansers|Body Washes",
            price=(5, 24),
            attrs="moisturizing, sulfate free, ph balanced, soap free, exfoliating, hydrating, gentle, "
            "refreshing",
            uses="sensitive skin, dry skin, men, kids",
            variants="Oatmeal, Charcoal, Shea Butter, Eucalyptus, Honey Almond, Cocoa Butter",
            specs="16 Fl Oz, 22 Fl Oz, 32 Fl Oz, 12 Fl Oz",
            options={"Scent": BODY_SCENTS, "Size": BOTTLE_SIZES},
        ),
        dict(
            title="Perfume", path="Beauty & Personal Care|Fragrance|Women's|Eau de Parfum",
            price=(18, 95),
            attrs="long lasting, floral, fresh, alcohol free, warm, elegant, light, travel friendly",
            uses="women, evening wear, everyday wear",
            variants="Eau de Parfum, Rollerball, Body Mist, Solid, Eau Fraiche, Oil",
            specs="1.7 Fl Oz, 3.4 Fl Oz, 1 Fl Oz, 0.33 Fl Oz",
            options={"Scent": PERFUME_SCENTS, "Size": SMALL_BOTTLE_SIZES},
        ),
        dict(
            title="Deodorant", path="Beauty & Personal Care|Personal Care|Deodorants & Antiperspirants|Deodorant",
            price=(4, 18),
            attrs="aluminum free, baking soda free, 48 hour, natural, invisible, +no white marks, gentle, "
            "refillable",
            uses="men, women, sensitive skin",
            variants="Charcoal, Magnesium, Coconut, Stick, Cream, Spray",
            specs="2.65 Oz, 3 Oz, 2 Pack, 2.5 Oz",
            options={"Scent": BODY_SCENTS, "Pack Size": BEAUTY_PACKS},
        ),
        dict(
            title="Sunscreen", path="Beauty & Personal Care|Skin Care|Sunscreens & Tanning Products|Sunscreens",
            price=(7, 36),
            attrs="broad spectrum, water resistant, reef safe, mineral based, +spf 50, non greasy, "
            "tinted, oxybenzone free",
            uses="the face, kids, sensitive skin, outdoor sports",
            variants="Zinc Oxide, Lotion, Stick, Spray, Gel, Mineral Milk",
            specs="3 Fl Oz, 6 Fl Oz, 1.7 Fl Oz, 2 Pack",
            options={"Size": SMALL_BOTTLE_SIZES, "Pack Size": BEAUTY_PACKS},
        ),
        dict(
            title="Beard Oil",
            path="Beauty & Personal Care|Shave & Hair Removal|Men's|Beard & Mustache Care|Beard Oils",
            price=(7, 30),
            attrs="non greasy, fast absorbing, softening, conditioning, lightweight, unscented, "
            "all natural, +itch relief",
            uses="men, short beards, long beards",
            variants="Cedarwood, Sandalwood, Jojoba, Argan, Bay Rum, Pine",
            specs="1 Fl Oz, 2 Fl Oz, 3 Pack, 1.7 Fl Oz",
            options={"Scent": ("Cedarwood", "Sandalwood", "Citrus", "Unscented", "Pine/Mint")},
        ),
    ),
)
