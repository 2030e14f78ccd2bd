"""Names and places for synthetic people. Invented data: no real person is described."""

from __future__ import annotations

# Family names common in Qidong and Nantong, most frequent first (weights roughly follow them).
FAMILY_NAMES = (
    "陈施沈黄袁张王顾倪陆季杨朱龚蔡周徐宋郁曹茅秦姜范吴刘李邱瞿成"
    "龚郭汤江樊俞蒋唐钱孙赵褚卫郑冯许何吕"
)
GIVEN_CHARS = (
    "建国华明红英军平芳秀兰玉珍海燕丽伟强峰杰涛斌勇俊磊洋婷静敏霞"
    "春梅桂凤林云飞志新文德忠永金宝荣兴福祥宇浩然欣怡子涵梓轩雨晨"
)
VILLAGE_STEMS = (
    "新港",
    "东兴",
    "南清河",
    "北新",
    "惠和",
    "永和",
    "大洋港",
    "近海",
    "寅阳",
    "合兴",
    "海复",
    "向阳",
    "红星",
    "五星",
    "长兴",
    "富民",
    "丰产",
    "东海",
    "滨海",
    "民主",
    "光明",
    "胜利",
    "和平",
    "友谊",
    "新华",
    "团结",
    "建设",
    "跃进",
    "聚南",
    "兴垦",
)
STREETS = ("人民路", "紫薇路", "公园路", "南苑路", "和平路", "江海路", "牡丹江路", "华石路")
