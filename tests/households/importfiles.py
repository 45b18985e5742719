"""Workbooks for the import tests, written with openpyxl as a county's export would be."""

from __future__ import annotations

import io

from openpyxl import Workbook

from households import idnumber

NATIONAL_HEADER = [
    "户编号",
    "行政区划代码",
    "姓名",
    "证件号码",
    "与户主关系",
    "劳动技能",
    "健康状况",
    "在校生情况",
    "户类型",
    "监测对象类别",
    "识别监测时间",
    "致贫/返贫风险1",
    "致贫/返贫风险2",
    "风险是否已消除",
    "风险消除方式",
    "消除监测时间",
    "联系电话",
    "耕地面积（亩）",
    "年度",
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
]


def pid(n: int, region: str = "130727") -> str:
    import datetime as dt

    return idnumber.make(
        region, dt.date(1970, 1, 1) + dt.timedelta(days=(n * 37) % 15000), (n * 2 + 1) % 1000
    )


def person_row(number, village, name, id_number, relation="户主", **extra) -> dict:
    row = {
        "户编号": number,
        "行政区划代码": village,
        "姓名": name,
        "证件号码": id_number,
        "与户主关系": relation,
        "劳动技能": "普通劳动力",
        "健康状况": "健康",
        "在校生情况": "",
        "户类型": "一般农户",
        "监测对象类别": "",
        "识别监测时间": "",
        "风险是否已消除": "否",
        "风险消除方式": "",
        "消除监测时间": "",
        "联系电话": "",
        "耕地面积（亩）": 3,
        "年度": 2025,
        "工资性收入": 20000,
        "生产经营性收入": 5000,
        "财产性收入": 0,
        "转移性收入": 1000,
        "生产经营性支出": 2000,
    }
    row.update(extra)
    return row


def workbook(rows: list[dict], header=None) -> bytes:
    header = header or NATIONAL_HEADER
    wb = Workbook()
    sheet = wb.active
    sheet.title = "基础信息表"
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(h, "") for h in header])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def three_households(village: str, start: int = 1) -> list[dict]:
    """Three households of 1, 2 and 3 people in ``village``."""
    rows = []
    n = start
    for size in (1, 2, 3):
        number = f"{village}{n:04d}"
        for i in range(size):
            relation = "户主" if i == 0 else ("配偶" if i == 1 else "子女")
            rows.append(person_row(number, village, f"成员{n}-{i}", pid(n * 10 + i), relation))
        n += 1
    return rows
