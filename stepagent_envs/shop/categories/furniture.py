"""The generated catalogue's furniture category: its product types, attributes, uses,
title words, options, prices and brands (every word this project's own)."""

from __future__ import annotations

from .build import category
from .options import (
    BED_SIZES,
    CHAIR_COLORS,
    CHAIR_STYLES,
    DESK_SIZES,
    FABRIC_COLORS,
    FURNITURE_SETS,
    SHELF_TIERS,
    SOFA_STYLES,
    STOOL_HEIGHTS,
    TABLE_SHAPES,
    TABLE_SIZES,
    TV_SIZES,
    WOOD_COLORS,
)


FURNITURE = category(
    "furniture",
    brands=(
        "Oakhaven, Linden & Loom, Hearthline, Birchmoor, Nordhus, Casavera, Ironwood Home, Maplecraft, "
        "Roomwise, Sorrel Living, Elmstead, Tavora, Dwellcraft, Homefield, Kiln & Co, Ashgrove, Arbor Lane, "
        "Lofthaus, Quillon, Westcove"
    ),
    shared="easy to assemble, easy to clean, sturdy, modern",
    bullets=(
        "{ATTR} - The {variant} {noun} {be} {attr} and built to last",
        "{ATTR} - Made to be {attr} for daily use",
    ),
    extras=(
        "WHAT IS INCLUDED - All hardware and illustrated instructions come in the box",
        "DIMENSIONS - See the size chart in the images for exact measurements",
    ),
    middles=(
        "It fits rooms large and small.",
        "Illustrated instructions make setup quick.",
        "The {variant} finish suits both new and classic rooms.",
    ),
    weight=(8.0, 150.0, "Pounds"),
    types=(
        dict(
            title="Office Chair",
            path="Home & Kitchen|Furniture|Home Office Furniture|Home Office Chairs|Desk Chairs",
            price=(50, 320),
            attrs="height adjustable, ergonomic, +lumbar support, swivel, +mesh back, reclining, +high back, "
            "heavy duty",
            uses="the home office, gaming, small spaces",
            variants="Mesh, Leather, Task, Executive, Racing Style, Drafting",
            specs="Rolling Desk Chair, Computer Chair, With Wheels, Task Chair",
            options={"Color": CHAIR_COLORS, "Style": CHAIR_STYLES},
        ),
        dict(
            title="Standing Desk",
            path="Home & Kitchen|Furniture|Home Office Furniture|Home Office Desks",
            price=(120, 600),
            attrs="height adjustable, electric, +memory presets, wobble free, heavy duty, quiet, "
            "water resistant, +cable management",
            uses="the home office, gaming",
            variants="Dual Motor, Single Motor, L Shaped, Bamboo Top, Solid Wood, Corner",
            specs="Sit Stand Desk, Adjustable Workstation, Computer Desk, Home Office Desk",
            options={"Color": WOOD_COLORS, "Size": DESK_SIZES},
        ),
        dict(
            title="Bookshelf", path="Home & Kitchen|Furniture|Living Room Furniture|Bookcases",
            price=(35, 260),
            attrs="+adjustable shelves, open back, industrial, rustic, tall, narrow, wall anchored, "
            "freestanding",
            uses="the living room, the home office, kids rooms",
            variants="Ladder, Cube, Etagere, Corner, Barrister, Bamboo",
            specs="Display Shelf, Storage Rack, Book Shelf, Bookcase",
            options={"Color": WOOD_COLORS, "Size": SHELF_TIERS},
        ),
        dict(
            title="Sofa", path="Home & Kitchen|Furniture|Living Room Furniture|Sofas & Couches",
            price=(250, 1400),
            attrs="mid century, tufted, convertible, reclining, stain resistant, deep seated, "
            "upholstered, pet friendly",
            uses="the living room, small spaces, apartments",
            variants="Velvet, Linen, Leather, Chenille, Boucle, Performance Fabric",
            specs="Couch, 3 Seat Sofa, Loveseat Couch, Modular Sofa",
            options={"Color": FABRIC_COLORS, "Style": SOFA_STYLES},
        ),
        dict(
            title="Coffee Table",
            path="Home & Kitchen|Furniture|Living Room Furniture|Tables|Coffee Tables",
            price=(45, 420),
            attrs="+lift top, +glass top, mid century, industrial, solid wood, +storage shelf, "
            "+rounded corners, rustic",
            uses="the living room, small spaces",
            variants="Oak, Marble Look, Walnut, Metal Frame, Farmhouse, Nesting",
            specs="Center Table, Cocktail Table, Living Room Table, Sofa Table",
            options={"Color": WOOD_COLORS, "Style": TABLE_SHAPES},
        ),
        dict(
            title="Nightstand", path="Home & Kitchen|Furniture|Bedroom Furniture|Nightstands",
            price=(30, 260),
            attrs="+usb charging port, floating, rustic, mid century, compact, solid wood, fully assembled, "
            "+soft close drawers",
            uses="the bedroom, small spaces, dorm rooms",
            variants="Two Drawer, Rattan, Open Shelf, Fluted, Wall Mounted, Cane",
            specs="Bedside Table, End Table, Side Table, Set of 2",
            options={"Color": WOOD_COLORS, "Pack Size": FURNITURE_SETS},
        ),
        dict(
            title="Bar Stool",
            path="Home & Kitchen|Furniture|Kitchen & Dining Room Furniture|Stools|Barstools",
            price=(40, 300),
            attrs="counter height, swivel, backless, height adjustable, upholstered, +footrest, "
            "armless, anti scratch",
            uses="kitchen islands, home bars, pubs",
            variants="Saddle, Velvet, Woven, Metal, Faux Leather, Rattan",
            specs="Counter Stool, Kitchen Stool, Bar Chair, Island Stool",
            options={"Color": CHAIR_COLORS, "Size": STOOL_HEIGHTS, "Pack Size": FURNITURE_SETS},
        ),
        dict(
            title="Bed Frame",
            path="Home & Kitchen|Furniture|Bedroom Furniture|Beds, Frames & Bases|Bed Frames",
            price=(90, 700),
            attrs="platform, noise free, +wooden slats, +under bed storage, metal, upholstered, "
            "heavy duty, tool free",
            uses="the bedroom, guest rooms, kids",
            variants="Wingback, Slatted, Canopy, Channel Tufted, Storage, Low Profile",
            specs="Bed Frame Only, With Headboard, Bed Base, Foundation",
            options={"Size": BED_SIZES, "Color": FABRIC_COLORS},
        ),
        dict(
            title="TV Stand",
            path="Home & Kitchen|Furniture|Living Room Furniture|TV & Media Furniture|Television Stands",
            price=(60, 480),
            attrs="led lit, farmhouse, mid century, industrial, extra wide, floating, +cable management, "
            "+sliding barn doors",
            uses="the living room, the bedroom",
            variants="Console, Media Cabinet, Low Profile, Entertainment Center, Fluted, Open Shelf",
            specs="Entertainment Center, Media Console, TV Cabinet, Console Table",
            options={"Color": WOOD_COLORS, "Size": TV_SIZES},
        ),
        dict(
            title="Dining Table",
            path="Home & Kitchen|Furniture|Kitchen & Dining Room Furniture|Tables|Dining Tables",
            price=(120, 900),
            attrs="extendable, solid wood, farmhouse, drop leaf, counter height, +pedestal base, "
            "heavy duty, scratch resistant",
            uses="the dining room, small spaces, the kitchen",
            variants="Trestle, Tulip, Butcher Block, Live Edge, Marble Top, Glass",
            specs="Kitchen Table, Dinner Table, Table for 4, Table for 6",
            options={"Color": WOOD_COLORS, "Style": TABLE_SHAPES, "Size": TABLE_SIZES},
        ),
        dict(
            title="Shoe Rack",
            path="Home & Kitchen|Storage & Organization|Clothing & Closet Storage|Shoe Organizers|Shoe Racks",
            price=(15, 120),
            attrs="stackable, freestanding, narrow, expandable, foldable, tool free, heavy duty, "
            "water resistant",
            uses="the entryway, the closet, the garage",
            variants="Bamboo, Metal, Wood, Fabric, Bench, Cabinet",
            specs="Shoe Organizer, Shoe Shelf, Shoe Storage, Shoe Tower",
            options={"Size": SHELF_TIERS, "Color": WOOD_COLORS},
        ),
        dict(
            title="Accent Chair",
            path="Home & Kitchen|Furniture|Living Room Furniture|Chairs|Accent Chairs",
            price=(80, 520),
            attrs="mid century, tufted, upholstered, swivel, armless, wingback, oversized, "
            "+solid wood legs",
            uses="the living room, the bedroom, reading nooks",
            variants="Velvet, Boucle, Barrel, Slipper, Linen, Leather",
            specs="Armchair, Reading Chair, Club Chair, Lounge Chair",
            options={"Color": FABRIC_COLORS, "Pack Size": FURNITURE_SETS},
        ),
    ),
)
