#!/usr/bin/python3
"""gen_registry.py - generate the demo registry (deploy/demo/registry/*.csv).

A made-up but realistic slice of Hangzhou (杭州市): three districts, three
towns (街道/镇) each, two or three communities or villages (社区/村) per town,
one or two patrol grids (网格) per village; about 100 registered sites of
mixed kind and risk grade (重大/较大/一般/低) with their sensors, and the people
and duty roster that answer calls (叫应) at the grid, town, county and city
tiers. Codes follow the national division codes (330106 西湖区) extended by
three digits per level; names, phones and coordinates are invented.

Rescue units (rescue_units.csv): a state fire rescue station (消防救援站) per
district, full-time brigades (专职消防队) in two towns per district, a regional
micro fire station (区域性微型消防救援站) in every town but one, and a site
micro station (微型消防站) at each major-risk site, as key fire-safety units
must have. With the default speeds many outlying sites stay outside every
rescue circle, which is what `hazardctl rescue-coverage` is for.

Deterministic: the same seed gives byte-identical files, which are committed.

    /usr/bin/python3 deploy/demo/gen_registry.py [--seed N] [--out DIR]
"""
import argparse
import csv
import os
import random

CITY = ("330100", "杭州市", 30.2741, 120.1551)

# county code, name, [(town name, lat, lon, [village names])]
COUNTIES = [
    ("330106", "西湖区", 30.2597, 120.1300, [
        ("西溪街道", 30.2780, 120.1340, ["古荡新村社区", "求是社区", "嘉绿苑社区"]),
        ("转塘街道", 30.1530, 120.0870, ["之江社区", "转塘社区", "上城埭村"]),
        ("三墩镇", 30.3230, 120.0930, ["金家渡村", "振华社区"]),
    ]),
    ("330110", "余杭区", 30.4183, 120.3001, [
        ("仓前街道", 30.2950, 119.9880, ["仓前社区", "连具塘村", "灵源村"]),
        ("五常街道", 30.2870, 120.0430, ["五常社区", "友谊社区"]),
        ("良渚街道", 30.3770, 120.0420, ["良渚社区", "新港村", "杜城村"]),
    ]),
    ("330112", "临安区", 30.2337, 119.7247, [
        ("锦城街道", 30.2340, 119.7190, ["锦南社区", "城中社区"]),
        ("青山湖街道", 30.2560, 119.8060, ["青山村", "研里社区", "大园村"]),
        ("於潜镇", 30.1930, 119.4180, ["光明村", "方圆村"]),
    ]),
]

BRANDS = ["恒兴", "宏达", "鑫源", "华立", "永盛", "瑞丰", "金泰", "新宇", "天成", "博远",
          "中恒", "东方", "嘉禾", "明辉", "凯旋", "益民", "顺发", "海纳", "云帆", "百川",
          "万通", "锦程", "德信", "汇丰源", "富春", "钱塘", "之江", "西子", "远航", "丰收"]
