"""The test shop's 60 products, made up here (no real shop's data), in five of the campaign's
areas: genuine goods beside look-alikes that carry the same model number in their titles,
8 sold out (not "available for
purchase": the page says so and shows no price), 10 on sale, and a product code shown three ways (a "SKU" row, a "货号" row, an
"Item code" row) or not at all, as shop owners write their descriptions."""

from decimal import Decimal

CATEGORIES = {
    "Toys": [
        ("LEGO City Fire Station 60337", "LEGO", "899.00"),
        ("LEGQ City Fire Station 60337 building blocks", "LEGQ", "159.00"),
        ("LEGO Technic Race Car 42141", "LEGO", "1299.00"),
        ("Lepin Technic Race Car 42141 compatible", "Lepin", "239.00"),
        ("Barbie Dreamhouse Playset HMX10", "Barbie", "1499.00"),
        ("Barbee Dream House Playset HMX10", "Barbee", "199.00"),
        ("Hot Wheels Track Builder Set GLC88", "Hot Wheels", "259.00"),
        ("Hot Wheel Track Builder Set GLC88", "Hot Wheel", "69.00"),
        ("Fisher-Price Rock-a-Stack FGW58", "Fisher-Price", "89.00"),
        ("Play-Doh Kitchen Creations E6913", "Play-Doh", "129.00"),
        ("Bandai Gundam RX-78-2 model kit", "Bandai", "299.00"),
        ("Crayola Washable Markers 24 colours", "Crayola", "59.00"),
    ],
    "Home appliances": [
        ("Midea rice cooker MB-FB40S701 4L", "Midea", "399.00"),
        ("Meidi rice cooker MB-FB40S701 4L", "Meidi", "99.00"),
        ("Gree air conditioner KFR-35GW 1.5 hp", "Gree", "2999.00"),
        ("Haier refrigerator BCD-216STPT", "Haier", "1899.00"),
        ("Hairer refrigerator BCD-216STPT", "Hairer", "699.00"),
        ("Philips electric kettle HD9350", "Philips", "249.00"),
        ("Phillps electric kettle HD9350", "Phillps", "49.00"),
        ("Joyoung soymilk maker DJ13B-D08EC", "Joyoung", "359.00"),
        ("Supor induction cooker C21-SDHCB", "Supor", "289.00"),
        ("Dyson V12 Detect Slim cordless vacuum", "Dyson", "4590.00"),
        ("Dysen V12 Slim cordless vacuum", "Dysen", "399.00"),
        ("Xiaomi smart desk lamp 1S", "Xiaomi", "179.00"),
    ],
    "Car filters": [
        ("Mann-Filter oil filter W 712/95", "Mann-Filter", "68.00"),
        ("Man-Filtre oil filter W 712/95", "Man-Filtre", "15.00"),
        ("Bosch air filter F026400287", "Bosch", "85.00"),
        ("Bosh air filter F026400287", "Bosh", "19.00"),
        ("Mahle cabin filter LAK 239", "Mahle", "99.00"),
        ("Denso cabin air filter DCC-1009", "Denso", "76.00"),
        ("Hengst fuel filter H70WK09", "Hengst", "112.00"),
        ("Mann-Filter fuel filter WK 853/3 X", "Mann-Filter", "138.00"),
        ("Bosch oil filter 0986AF0063", "Bosch", "45.00"),
        ("Fram oil filter PH6607", "Fram", "39.00"),
        ("Champion air filter CAF100", "Champion", "52.00"),
        ("Mahle oil filter OX 371D", "Mahle", "72.00"),
    ],
    "Wire and cable": [
        ("Delixi BV 2.5 mm² copper wire 100 m", "Delixi", "289.00"),
        ("Delixl BV 2.5 mm² copper wire 100 m", "Delixl", "99.00"),
        ("Chint BVR 4 mm² flexible wire 100 m", "Chint", "459.00"),
        ("Chnt BVR 4 mm² flexible wire 100 m", "Chnt", "139.00"),
        ("Far East Cable YJV 3x4 mm² power cable", "Far East Cable", "36.00"),
        ("Opple LED panel light 36W", "Opple", "129.00"),
        ("Bull power strip GN-B3040 4 sockets", "Bull", "69.00"),
        ("Bul power strip GN-B3040 4 sockets", "Bul", "19.00"),
        ("Schneider switch socket E3426", "Schneider", "39.00"),
        ("NVC downlight NLED1133 7W", "NVC", "29.00"),
        ("Panasonic switch WMWA501", "Panasonic", "25.00"),
        ("Siemens circuit breaker 5SJ6 C16", "Siemens", "58.00"),
    ],
    "Fertilizer": [
        ("Stanley compound fertilizer 15-15-15 50 kg", "Stanley", "219.00"),
        ("Stanly compound fertilizer 15-15-15 50 kg", "Stanly", "89.00"),
        ("Yara Mila complex 16-16-16 25 kg", "Yara", "189.00"),
        ("Kingenta controlled-release fertilizer 26-10-12", "Kingenta", "159.00"),
        ("Kingenda controlled-release fertilizer 26-10-12", "Kingenda", "59.00"),
        ("Sinochem urea 46% 40 kg", "Sinochem", "139.00"),
        ("Yuntianhua diammonium phosphate 50 kg", "Yuntianhua", "249.00"),
        ("Haifa Multi-K potassium nitrate 25 kg", "Haifa", "269.00"),
        ("Compo Expert Hakaphos 15-10-15 25 kg", "Compo Expert", "329.00"),
        ("Lvfeng organic fertilizer 40 kg", "Lvfeng", "49.00"),
        ("Moyu water-soluble fertilizer 20-20-20 5 kg", "Moyu", "79.00"),
        ("Batian seaweed fertilizer 10 kg", "Batian", "99.00"),
    ],
}

SOLD_OUT = {4, 11, 19, 26, 33, 41, 48, 55}
CODE_LABELS = (None, "SKU", "货号", "Item code")


def products() -> list[dict]:
    """Each product: title, brand, category, SKU, unit and sale price, stock, the code label
    its description shows (None: no code shown), and what a buyer pays and can do."""
    made = []
    for category, rows in CATEGORIES.items():
        for title, brand, price in rows:
            n = len(made)
            unit = Decimal(price)
            sale = (unit * Decimal("0.85")).quantize(Decimal("0.01")) if n % 6 == 5 else None
            made.append({
                "title": title, "brand": brand, "category": category,
                "sku": f"{brand[:3].upper()}-{1000 + n * 7}", "unit_price": unit, "sale_price": sale,
                "num_in_stock": 0 if n in SOLD_OUT else (None if n % 2 else 5 + n),
                "code_label": CODE_LABELS[n % 4],
                "price": None if n in SOLD_OUT else sale or unit,
                "availability": "OutOfStock" if n in SOLD_OUT else "InStock",
            })
    return made


def description(product: dict) -> str:
    rows = [("Brand", product["brand"])]
    if product["code_label"]:
        rows.append((product["code_label"], product["sku"]))
    table = "".join(f"<tr><th>{key}</th><td>{value}</td></tr>" for key, value in rows)
    return f"<p>{product['title']}: ships from our warehouse in two days.</p><table class=\"specs\">{table}</table>"
