"""Name pools for the generated province: places, schools, people and nicknames that read as real ones."""

import random

PROVINCE = ("云梦省", "Yunmeng Province")

# (name, English name, suffix kind): the capital first; the last is an autonomous prefecture, as in Hunan.
CITIES = [
    ("云州", "Yunzhou"),
    ("清江", "Qingjiang"),
    ("南岭", "Nanling"),
    ("武陵", "Wuling"),
    ("沅州", "Yuanzhou"),
    ("潇湘", "Xiaoxiang"),
    ("洞庭", "Dongting"),
    ("桃源", "Taoyuan"),
    ("资江", "Zijiang"),
    ("澧州", "Lizhou"),
    ("衡山", "Hengshan"),
    ("九嶷", "Jiuyi"),
    ("梅山", "Meishan"),
    ("雪峰", "Xuefeng"),
    ("辰溪", "Chenxi"),
    ("湘源", "Xiangyuan"),
]

# Syllables for county and district names, with their pinyin.
SYLLABLES = [
    ("安", "an"), ("宁", "ning"), ("平", "ping"), ("江", "jiang"), ("华", "hua"), ("山", "shan"),
    ("阳", "yang"), ("城", "cheng"), ("东", "dong"), ("西", "xi"), ("南", "nan"), ("北", "bei"),
    ("新", "xin"), ("永", "yong"), ("兴", "xing"), ("泉", "quan"), ("河", "he"), ("溪", "xi"),
    ("石", "shi"), ("桂", "gui"), ("林", "lin"), ("青", "qing"), ("龙", "long"), ("凤", "feng"),
    ("湖", "hu"), ("岭", "ling"), ("桥", "qiao"), ("田", "tian"), ("源", "yuan"), ("丰", "feng"),
    ("泰", "tai"), ("和", "he"), ("昌", "chang"), ("明", "ming"), ("清", "qing"), ("长", "chang"),
    ("茶", "cha"), ("松", "song"), ("竹", "zhu"), ("梅", "mei"), ("柳", "liu"), ("沙", "sha"),
    ("金", "jin"), ("玉", "yu"), ("祁", "qi"), ("武", "wu"), ("桑", "sang"), ("芷", "zhi"),
    ("溆", "xu"), ("浦", "pu"), ("攸", "you"), ("醴", "li"), ("汨", "mi"), ("嘉", "jia"),
]  # fmt: skip

STREETS = [
    "人民路", "建设路", "解放路", "中山路", "新华路", "五一路", "芙蓉路", "湘江路", "文化路", "学府路",
    "育才路", "滨江路", "朝阳路", "和平路", "光明路", "青年路", "胜利路", "迎宾路", "书院路", "桂花路",
]  # fmt: skip

COMMUNITIES = [
    ("东风", "Dongfeng"), ("向阳", "Xiangyang"), ("石门", "Shimen"), ("桃花", "Taohua"), ("枫林", "Fenglin"),
    ("金星", "Jinxing"), ("红星", "Hongxing"), ("锦绣", "Jinxiu"), ("幸福", "Xingfu"), ("丽园", "Liyuan"),
    ("荷花", "Hehua"), ("清水塘", "Qingshuitang"), ("百合", "Baihe"), ("梅林", "Meilin"),
    ("长岭", "Changling"),
    ("和美", "Hemei"), ("望江", "Wangjiang"), ("南门", "Nanmen"), ("北辰", "Beichen"), ("西湖", "Xihu"),
]  # fmt: skip

# Surnames roughly by frequency (Hunan's most common first); given-name characters of both generations.
SURNAMES = (
    "刘李王陈张周罗彭唐谭曾邓黄杨吴胡赵徐肖何蒋谢廖贺毛龙朱邹钟文蔡田孙向易袁雷郭颜夏侯梁"
    "戴汤伍宋曹丁严许石余苏秦"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红文辉建国志俊博宇轩涵萱怡欣梓浩然子雨桐"
    "思晨嘉佳琪瑶睿泽诗一可若安宁航鑫婷倩雪颖慧健斌凯林鹏飞峰湘楚沅澧梦晴"
)

NICK_FIRST = [
    "阳光", "晴空", "快乐", "勇敢", "温暖", "小小", "奔跑的", "追光的", "爱笑的", "安静的", "热心",
    "认真的", "勤劳的", "微笑", "向上的", "自由的", "彩虹", "清风", "星河", "橘子",
]  # fmt: skip
NICK_SECOND = [
    "向日葵", "小太阳", "蒲公英", "白杨", "青松", "海豚", "星星", "云朵", "萤火虫", "小鹿", "骆驼",
    "小草", "山茶", "木棉", "百灵", "飞鸟", "红枫", "竹子", "小熊", "志愿者",
]  # fmt: skip


def pinyin_join(syllables: list[str]) -> str:
    """Hanyu pinyin of a place name: syllables run together, an apostrophe before a/e/o (Xi'an)."""
    text = syllables[0]
    for syllable in syllables[1:]:
        text += ("'" if syllable[0] in "aeo" else "") + syllable
    return text.capitalize()


def place_names(rng: random.Random) -> list[tuple[str, str]]:
    """Two-syllable place names with their pinyin, shuffled: 安宁 Anning, 石桥 Shiqiao, 西安 Xi'an."""
    pairs = [(a, b) for a in SYLLABLES for b in SYLLABLES if a[0] != b[0] and a[1] != b[1]]
    rng.shuffle(pairs)
    return [(a[0] + b[0], pinyin_join([a[1], b[1]])) for a, b in pairs]


def person_name(rng: random.Random) -> str:
    surname = rng.choice(SURNAMES) if rng.random() > 0.01 else rng.choice(("欧阳", "司马", "上官"))
    return surname + "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))


def nickname(rng: random.Random) -> str:
    base = rng.choice(NICK_FIRST) + rng.choice(NICK_SECOND)
    return base if rng.random() < 0.4 else f"{base}{rng.randint(1, 999)}"


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
