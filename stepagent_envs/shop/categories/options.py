"""Option value pools of the generated catalogue's product types.

Values are distinct case-insensitively, never contain "[" or "]", and a few
contain "/" as real WebShop values do.
"""

APPAREL_SIZES = ("X-Small", "Small", "Medium", "Large", "X-Large", "XX-Large")
MEN_SHOE_SIZES = ("7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "12")
WOMEN_SHOE_SIZES = ("5", "5.5", "6", "6.5", "7", "7.5", "8", "8.5", "9", "10")
WAIST_SIZES = ("26W x 30L", "28W x 30L", "30W x 32L", "32W x 32L", "34W x 32L", "36W x 34L")
APPAREL_COLORS = (
    "Black", "White", "Navy Blue", "Heather Gray", "Olive Green", "Burgundy",
    "Black/White", "Navy/Red", "Sky Blue", "Charcoal",
)
DRESS_COLORS = (
    "Black", "Blue Floral", "Red", "Emerald Green", "Dusty Pink", "White/Black Dot",
    "Mustard Yellow", "Lavender",
)
DENIM_COLORS = ("Light Wash", "Medium Wash", "Dark Wash", "Black", "Gray/Stone", "Vintage Blue")
SHOE_COLORS = ("Black", "White", "Black/White", "Gray/Blue", "Navy", "Triple Black", "Beige", "Red/Black")
WATCH_COLORS = ("Silver/Black", "Gold/White", "Rose Gold", "Black/Black", "Silver/Blue", "Brown/Gold")
WATCH_STYLES = ("Leather Band", "Mesh Band", "Link Bracelet", "Silicone Strap")
SOCK_PACKS = ("3 Pairs", "6 Pairs", "10 Pairs", "12 Pairs")
BAG_COLORS = ("Black", "Gray", "Navy", "Khaki", "Forest Green", "Black/Orange")
HAT_COLORS = ("Black", "Khaki", "Navy", "Washed Red", "Olive", "White/Blue")

BOTTLE_SIZES = ("8 Fl Oz", "12 Fl Oz", "16 Fl Oz", "16 Fl Oz (Pack of 2)", "33.8 Fl Oz", "3 Fl Oz")
SMALL_BOTTLE_SIZES = ("0.5 Fl Oz", "1 Fl Oz", "1.7 Fl Oz", "1 Fl Oz (Pack of 2)", "3.4 Fl Oz")
JAR_SIZES = ("1.7 Oz", "2.5 Oz", "8 Oz", "8 Oz (Pack of 2)", "16 Oz")
HAIR_SCENTS = ("Coconut", "Lavender", "Eucalyptus Mint", "Citrus", "Unscented", "Rose/Vanilla")
BODY_SCENTS = ("Ocean Breeze", "Shea Butter", "Lavender", "Sandalwood", "Fresh Citrus", "Cucumber/Melon", "Unscented")
PERFUME_SCENTS = ("Jasmine", "Amber", "White Musk", "Peony", "Vanilla Orchid", "Citrus/Neroli")
LIP_COLORS = ("Nude Beige", "Classic Red", "Berry", "Mauve", "Coral", "Plum", "Rosewood", "Brick Red")
NAIL_COLORS = (
    "Ruby Red", "Ballet Pink", "Midnight Navy", "Pure White", "Coral Crush", "Lilac", "Black/Glitter", "Nude",
)
MASCARA_COLORS = ("Black", "Blackest Black", "Brown", "Brown/Black")
SKIN_SHADES = ("Fair", "Light", "Light Medium", "Medium", "Tan", "Deep")
BEAUTY_PACKS = ("Pack of 1", "Pack of 2", "Pack of 3", "Pack of 4")

COFFEE_SIZES = ("12 Ounce", "2 Pound", "12 Ounce (Pack of 2)", "5 Pound", "32 Ounce")
COFFEE_FLAVORS = ("Colombian", "Breakfast Blend", "French Roast", "Hazelnut", "Espresso", "Vanilla/Caramel")
TEA_FLAVORS = ("Jasmine", "Mint", "Lemon Ginger", "Pure Green", "Peach", "Honey/Ginseng")
TEA_COUNTS = ("20 Count", "40 Count", "100 Count", "20 Count (Pack of 6)")
BAR_FLAVORS = ("Chocolate Chip", "Peanut Butter", "Cookies & Cream", "Blueberry", "Salted Caramel", "Almond/Coconut")
BAR_COUNTS = ("4 Count", "12 Count", "18 Count", "12 Count (Pack of 2)")
CHIP_FLAVORS = ("Sea Salt", "Salt & Vinegar", "Barbecue", "Sour Cream & Onion", "Jalapeno", "Cracked Pepper")
SNACK_PACKS = ("1 Ounce (Pack of 24)", "2 Ounce (Pack of 12)", "8 Ounce (Pack of 1)", "8 Ounce (Pack of 4)")
OIL_SIZES = ("8.5 Fl Oz", "16.9 Fl Oz", "25.4 Fl Oz", "33.8 Fl Oz", "101 Fl Oz")
CHOCOLATE_FLAVORS = ("Sea Salt", "Almond", "Mint", "Orange", "Raspberry", "Espresso")
NUT_BUTTER_FLAVORS = ("Creamy", "Crunchy", "Honey Roasted", "Chocolate")
FOOD_JAR_SIZES = ("12 Ounce", "16 Ounce", "26 Ounce", "16 Ounce (Pack of 2)", "40 Ounce")
PASTA_SHAPES = ("Penne", "Spaghetti", "Fusilli", "Rigatoni", "Elbows", "Linguine")
PASTA_PACKS = ("1 Pound", "1 Pound (Pack of 4)", "1 Pound (Pack of 8)", "12 Ounce (Pack of 12)")
TRAIL_FLAVORS = ("Classic", "Tropical", "Dark Chocolate Cherry", "Honey Nut", "Sweet & Salty")
WATER_FLAVORS = ("Lime", "Grapefruit", "Black Cherry", "Lemon", "Mango", "Berry/Lime")
CAN_PACKS = ("12 Fl Oz (Pack of 8)", "12 Fl Oz (Pack of 12)", "12 Fl Oz (Pack of 24)", "16.9 Fl Oz (Pack of 6)")
JERKY_FLAVORS = ("Original", "Teriyaki", "Peppered", "Sweet & Hot", "Hickory Smoked", "Garlic/Chili")
JERKY_SIZES = ("2.85 Ounce", "3.25 Ounce (Pack of 4)", "10 Ounce", "16 Ounce")

WOOD_COLORS = ("Walnut", "Natural Oak", "Espresso", "White", "Black", "Rustic Brown", "Gray Wash", "White/Gold")
FABRIC_COLORS = ("Light Gray", "Dark Gray", "Navy Blue", "Beige", "Emerald Green", "Mustard", "Cream/Black")
CHAIR_COLORS = ("Black", "White", "Gray", "Blue", "Pink", "Black/Red")
CHAIR_STYLES = ("With Arms", "Armless", "With Footrest", "Flip Up Arms")
DESK_SIZES = ("40 x 24 Inch", "48 x 24 Inch", "55 x 28 Inch", "63 x 30 Inch")
BED_SIZES = ("Twin", "Full", "Queen", "King", "California King")
SHELF_TIERS = ("3 Tier", "4 Tier", "5 Tier", "6 Tier")
FURNITURE_SETS = ("Set of 1", "Set of 2", "Set of 4")
STOOL_HEIGHTS = ("24 Inch Counter Height", "29 Inch Bar Height", "26 Inch", "30 Inch")
SOFA_STYLES = ("Loveseat", "3 Seater", "Sectional", "Sleeper")
TABLE_SHAPES = ("Round", "Rectangle", "Square", "Oval")
TABLE_SIZES = ("31.5 Inch", "39.4 Inch", "47 Inch", "55 Inch", "63 Inch")
TV_SIZES = ("For TVs up to 55 Inch", "For TVs up to 65 Inch", "For TVs up to 75 Inch")

TECH_COLORS = ("Black", "White", "Space Gray", "Navy Blue", "Rose Gold", "Black/Red", "Silver")
CABLE_LENGTHS = ("3 Feet", "6 Feet", "10 Feet", "15 Feet", "25 Feet")
CABLE_PACKS = ("1 Pack", "2 Pack", "3 Pack", "5 Pack")
PHONE_MODELS = ("5.4 Inch Mini", "6.1 Inch", "6.1 Inch Pro", "6.7 Inch Plus", "6.7 Inch Pro Max")
CASE_COLORS = ("Clear", "Black", "Frosted Blue", "Midnight Green", "Pink/Clear", "Purple")
CHARGER_WATTS = ("20W", "30W", "45W", "65W", "100W")
KEY_SWITCHES = ("Red Switch", "Blue Switch", "Brown Switch", "Silent Switch")
KEYBOARD_LAYOUTS = ("60%", "75%", "TKL", "Full Size")
WATCH_BANDS = ("S/M Band", "M/L Band", "One Size")
BATTERY_CAPACITIES = ("5000mAh", "10000mAh", "20000mAh", "26800mAh")
CAMERA_PACKS = ("1 Camera", "2 Cameras", "3 Cameras", "4 Cameras")
MONITOR_SIZES = ("22 Inch", "24 Inch", "27 Inch", "32 Inch", "34 Inch")