STAYS = ["山居", "竹语", "云栖", "溪畔", "听风", "望山", "茶香", "半山", "林间", "野趣"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任姚卢傅钟姜崔谭陆汪范金石廖贾夏韦方"
GIVEN = ("伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 霞 平 刚 秀英 秀兰 桂英 建华 建国 志强 "
         "海燕 红梅 晓东 晓明 文斌 丽华 春燕 国平 玉兰 宏伟 利民 永刚 佳怡 子涵 浩然 雨轩 思远 "
         "欣怡 俊杰 建军 卫东 美琴 慧敏 一鸣").split()

# rescue units: (town name of the brigade's station); the fire rescue station
# sits near the district seat; 五常街道 has no micro station of its own yet
BRIGADE_TOWNS = ["转塘街道", "三墩镇", "仓前街道", "良渚街道", "青山湖街道", "於潜镇"]
NO_MICRO_TOWNS = ["五常街道"]

# kind: (name templates, risk weights major/significant/general/low)
KINDS = {
    "factory": (["杭州{b}精密机械有限公司", "杭州{b}纺织有限公司", "杭州{b}电子科技有限公司",
                 "杭州{b}包装材料有限公司", "杭州{b}家具制造有限公司", "{t}{b}五金制品厂"],
                (1, 4, 9, 2)),
    "chemical_plant": (["杭州{b}化工有限公司", "浙江{b}涂料有限公司"], (5, 3, 0, 0)),
    "warehouse": (["{t}{b}物流仓库", "{b}冷链仓储中心", "{t}{b}仓储有限公司"], (1, 3, 6, 2)),
    "shop": (["{v}{b}便利店", "{b}五金店", "{v}{b}超市", "{b}电动车行"], (0, 0, 3, 8)),
    "ebike_shed": (["{v}电动自行车集中充电棚", "{v}{n}号楼电动车充电棚"], (0, 2, 6, 3)),
    "homestay": (["{v}{s}民宿", "{s}{v}农家客栈"], (0, 1, 6, 5)),
    "high_rise": (["{b}大厦", "{b}国际公寓", "{t}{b}中心"], (1, 4, 6, 1)),
    "school": (["{t}第{o}小学", "{v}幼儿园"], (0, 2, 7, 2)),
    "market": (["{t}农贸市场", "{v}菜市场"], (0, 2, 7, 2)),
    "restaurant": (["{b}酒家", "{v}农家乐", "{b}面馆"], (0, 1, 5, 6)),
    "hotel": (["{b}宾馆", "{b}商务酒店"], (0, 2, 6, 3)),
    "dormitory": (["{b}公司员工宿舍", "{t}{b}集体宿舍"], (0, 2, 6, 3)),
    "nursing_home": (["{t}敬老院", "{v}居家养老服务中心"], (1, 3, 5, 1)),
}
# kind weights per county: urban Xihu, industrial Yuhang, hilly Lin'an
COUNTY_KINDS = {
    "330106": {"high_rise": 5, "shop": 5, "restaurant": 4, "school": 3, "market": 2, "hotel": 3,
               "ebike_shed": 4, "dormitory": 2, "nursing_home": 1, "factory": 1, "warehouse": 1,
               "homestay": 1},
    "330110": {"factory": 6, "warehouse": 4, "chemical_plant": 1, "dormitory": 3, "ebike_shed": 4,
               "shop": 3, "restaurant": 2, "school": 2, "market": 2, "high_rise": 2, "hotel": 1,
               "nursing_home": 1},
    "330112": {"homestay": 6, "restaurant": 3, "factory": 3, "chemical_plant": 1, "shop": 3,
               "market": 2, "school": 2, "nursing_home": 2, "ebike_shed": 2, "warehouse": 1,
               "hotel": 2},
}
RISKS = ["major", "significant", "general", "low"]

# device kind: (id tag, metric, physical range or None for the metric default)
DEVICE = {
    "smoke_detector": ("SMK", "smoke", None),
    "heat_detector": ("HEAT", "temperature", (-20, 150)),
    "gas_detector": ("GAS", "gas_lel", None),
    "co_detector": ("CO", "co", (0, 1000)),
    "charger_monitor": ("CHG", "charger_current", (0, 40)),
    "electrical_monitor": ("ELEC", "residual_current", (0, 1000)),
    "water_level_gauge": ("WLV", "water_level", (-1, 6)),
    "pressure_gauge": ("PRS", "pressure", (0, 1.6)),
}
# smoke detectors (min, max) and the other devices (kind, min, max) per site kind
SITE_DEVICES = {
    "factory": ((8, 12), [("heat_detector", 1, 2), ("electrical_monitor", 1, 2),
                          ("pressure_gauge", 1, 1), ("water_level_gauge", 0, 1)]),
    "chemical_plant": ((6, 8), [("gas_detector", 3, 5), ("heat_detector", 2, 2),
                                ("electrical_monitor", 2, 2), ("pressure_gauge", 2, 2),
                                ("water_level_gauge", 1, 1)]),
    "warehouse": ((6, 10), [("heat_detector", 1, 2), ("electrical_monitor", 1, 1),
                            ("pressure_gauge", 1, 1)]),
    "shop": ((2, 3), [("electrical_monitor", 0, 1)]),
    "ebike_shed": ((2, 3), [("charger_monitor", 4, 8), ("electrical_monitor", 1, 1)]),
    "homestay": ((3, 5), [("co_detector", 1, 1), ("gas_detector", 0, 1)]),
    "high_rise": ((12, 16), [("pressure_gauge", 2, 2), ("water_level_gauge", 1, 2),
                             ("electrical_monitor", 2, 2)]),
    "school": ((8, 10), [("electrical_monitor", 1, 1)]),
    "market": ((4, 6), [("gas_detector", 1, 2), ("electrical_monitor", 1, 1)]),
    "restaurant": ((3, 4), [("gas_detector", 1, 2), ("co_detector", 1, 1)]),
    "hotel": ((8, 12), [("co_detector", 1, 1), ("electrical_monitor", 1, 1),
                        ("pressure_gauge", 0, 1)]),
    "dormitory": ((6, 8), [("charger_monitor", 1, 2), ("electrical_monitor", 1, 1)]),
    "nursing_home": ((6, 8), [("co_detector", 1, 1), ("electrical_monitor", 1, 1)]),
}
ORDINALS = "一二三四五六七八九"
N_SITES = 100


def short(name):
    for suffix in ("街道", "社区", "镇", "村"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20251027)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "registry"))
    args = ap.parse_args()
    rnd = random.Random(args.seed)

    orgs, sites, devices, people, duty = [], [], [], [], []
    phones = iter(range(1, 10000))
    used_names = set()

    def jitter(x, d):
        return round(x + rnd.uniform(-d, d), 5)

    def person(org_code, tier, title):
        pid = "P-%s-%s%02d" % (org_code, tier[0].upper(), sum(1 for p in people if p[3] == org_code) + 1)
        name = rnd.choice(SURNAMES) + rnd.choice(GIVEN)
        people.append([pid, name, "1380000%04d" % next(phones), org_code, tier, title])
        return pid

    orgs.append([CITY[0], CITY[1], "city", "", CITY[2], CITY[3]])
    city_people = [person(CITY[0], "city", "市应急管理局值班员") for _ in range(2)]
    duty.append([CITY[0], "city", city_people[0], "primary", "", ""])
    duty.append([CITY[0], "city", city_people[1], "backup", "", ""])

    grids = []  # (grid code, grid name, village name, town code, town name, county code, lat, lon)
    for ccode, cname, clat, clon, towns in COUNTIES:
        orgs.append([ccode, cname, "county", CITY[0], clat, clon])
        cp = [person(ccode, "county", "区应急管理局值班员") for _ in range(2)]
        duty.append([ccode, "county", cp[0], "primary", "", ""])
        duty.append([ccode, "county", cp[1], "backup", "", ""])
        # a holiday reinforcement (国庆值班), to exercise shift times
        duty.append([ccode, "county", person(ccode, "county", "区应急管理局副局长"), "holiday",
                     "2025-10-01T00:00:00+08:00", "2025-10-08T00:00:00+08:00"])
        for ti, (tname, tlat, tlon, villages) in enumerate(towns, 1):
            tcode = "%s%03d" % (ccode, ti)
            orgs.append([tcode, tname, "town", ccode, tlat, tlon])
            tp = [person(tcode, "town", "应急消防管理站" + t) for t in ("站长", "值班员", "值班员")]
            duty.append([tcode, "town", tp[0], "primary", "", ""])
            duty.append([tcode, "town", tp[1], "backup", "", ""])
            duty.append([tcode, "town", tp[2], "backup", "", ""])
            for vi, vname in enumerate(villages, 1):
                vcode = "%s%03d" % (tcode, vi)
                vlat, vlon = jitter(tlat, 0.02), jitter(tlon, 0.02)
                orgs.append([vcode, tname + vname, "village", tcode, vlat, vlon])
                officer = person(vcode, "grid", "安全员")
                duty.append([vcode, "grid", officer, "primary", "", ""])
                for gi in range(1, rnd.choice((1, 2, 2)) + 1):
                    gcode = "%s%02d" % (vcode, gi)
                    glat, glon = jitter(vlat, 0.006), jitter(vlon, 0.006)
                    orgs.append([gcode, "%s第%s网格" % (vname, ORDINALS[gi - 1]), "grid", vcode,
                                 glat, glon])
                    inspector = person(gcode, "grid", "网格员")
                    duty.append([gcode, "grid", inspector, "primary", "", ""])
                    duty.append([gcode, "grid", officer, "backup", "", ""])
                    grids.append((gcode, vcode, vname, tcode, tname, ccode, glat, glon))

    # sites: spread over the grids in turn, kinds weighted by county
    seq = {}
    for i in range(N_SITES):
        gcode, vcode, vname, tcode, tname, ccode, glat, glon = grids[i % len(grids)] if i < len(grids) \
            else rnd.choice(grids)
        weights = COUNTY_KINDS[ccode]
        kind = rnd.choices(list(weights), weights=list(weights.values()))[0]
        templates, rw = KINDS[kind]
        for _ in range(20):
            name = rnd.choice(templates).format(b=rnd.choice(BRANDS), t=short(tname),
                                                v=short(vname), s=rnd.choice(STAYS),
                                                n=rnd.randint(1, 30), o=rnd.choice(ORDINALS[:4]))
            if name not in used_names:
                break
        used_names.add(name)
        risk = rnd.choices(RISKS, weights=rw)[0]
        seq[tcode] = seq.get(tcode, 0) + 1
        site_id = "SITE-%s-%04d" % (tcode, seq[tcode])
        # most sites belong to a grid; a few directly to their village
        org = vcode if rnd.random() < 0.1 else gcode
        sites.append([site_id, name, kind, risk, org, tcode, ccode,
                      jitter(glat, 0.004), jitter(glon, 0.004)])

        smoke, extra = SITE_DEVICES[kind]
        plan = [("smoke_detector", rnd.randint(*smoke))]
        plan += [(k, rnd.randint(lo, hi)) for k, lo, hi in extra]
        if risk in ("major", "significant") and kind not in ("chemical_plant", "high_rise"):
            plan.append(("heat_detector", 1))  # higher grades get heat detection as well
        counts = {}
        for dkind, count in plan:
            counts[dkind] = counts.get(dkind, 0) + count
        plan = list(counts.items())
        site_seq = site_id.rsplit("-", 1)[1]
        for dkind, count in plan:
            tag, metric, rng = DEVICE[dkind]
            for n in range(1, count + 1):
                dev_id = "DEV-%s-%s-%s-%02d" % (tcode, site_seq, tag, n)
                installed = "%04d-%02d-%02dT%02d:00:00+08:00" % (
                    rnd.randint(2021, 2025), rnd.randint(1, 12), rnd.randint(1, 28),
                    rnd.randint(8, 17))
                lo, hi = rng if rng else ("", "")
                devices.append([dev_id, site_id, dkind, metric, lo, hi, installed])

    # rescue units from their own generator, so the files above stay the
    # same whatever changes here
    urnd = random.Random(args.seed + 15)
    units = []

    def ujit(x, d):
        return round(x + urnd.uniform(-d, d), 5)

    def phone():
        return "0571-8%07d" % urnd.randint(0, 9999999)

    towns = {o[0]: o for o in orgs if o[2] == "town"}
    villages = [o for o in orgs if o[2] == "village"]
    for ccode, cname, clat, clon, _ in COUNTIES:
        units.append(["FS-%s" % ccode, "%s消防救援站" % cname[:-1], "fire_rescue_station", ccode,
                      ujit(clat, 0.004), ujit(clon, 0.004), "119"])
    for tcode, t in sorted(towns.items()):
        tname, tlat, tlon = t[1], t[4], t[5]
        if tname in BRIGADE_TOWNS:
            units.append(["FB-%s" % tcode, "%s专职消防队" % tname, "full_time_brigade", tcode,
                          ujit(tlat, 0.003), ujit(tlon, 0.003), phone()])
        if tname not in NO_MICRO_TOWNS:
            v = [o for o in villages if o[3] == tcode][0]
            units.append(["MS-%s" % v[0], "%s区域性微型消防救援站" % v[1][len(tname):], "micro_station",
                          v[0], ujit(v[4], 0.002), ujit(v[5], 0.002), phone()])
    for site in sites:
        if site[3] == "major":
            units.append(["MS-%s" % site[0], "%s微型消防站" % site[1], "micro_station", site[4],
                          ujit(site[7], 0.0004), ujit(site[8], 0.0004), phone()])

    def write(name, header, rows):
        path = os.path.join(args.out, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
        print("%-14s %5d rows" % (name, len(rows)))

    os.makedirs(args.out, exist_ok=True)
    write("org_units.csv", ["code", "name", "level", "parent_code", "lat", "lon"], orgs)
    write("sites.csv", ["site_id", "name", "kind", "risk_grade", "org_code", "town_code",
                        "county_code", "lat", "lon"], sites)
    write("devices.csv", ["device_id", "site_id", "kind", "metric", "range_min", "range_max",
                          "installed_at"], devices)
    write("people.csv", ["person_id", "name", "phone", "org_code", "tier"],
          [p[:5] for p in people])
    write("duty.csv", ["org_code", "tier", "person_id", "role", "starts_at", "ends_at"], duty)
    write("rescue_units.csv", ["unit_id", "name", "kind", "org_code", "lat", "lon", "phone"], units)


if __name__ == "__main__":
    main()
