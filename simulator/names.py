"""Plausible Chinese personal names, mobile numbers and company names, drawn with numpy.

* Surnames follow the frequency table of the 2020 household-register statistics (公安部户政管理
  研究中心, "2020年全国姓名报告"): 王, 李, 张, 刘 and 陈 alone cover ~30 % of the population. The
  table keeps the hundred most common plus a few compound surnames; percentages are renormalised.
* Given names are one character (~15 %) or two (~85 %), drawn from separate lists of characters
  common in men's and women's names of people born 1960–2005.
* Borrowers registered in Xinjiang (65) are given Uyghur names written in Chinese characters
  with a middle dot (``阿卜杜·热合曼``) in 40 % of cases, those in Tibet (54) Tibetan names
  without surname (``扎西顿珠``) in 70 %: the identity-hash normalisation must handle both.
* Mobile numbers are 11 digits on prefixes the three operators actually use (China Mobile
  134–139, 150–152, 157–159, 178, 182–184, 187, 188, 198; China Unicom 130–132, 155, 156,
  166, 175, 176, 185, 186; China Telecom 133, 153, 173, 177, 180, 181, 189, 191, 199), weighted
  roughly by subscriber share.
"""

from __future__ import annotations

import numpy as np

#: (surname, share of population in %) — most common first.
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.12), ("李", 7.00), ("张", 6.74), ("刘", 5.10), ("陈", 4.61), ("杨", 3.22),
    ("黄", 2.45), ("赵", 2.19), ("吴", 2.05), ("周", 1.91), ("徐", 1.57), ("孙", 1.51),
    ("马", 1.45), ("朱", 1.34), ("胡", 1.31), ("郭", 1.17), ("何", 1.15), ("林", 1.12),
    ("罗", 1.08), ("高", 1.08), ("郑", 0.87), ("梁", 0.84), ("谢", 0.75), ("宋", 0.68),
    ("唐", 0.68), ("许", 0.64), ("韩", 0.63), ("邓", 0.62), ("冯", 0.62), ("曹", 0.59),
    ("彭", 0.58), ("曾", 0.56), ("肖", 0.55), ("田", 0.53), ("董", 0.52), ("潘", 0.50),
    ("袁", 0.50), ("蔡", 0.48), ("蒋", 0.48), ("余", 0.47), ("于", 0.46), ("杜", 0.46),
    ("叶", 0.45), ("程", 0.44), ("魏", 0.42), ("苏", 0.42), ("吕", 0.41), ("丁", 0.40),
    ("任", 0.39), ("卢", 0.38), ("姚", 0.38), ("沈", 0.37), ("钟", 0.36), ("姜", 0.36),
    ("崔", 0.35), ("谭", 0.35), ("陆", 0.34), ("范", 0.33), ("汪", 0.33), ("廖", 0.32),
    ("石", 0.32), ("金", 0.31), ("韦", 0.31), ("贾", 0.30), ("夏", 0.29), ("付", 0.29),
    ("方", 0.28), ("邹", 0.27), ("熊", 0.27), ("白", 0.26), ("孟", 0.26), ("秦", 0.25),
    ("邱", 0.25), ("侯", 0.24), ("江", 0.24), ("尹", 0.23), ("薛", 0.23), ("闫", 0.22),
    ("段", 0.22), ("雷", 0.22), ("龙", 0.21), ("黎", 0.21), ("史", 0.20), ("陶", 0.20),
    ("贺", 0.20), ("毛", 0.19), ("郝", 0.19), ("顾", 0.18), ("龚", 0.18), ("邵", 0.18),
    ("万", 0.17), ("覃", 0.17), ("武", 0.17), ("钱", 0.16), ("戴", 0.16), ("严", 0.16),
    ("莫", 0.15), ("孔", 0.15), ("向", 0.14), ("常", 0.14), ("欧阳", 0.05), ("司马", 0.01),
    ("上官", 0.01), ("诸葛", 0.01),
)  # fmt: skip

MALE_GIVEN = tuple(
    "伟强磊军洋勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建国文志海东峰亮晨博子轩睿航泽宏毅诚翔鸿晓振家豪然嘉锋昊天"
)
FEMALE_GIVEN = tuple(
    "芳娜敏静丽艳娟霞秀燕玲丹萍红婷雪琳晶颖倩慧佳欣怡梦雨涵萱悦璐露瑶琪蕾洁月莉琴云莹思诗楠媛雯婧妍可欢晓玉凤兰梅蓉菲薇彤宁岚"
)
UYGHUR_MALE = ("阿卜杜", "买买提", "艾力", "吐尔逊", "艾合买提", "阿不都", "努尔", "热合曼")
UYGHUR_FEMALE = ("古丽", "阿依古丽", "帕提古丽", "热依拉", "迪丽娜尔", "努尔古丽", "阿依努尔")
UYGHUR_FATHER = ("热合曼", "艾力", "买买提", "吐尔逊", "阿不都", "克里木", "依明", "司马义")
TIBETAN_FIRST = ("扎西", "次仁", "格桑", "平措", "旦增", "达瓦", "尼玛", "索朗", "拉巴", "普布")
TIBETAN_MALE = ("顿珠", "多吉", "罗布", "旺堆", "群培", "加措", "朗杰", "欧珠")
TIBETAN_FEMALE = ("卓玛", "央金", "拉姆", "曲珍", "德吉", "白珍", "央宗", "措姆")

