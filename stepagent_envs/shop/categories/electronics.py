"""The generated catalogue's electronics category: its product types, attributes, uses,
title words, options, prices and brands (every word this project's own)."""

from __future__ import annotations

from .build import category
from .options import (
    BATTERY_CAPACITIES,
    CABLE_LENGTHS,
    CABLE_PACKS,
    CAMERA_PACKS,
    CASE_COLORS,
    CHARGER_WATTS,
    KEYBOARD_LAYOUTS,
    KEY_SWITCHES,
    MONITOR_SIZES,
    PHONE_MODELS,
    TECH_COLORS,
    WATCH_BANDS,
)


ELECTRONICS = category(
    "electronics",
    brands=(
        "Voltera, Sonique, Nexion, Zentrik, Auralink, Kinetix, Polarbyte, Lumacore, Orbitek, Quantaloop, "
        "Syncro, Heliox, Pixelon, Ampliq, Vireo Tech, Cobaltia, Wavecrest, Tandem Labs, Echowave, Brightcell"
    ),
    shared="easy to use, portable, durable, compact",
    bullets=(
        "{ATTR} - Built by {brand} to be {attr} out of the box",
        "{ATTR} - Our {variant} design is {attr} day after day",
    ),
    extras=(
        "WHAT YOU GET - The {noun}, a user manual and a 12 month warranty",
        "SUPPORT - Friendly help if you have any questions",
    ),
    middles=(
        "Setup takes a few minutes with no extra software.",
        "It works with the devices you already own.",
        "Each unit is tested before it leaves our warehouse.",
    ),
    weight=(1.0, 300.0, "Ounces"),
    types=(
        dict(
            title="Wireless Earbuds", kind="plural",
            path="Electronics|Headphones, Earbuds & Accessories|Headphones & Earbuds|Earbud Headphones",
            price=(18, 180),
            attrs="noise cancelling, bluetooth, waterproof, sweatproof, fast charging, +long battery life, "
            "hands free, low latency",
            uses="running, workouts, calls, travel",
            variants="Open Ear, In Ear, Sport, Ear Hook, Mini, Pro",
            specs="With Charging Case, 40H Playtime, With Mic, Touch Control",
            options={"Color": TECH_COLORS},
        ),
        dict(
            title="Over Ear Headphones", kind="plural",
            path="Electronics|Headphones, Earbuds & Accessories|Headphones & Earbuds|Over-Ear Headphones",
            price=(25, 350),
            attrs="noise cancelling, foldable, wireless, hi res audio, +deep bass, +memory foam, "
            "+long battery life, +built in mic",
            uses="travel, studio monitoring, gaming, kids",
            variants="Studio, Travel, DJ, Hybrid, Closed Back, Open Back",
            specs="With Case, 60H Playtime, Bluetooth 5.3, 3.5mm Jack",
            options={"Color": TECH_COLORS},
        ),
        dict(
            title="Bluetooth Speaker",
            path="Electronics|Portable Audio & Video|Portable Speakers & Docks|Portable Bluetooth Speakers",
            price=(20, 250),
            attrs="waterproof, loud, +long battery life, dustproof, shockproof, stereo, outdoor, "
            "+rgb lights",
            uses="parties, the shower, camping, the beach",
            variants="Mini, Rugged, Boombox, Clip On, 360 Degree, Party",
            specs="20W, 40W, 24H Playtime, IPX7",
            options={"Color": TECH_COLORS},
        ),
        dict(
            title="HDMI Cable",
            path="Electronics|Television & Video|Accessories|Cables|HDMI Cables",
            price=(5, 40),
            attrs="high speed, 4k, braided, gold plated, 8k, ethernet ready, tangle free, flexible",
            uses="gaming consoles, projectors, laptops",
            variants="Nylon, Thin, Right Angle, Fiber Optic, Coiled, Flat",
            specs="6 Feet, 10 Feet, 3 Pack, 15 Feet",
            options={"Size": CABLE_LENGTHS, "Pack Size": CABLE_PACKS},
        ),
        dict(
            title="Phone Case",
            path="Cell Phones & Accessories|Cases, Holsters & Sleeves|Basic Cases",
            price=(7, 45),
            attrs="shockproof, slim, clear, anti scratch, drop tested, non slip, heavy duty, "
            "wireless charging compatible",
            uses="women, men, kids",
            variants="Silicone, Leather, Glitter, Wallet, Rugged, Kickstand",
            specs="Protective Cover, Phone Cover, Bumper Case, Folio Case",
            options={"Color": CASE_COLORS, "Style": PHONE_MODELS},
        ),
        dict(
            title="USB C Charger",
            path="Cell Phones & Accessories|Accessories|Chargers & Power Adapters|Wall Chargers",
            price=(9, 70),
            attrs="fast charging, foldable, dual port, overheat protected, travel friendly, universal, "
            "+gan technology, multi device",
            uses="laptops, phones, tablets",
            variants="Cube, Wall, Triple Port, Travel, Desktop, Mini",
            specs="Wall Charger, Power Adapter, Charging Block, With 6ft Cable",
            options={"Style": CHARGER_WATTS, "Color": TECH_COLORS},
        ),
        dict(
            title="Wireless Mouse",
            path="Electronics|Computers & Accessories|Keyboards, Mice & Accessories|Mice",
            price=(9, 90),
            attrs="ergonomic, silent, rechargeable, bluetooth, precise, plug and play, "
            "ambidextrous, vertical",
            uses="laptops, gaming, office work",
            variants="Palm Grip, Travel, Office, Trackball, Thin, Mini",
            specs="2.4GHz, With USB Receiver, 3 DPI Levels, 2 Year Battery",
            options={"Color": TECH_COLORS},
        ),
        dict(
            title="Mechanical Keyboard",
            path="Electronics|Computers & Accessories|Keyboards, Mice & Accessories|Keyboards",
            price=(30, 220),
            attrs="rgb backlit, hot swappable, wireless, tactile, quiet, anti ghosting, programmable, "
            "ergonomic",
            uses="gaming, typing, mac computers",
            variants="Low Profile, Gasket Mount, Split, Retro, Aluminum, Mini",
            specs="104 Keys, 68 Keys, 87 Keys, 84 Keys",
            options={"Style": KEY_SWITCHES, "Size": KEYBOARD_LAYOUTS},
        ),
        dict(
            title="Smart Watch",
            path="Electronics|Wearable Technology|Smartwatches",
            price=(30, 320),
            attrs="waterproof, +fitness tracking, +heart rate monitoring, +long battery life, gps enabled, "
            "+sleep tracking, +touch screen, +bluetooth calling",
            uses="men, women, kids, running",
            variants="Fitness, Sport, Rugged, Classic, Active, Outdoor",
            specs="1.8 Inch Display, 44mm, 41mm, AMOLED Screen",
            options={"Color": TECH_COLORS, "Size": WATCH_BANDS},
        ),
        dict(
            title="Power Bank",
            path="Cell Phones & Accessories|Accessories|Chargers & Power Adapters|Portable Power Banks",
            price=(12, 110),
            attrs="fast charging, high capacity, slim, usb c, airline approved, +led display, "
            "wireless, magnetic",
            uses="phones, camping, travel",
            variants="Pocket, Dual Output, Solar, Rugged, Mini, Laptop",
            specs="10000mAh, 20000mAh, 5000mAh, 26800mAh",
            options={"Size": BATTERY_CAPACITIES, "Color": TECH_COLORS},
        ),
        dict(
            title="Security Camera",
            path="Electronics|Camera & Photo|Video Surveillance|Surveillance Cameras|Bullet Cameras",
            price=(20, 260),
            attrs="+night vision, +motion detection, +two way audio, weatherproof, wireless, 1080p, "
            "battery powered, +cloud storage",
            uses="outdoor use, home security, baby monitoring",
            variants="Dome, Bullet, Pan Tilt, Floodlight, Doorbell, Mini",
            specs="2K, Full HD, With Spotlight, Solar Powered",
            options={"Pack Size": CAMERA_PACKS, "Color": ("White", "Black", "Gray")},
        ),
        dict(
            title="Computer Monitor",
            path="Electronics|Computers & Accessories|Monitors",
            price=(90, 700),
            attrs="flicker free, +high refresh rate, ips, curved, height adjustable, +eye care mode, "
            "vesa mountable, frameless",
            uses="gaming, office work, photo editing",
            variants="FHD, QHD, 4K UHD, Ultrawide, Office, Creator",
            specs="75Hz, 144Hz, 165Hz, 60Hz",
            options={"Size": MONITOR_SIZES},
        ),
    ),
)
