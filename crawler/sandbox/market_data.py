"""The sandbox marketplace's own world: brands, their look-alikes, products and shops.

Deliberately separate from watchlists/: the sandbox plays an outside market, so the matchers
are measured against data they were not built from. Reference prices are plausible street
prices chosen for the simulation, not quotations.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    noun: str  # the search keyword the title always contains
    model_prefix: str
    reference_price: float  # per sales unit below, CNY
    unit: str  # 件 / 卷(100米) / 袋(40kg) / 吨
    spec_extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SandboxBrand:
    name: str
    latin: str
    manufacturer: str
    lookalikes: tuple[str, ...]  # names a counterfeiter would print instead
    official_shop: str = ""  # the brand's own store, when not simply NAME官方旗舰店


@dataclass(frozen=True)
class CategoryWorld:
    slug: str
    zh: str
    certification: str | None  # ccc | fertilizer_registration | production_licence | None
    ccc_class: str | None  # CCC product class code used in certificate numbers
    brands: tuple[SandboxBrand, ...]
    products: tuple[Product, ...]


WORLD: tuple[CategoryWorld, ...] = (
    CategoryWorld(
        "children", "儿童用品", "ccc", "2201",
        (
            SandboxBrand("好孩子", "gb", "好孩子儿童用品有限公司", ("好孩孑", "好孩仔")),
            SandboxBrand("贝亲", "Pigeon", "贝亲母婴用品(上海)有限公司", ("贝新", "贝亲宝")),
            SandboxBrand("乐高", "LEGO", "乐高玩具(嘉兴)有限公司", ("乐拼", "LEG0")),
        ),
        (
            Product("儿童安全座椅", "CS", 1299, "件", (("适用年龄", "9个月-12岁"),)),
            Product("婴儿推车", "C", 899, "件", (("折叠方式", "一键折叠"),)),
            Product("积木玩具", "K", 399, "件", (("适用年龄", "6岁以上"),)),
        ),
    ),
    CategoryWorld(
        "appliance", "家用电器", "ccc", "0707",
        (
            SandboxBrand("美的", "Midea", "美的集团股份有限公司", ("美旳", "美的家")),
            SandboxBrand("格力", "GREE", "珠海格力电器股份有限公司", ("格カ", "GBEE")),
            SandboxBrand("海尔", "Haier", "海尔智家股份有限公司", ("海耳", "Hiaer")),  # 海尓 is 海尔 in a variant form
            SandboxBrand("苏泊尔", "SUPOR", "浙江苏泊尔股份有限公司", ("苏伯尔", "SUPDR")),
            SandboxBrand("公牛", "BULL", "公牛集团股份有限公司", ("公午", "BUII")),
        ),
        (
            Product("电饭煲", "MB-", 329, "件", (("容量", "4L"), ("额定功率", "770W"))),
            Product("电水壶", "SH", 129, "件", (("容量", "1.7L"), ("额定功率", "1800W"))),
            Product("插座", "GN-", 59, "件", (("额定电流", "10A"), ("线长", "1.8米"))),
            Product("电吹风", "HD", 199, "件", (("额定功率", "1800W"),)),
        ),
    ),
    CategoryWorld(
        "fertilizer", "化肥", "fertilizer_registration", None,
        (
            SandboxBrand("史丹利", "Stanley", "史丹利农业集团股份有限公司", ("史丹丽", "史舟利")),
            SandboxBrand("金正大", "Kingenta", "金正大生态工程集团股份有限公司", ("金正太", "金正大丰")),
            SandboxBrand("云天化", "YTH", "云南云天化股份有限公司", ("云天花", "去天化")),
        ),
        (
            Product("复合肥", "NPK", 178, "袋(40kg)", (("养分含量", "N-P2O5-K2O 15-15-15"), ("净含量", "40kg"))),
            Product("水溶肥", "WS", 96, "袋(10kg)", (("养分含量", "大量元素≥50%"), ("净含量", "10kg"))),
            Product("尿素", "U", 125, "袋(40kg)", (("总氮", "≥46.4%"), ("净含量", "40kg"))),
        ),
    ),
    CategoryWorld(
        "farm_machinery", "农机及配件", None, None,
        (
            SandboxBrand("雷沃", "Lovol", "潍柴雷沃智慧农业科技股份有限公司", ("雷沃尔", "雷氵天")),
            SandboxBrand("东方红", "Dongfanghong", "第一拖拉机股份有限公司", ("东方虹", "东方江")),
        ),
        (
            Product("微耕机", "WG", 2680, "件", (("功率", "7.5马力"),)),
            Product("旋耕机", "XG", 4350, "件", (("耕幅", "1.6米"),)),
            Product("农机配件", "PJ", 86, "件", (("适用机型", "拖拉机"),)),
        ),
    ),
    CategoryWorld(
        "steel", "钢材", "production_licence", None,
        (
            SandboxBrand("沙钢", "Shagang", "江苏沙钢集团有限公司", ("沙刚", "莎钢")),
            SandboxBrand("宝钢", "Baosteel", "宝山钢铁股份有限公司", ("宝刚", "室钢")),
        ),
        (
            Product("螺纹钢", "HRB400E-", 3850, "吨", (("牌号", "HRB400E"), ("直径", "16mm"))),
            Product("盘螺", "HRB400-", 3920, "吨", (("直径", "8mm"),)),
        ),
    ),
    CategoryWorld(
        "cable", "电线电缆", "ccc", "0101",
        (
            SandboxBrand("远东", "FarEast", "远东电缆有限公司", ("远冬", "远东方"), "远东电缆官方旗舰店"),
            SandboxBrand("熊猫", "Panda", "南京熊猫电线电缆有限公司", ("熊描", "熊獏")),
            SandboxBrand("中策", "Zhongce", "杭州中策电缆有限公司", ("中荣", "中策王")),
        ),
        (
            Product("电线", "BV", 289, "卷(100米)", (("规格", "BV2.5平方"), ("长度", "100米"), ("导体", "铜芯"))),
            Product("电缆", "YJV", 1860, "卷(100米)", (("规格", "YJV 3×4平方"), ("长度", "100米"))),
        ),
    ),
    CategoryWorld(
        "auto_parts", "汽车配件", None, None,
        (
            SandboxBrand("博世", "BOSCH", "博世汽车部件(苏州)有限公司", ("博士", "BOSH"), "博世汽车官方旗舰店"),
            SandboxBrand("曼牌", "MANN-FILTER", "曼胡默尔滤清器(上海)有限公司", ("曼派", "MAN-FILTFR"), "曼牌滤清器官方旗舰店"),
            SandboxBrand("马勒", "MAHLE", "马勒滤清系统(中国)有限公司", ("马勤", "MAHIE")),
        ),
        (
            Product("机油滤芯", "OC", 45, "件", (("适用车型", "大众/奥迪"),)),
            Product("空气滤芯", "LX", 58, "件", (("适用车型", "丰田卡罗拉"),)),
            Product("空调滤芯", "CU", 39, "件", (("适用车型", "本田思域"),)),
        ),
    ),
)

# Shop locations: (province, city). Regional rectification reports group by these.
REGIONS: tuple[tuple[str, str], ...] = (
    ("广东", "佛山"), ("广东", "广州"), ("广东", "深圳"), ("浙江", "义乌"), ("浙江", "杭州"),
    ("江苏", "苏州"), ("江苏", "南京"), ("山东", "临沂"), ("山东", "济南"), ("河北", "石家庄"),
    ("河南", "郑州"), ("福建", "莆田"), ("上海", "上海"), ("北京", "北京"), ("四川", "成都"),
    ("湖北", "武汉"), ("安徽", "合肥"), ("云南", "昆明"),
)

SHOP_WORDS = ("专营店", "旗舰店", "专卖店", "小店", "百货", "批发部", "直销店", "商行")
SHOP_PREFIXES = ("鑫源", "恒达", "佳惠", "优品", "盛世", "万家", "永兴", "华美", "金鼎", "顺发", "好运", "天润")

# Terms sellers of fakes use to signal them to buyers; see the risk lexicon in watchlists/.
COUNTERFEIT_TERMS = ("高仿", "A货", "原单", "1:1", "尾单", "厂家直销无3C")

TITLE_PADDING = ("正品", "新款", "包邮", "热卖", "家用", "国标", "官方", "特价")