#: (prefix, weight) of mobile numbers.
MOBILE_PREFIXES: tuple[tuple[int, float], ...] = (
    (134, 2), (135, 4), (136, 4), (137, 4), (138, 5), (139, 5), (150, 3), (151, 3), (152, 3),
    (157, 2), (158, 3), (159, 3), (178, 2), (182, 3), (183, 2), (184, 1), (187, 3), (188, 3),
    (198, 2), (130, 3), (131, 3), (132, 3), (155, 2), (156, 2), (166, 1), (175, 1), (176, 2),
    (185, 2), (186, 3), (133, 2), (153, 2), (173, 1), (177, 2), (180, 2), (181, 2), (189, 3),
    (191, 1), (199, 1),
)  # fmt: skip

CITIES = (
    "北京", "上海", "广州", "深圳", "重庆", "天津", "杭州", "南京", "成都", "武汉", "西安", "苏州", "长沙", "郑州", "厦门",
    "福州", "合肥", "济南", "青岛", "宁波", "昆明", "南宁", "贵阳", "南昌", "沈阳", "大连", "哈尔滨", "长春", "石家庄", "太原",
    "兰州", "海口", "温州", "无锡", "佛山", "东莞", "泉州", "烟台", "珠海", "绍兴", "嘉兴", "台州", "金华", "常州", "徐州",
    "洛阳", "襄阳", "宜昌", "柳州", "赣州",
)  # fmt: skip
BRAND_CHARS = tuple(
    "恒信融汇通达安盛鑫泰华银金众瑞和宜兴隆富诚德嘉元丰润博联星易捷优百万中新海天云智"
)

#: Company name templates by institution type (index of params.TYPES); {c} city, {b} brand.
COMPANY_TEMPLATES: tuple[tuple[str, ...], ...] = (
    ("{b}消费金融股份有限公司", "{c}{b}消费金融有限公司"),
    ("{c}市{b}小额贷款有限公司", "{c}{b}网络小额贷款有限公司"),
    ("{b}网络科技有限公司", "{b}数字科技有限公司", "{c}{b}金融科技有限公司"),
    # every template carries an invented brand: a bare "{city}银行" would name a real bank
    ("{c}{b}农村商业银行股份有限公司", "{c}{b}银行股份有限公司"),
    ("{c}{b}融资担保有限公司", "{b}财产保险股份有限公司"),
    ("{c}{b}融资租赁有限公司", "{b}商业保理有限公司", "{c}{b}典当有限公司"),
)


def draw_names(rng: np.random.Generator, male: np.ndarray, province: np.ndarray) -> np.ndarray:
    """One name per borrower (numpy unicode array) given sex and registration province."""
    n = len(male)
    surnames = np.array([s for s, _ in SURNAMES])
    shares = np.array([w for _, w in SURNAMES])
    surname = surnames[rng.choice(len(surnames), size=n, p=shares / shares.sum())]
    male_chars, female_chars = np.array(MALE_GIVEN), np.array(FEMALE_GIVEN)
    first = np.where(
        male,
        male_chars[rng.integers(0, len(male_chars), n)],
        female_chars[rng.integers(0, len(female_chars), n)],
    )
    second = np.where(
        male,
        male_chars[rng.integers(0, len(male_chars), n)],
        female_chars[rng.integers(0, len(female_chars), n)],
    )
    two = rng.random(n) < 0.85
    given = np.where(two, np.char.add(first, second), first)
    names = np.char.add(surname, given).astype("U12")

    u = rng.random(n)
    uyghur = (province == 65) & (u < 0.4)
    if uyghur.any():
        k = int(uyghur.sum())
        m = male[uyghur]
        own = np.where(
            m,
            np.array(UYGHUR_MALE)[rng.integers(0, len(UYGHUR_MALE), k)],
            np.array(UYGHUR_FEMALE)[rng.integers(0, len(UYGHUR_FEMALE), k)],
        )
        father = np.array(UYGHUR_FATHER)[rng.integers(0, len(UYGHUR_FATHER), k)]
        names[uyghur] = np.char.add(np.char.add(own, "·"), father)
    tibetan = (province == 54) & (u < 0.7)
    if tibetan.any():
        k = int(tibetan.sum())
        m = male[tibetan]
        head = np.array(TIBETAN_FIRST)[rng.integers(0, len(TIBETAN_FIRST), k)]
        tail = np.where(
            m,
            np.array(TIBETAN_MALE)[rng.integers(0, len(TIBETAN_MALE), k)],
            np.array(TIBETAN_FEMALE)[rng.integers(0, len(TIBETAN_FEMALE), k)],
        )
        names[tibetan] = np.char.add(head, tail)
    return names


def draw_mobiles(rng: np.random.Generator, n: int, missing_share: float) -> np.ndarray:
    """Mobile numbers (numpy unicode array, 11 digits); ``missing_share`` of them empty."""
    prefixes = np.array([p for p, _ in MOBILE_PREFIXES], dtype=np.int64)
    weights = np.array([w for _, w in MOBILE_PREFIXES], dtype=float)
    prefix = prefixes[rng.choice(len(prefixes), size=n, p=weights / weights.sum())]
    number = prefix * 100_000_000 + rng.integers(0, 100_000_000, size=n)
    out = number.astype("U11")
    out[rng.random(n) < missing_share] = ""
    return out


def company_name(rng: np.random.Generator, type_index: int, taken: set[str]) -> str:
    """A company name of this institution type not in ``taken`` (which it is added to)."""
    templates = COMPANY_TEMPLATES[type_index]
    for _ in range(1000):
        template = templates[int(rng.integers(0, len(templates)))]
        city = CITIES[int(rng.integers(0, len(CITIES)))]
        a, b = rng.choice(len(BRAND_CHARS), size=2, replace=False)
        name = template.format(c=city, b=BRAND_CHARS[a] + BRAND_CHARS[b])
        if name not in taken:
            taken.add(name)
            return name
    raise ValueError("could not find an unused company name; too many members of one type")
