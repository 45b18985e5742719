"""The import: dry run and error report, all or nothing, history, re-import, safe files,
round trip through the national layout."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Role, SecurityEvent, SecurityEventKind
from households.imports import jobs, layouts
from households.models import (
    Household,
    ImportColumnMapping,
    ImportState,
    IncomeRecord,
    MonitoringStatus,
    Person,
)
from monitoring.models import LedgerSpan, MonitoringCase
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.households import importfiles as f


@pytest.fixture
def run_import(django_capture_on_commit_callbacks):
    def run(actor, data: bytes, *, layout="national", dry_run=False, name="county.xlsx"):
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.submit(
                actor=actor, upload=SimpleUploadedFile(name, data), layout=layout, dry_run=dry_run
            )
        job.refresh_from_db()
        return job

    return run


def counts():
    return (Household.objects.count(), Person.objects.count(), IncomeRecord.objects.count())


def test_a_clean_file_is_imported_with_history_and_derived_figures(areas, operator, run_import):
    v = areas["v11"].code
    job = run_import(operator, f.workbook(f.three_households(v)))
    assert job.state == ImportState.DONE, job.errors
    assert job.summary["created"] == {"households": 3, "people": 6, "incomes": 3}
    assert counts() == (3, 6, 3)
    three = Household.objects.get(number=f"{v}0003")
    assert three.member_count == 3 and three.head.name == "成员3-0"
    assert three.village == areas["v11"] and three.area_code == v
    record = three.incomes.get()
    # (20000 + 5000 + 0 + 1000 - 2000) / 3 resident members
    assert record.members == 3 and str(record.per_capita_net_income) == "8000.00"
    person = Person.objects.get(name="成员3-1")
    assert person.relation == "spouse" and person.birth_date and person.sex in ("M", "F")
    created = Household.history.filter(number=f"{v}0003", history_type="+").get()
    assert created.history_user == operator and "county.xlsx" in created.history_change_reason
    # one history row per created household, in its final state (head and member count)
    assert Household.history.filter(number=f"{v}0003").count() == 1
    assert created.head_id == three.head_id and created.member_count == 3
    assert Person.history.filter(history_type="+").count() == 6
    assert IncomeRecord.history.filter(history_type="+", history_user=operator).count() == 3
    event = SecurityEvent.objects.get(kind=SecurityEventKind.IMPORT)
    assert event.user == operator and event.detail["job"] == job.pk and event.detail["dry_run"] is False


def test_a_dry_run_writes_nothing(areas, operator, run_import):
    job = run_import(operator, f.workbook(f.three_households(areas["v11"].code)), dry_run=True)
    assert job.state == ImportState.CHECKED and job.rows_checked == 6 and job.rows_written == 0
    assert counts() == (0, 0, 0)


def test_every_kind_of_bad_row_is_reported_and_nothing_is_imported(areas, operator, run_import):
    v = areas["v11"].code
    registered = hf.household(areas["v11"], members=1)
    taken_id = registered.members.get().id_number
    good = f.pid(900)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        f.person_row(f"{v}0001", v, "好人", f.pid(901)),  # row 2: fine
        f.person_row(f"{v}0002", v, "校验位", wrong_check),  # 3: check digit
        f.person_row(f"{v}0003", v, "日期", f.pid(902), 识别监测时间="2024年13月"),  # 4: bad date
        f.person_row(f"{v}0004", "999999999999", "无村", f.pid(903)),  # 5: unknown village
        f.person_row(f"{v}0005", v, "代码", f.pid(904), 劳动技能="会飞"),  # 6: unknown code
        f.person_row(f"{v}0006", v, "重复甲", f.pid(905)),  # 7
        f.person_row(f"{v}0006", v, "重复乙", f.pid(905), "配偶"),  # 8: duplicate within the file
        f.person_row(f"{v}0007", v, "已登记", taken_id),  # 9: registered in another household
        f.person_row(f"{v}0008", v, "文字", f.pid(906), 工资性收入="两万"),  # 10: text in a number column
        f.person_row("", v, "无户", f.pid(907), "子女"),  # 11: member without a household
    ]
    job = run_import(operator, f.workbook(rows))
    assert job.state == ImportState.FAILED
    assert counts() == (1, 1, 0)  # only the household registered before
    found = {(e["row"], e["column"]) for e in job.errors}
    assert found == {
        (3, "证件号码"),
        (4, "识别监测时间"),
        (5, "行政区划代码"),
        (6, "劳动技能"),
        (8, "证件号码"),
        (9, "证件号码"),
        (10, "工资性收入"),
        (11, "户编号"),
    }, job.errors
    by_row = {e["row"]: e["message"] for e in job.errors}
    assert "校验位" in by_row[3] and "第7行" in by_row[8] and registered.number in by_row[9]
    # The downloadable report: the bad rows with their errors beside them, and the list.
    report = load_workbook(io.BytesIO(jobs.error_report(job)))
    bad_rows = list(report.worksheets[0].iter_rows(values_only=True))
    assert bad_rows[0][:3] == ("错误", "行号", "户编号")
    assert [r[1] for r in bad_rows[1:]] == [3, 4, 5, 6, 8, 9, 10, 11]
    assert "会飞" in bad_rows[4][0] and bad_rows[4][4] == "代码"
    assert report.worksheets[1].max_row == len(job.errors) + 1


def test_a_missing_required_column_is_reported(areas, operator, run_import):
    header = [h for h in f.NATIONAL_HEADER if h != "证件号码"]
    job = run_import(operator, f.workbook(f.three_households(areas["v11"].code), header=header))
    assert job.state == ImportState.FAILED
    assert [(e["row"], e["column"]) for e in job.errors] == [(1, "证件号码")]
    assert "缺少" in job.errors[0]["message"]


def test_a_household_without_head_and_a_household_of_another_area(areas, run_import):
    v = areas["v11"].code
    elsewhere = hf.household(areas["v21"], members=1)
    rows = [
        f.person_row(f"{v}0001", v, "无户主", f.pid(910), "子女"),
        f.person_row(elsewhere.number, v, "别处", f.pid(911)),
    ]
    township_operator = af.user(Role.OPERATOR, areas["t1"])
    job = run_import(township_operator, f.workbook(rows))
    assert job.state == ImportState.FAILED
    assert {(e["row"], e["message"][:6]) for e in job.errors} == {(2, "该户没有户主"), (3, "户编号已被您")}
    assert counts() == (1, 1, 0)


def test_reimport_changes_nothing_and_a_newer_file_changes_exactly_what_changed(areas, operator, run_import):
    v = areas["v11"].code
    rows = f.three_households(v)
    run_import(operator, f.workbook(rows))
    before = (Household.history.count(), Person.history.count(), IncomeRecord.history.count())
    again = run_import(operator, f.workbook(rows))
    assert again.state == ImportState.DONE
    assert again.summary["created"] == {"households": 0, "people": 0, "incomes": 0}
    assert again.summary["changed"] == {"households": 0, "people": 0, "incomes": 0}
    assert (Household.history.count(), Person.history.count(), IncomeRecord.history.count()) == before

    rows[0]["联系电话"] = "13812345678"  # household 1's phone
    rows[2]["劳动技能"] = "丧失劳动力"  # household 2's spouse
    for row in rows[3:]:
        row["工资性收入"] = 26000  # household 3's income
    newer = run_import(operator, f.workbook(rows))
    assert newer.summary["changed"] == {"households": 1, "people": 1, "incomes": 1}
    assert sorted((c["household"], c["what"], tuple(c["fields"])) for c in newer.summary["changes"]) == [
        (f"{v}0001", "household", ("phone",)),
        (f"{v}0002", "person", ("labour_capacity",)),
        (f"{v}0003", "income", ("net_income", "per_capita_net_income", "wages")),
    ]
    assert Household.history.count() == before[0] + 1
    assert Person.history.count() == before[1] + 1
    assert IncomeRecord.history.count() == before[2] + 1
    spouse = Person.objects.get(name="成员2-1")
    assert spouse.labour_capacity == "lost"
    assert spouse.history.first().history_user == operator
    assert str(Household.objects.get(number=f"{v}0003").incomes.get().per_capita_net_income) == "10000.00"


def test_monitoring_columns_set_the_status(areas, operator, run_import):
    v = areas["v11"].code
    rows = [
        f.person_row(f"{v}0001", v, "监测", f.pid(920), 监测对象类别="边缘易致贫户", 识别监测时间="202403"),
        f.person_row(
            f"{v}0002",
            v,
            "消除",
            f.pid(921),
            监测对象类别="突发严重困难户",
            识别监测时间="202301",
            风险是否已消除="是",
            风险消除方式="帮扶消除",
            消除监测时间="202312",
        ),
    ]
    job = run_import(operator, f.workbook(rows))
    assert job.state == ImportState.DONE, job.errors
    one, two = Household.objects.order_by("number")
    assert (one.monitoring_status, one.monitoring_category, str(one.identified_on)) == (
        MonitoringStatus.MONITORED,
        "marginal",
        "2024-03-01",
    )
    assert (two.monitoring_status, str(two.eliminated_on)) == (MonitoringStatus.ELIMINATED, "2023-12-01")
    # the ledgers' membership over time follows the bulk write: the monitored one in ledger 1
    # from the import on, the eliminated one in its type's ledger
    from monitoring.models import LedgerSpan

    spans = dict(LedgerSpan.objects.open().exclude(ledger="low_income").values_list("household_id", "ledger"))
    assert spans[one.pk] == "key_monitoring" and spans[two.pk] != "key_monitoring"
    assert set(spans) == {one.pk, two.pk}


def test_the_own_template_round_trips_its_headers_and_the_mapping_table_extends_a_layout(
    areas, operator, run_import
):
    template = load_workbook(io.BytesIO(jobs.template()))
    header = [c.value for c in template.worksheets[0][1]]
    assert header[:3] == ["户编号", "行政区划代码", "家庭住址"]
    assert template.worksheets[0].data_validations.dataValidation  # the code lists as drop-downs
    v = areas["v11"].code
    rows = [
        {"户编号": f"{v}0001", "行政区划代码": v, "姓名": "甲", "证件号码": f.pid(930), "与户主关系": "户主"}
    ]
    assert run_import(operator, f.workbook(rows, header=header), layout="own").state == ImportState.DONE

    renamed = ["户号", "行政区划代码", "姓名", "证件号码", "与户主关系"]
    rows = [
        {"户号": f"{v}0002", "行政区划代码": v, "姓名": "乙", "证件号码": f.pid(931), "与户主关系": "户主"}
    ]
    assert run_import(operator, f.workbook(rows, header=renamed)).state == ImportState.FAILED
    ImportColumnMapping.objects.create(layout="national", header="户号", field="household.number")
    assert run_import(operator, f.workbook(rows, header=renamed)).state == ImportState.DONE
    assert Household.objects.filter(number=f"{v}0002").exists()


def test_round_trip_through_the_national_layout(areas, operator, run_import):
    v = areas["v11"].code
    rows = f.three_households(v)
    rows[0].update(
        监测对象类别="边缘易致贫户", 识别监测时间="202403", 联系电话="13812345678", **{"致贫/返贫风险1": "因病", "致贫/返贫风险2": "因学"}
    )
    for row in rows[1:3]:
        row.update(
            监测对象类别="突发严重困难户",
            识别监测时间="202301",
            风险是否已消除="是",
            风险消除方式="自然消除",
            消除监测时间="202312",
            **{"致贫/返贫风险1": "意外事故"},
        )
    run_import(operator, f.workbook(rows))
    hf.household(areas["v12"], members=2)  # one registered through the services, without income

    def snapshot():
        households = sorted(
            Household.objects.values_list(
                "number",
                "area_code",
                "household_type",
                "monitoring_status",
                "monitoring_category",
                "identified_on",
                "member_count",
                "phone",
                "head__id_number",
            )
        )
        people = sorted(
            Person.objects.values_list(
                "id_number",
                "name",
                "household__number",
                "relation",
                "labour_capacity",
                "health_status",
                "is_resident",
            )
        )
        incomes = sorted(
            IncomeRecord.objects.values_list(
                "household__number", "year", "wages", "net_income", "per_capita_net_income"
            )
        )
        cases = sorted(
            (
                c.household.number,
                c.status,
                c.category,
                c.identified_on,
                c.eliminated_on,
                c.exit_mode,
                tuple(sorted(c.risk_types.values_list("code", flat=True))),
            )
            for c in MonitoringCase.objects.select_related("household")
        )
        ledgers = sorted(LedgerSpan.objects.open().values_list("household__number", "ledger"))
        return households, people, incomes, cases, ledgers

    before = snapshot()
    assert len(before[3]) == 2 and before[3][0][-1] == ("01", "09")
    exported = jobs.export_national(user=operator)
    # An empty county: the registry is emptied, then the file is imported.
    MonitoringCase.objects.all().delete()
    LedgerSpan.objects.all().delete()
    IncomeRecord.objects.all().delete()
    Household.objects.update(head=None)
    Person.objects.all().delete()
    Household.objects.all().delete()
    job = run_import(operator, exported, name="export.xlsx")
    assert job.state == ImportState.DONE, job.errors
    assert snapshot() == before


def test_the_roles(areas, cadre, operator):
    data = SimpleUploadedFile("a.xlsx", f.workbook([]))
    with pytest.raises(NotAllowed):
        jobs.submit(actor=cadre, upload=data, layout="national", dry_run=True)
    with pytest.raises(ValidationError):
        jobs.submit(actor=operator, upload=data, layout="nope", dry_run=True)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("a.csv", b"a,b\n", ".xlsx"),
        ("a.xlsx", b"just some text, not a workbook", "不是有效的 Excel"),
    ],
)
def test_files_that_are_not_workbooks_are_refused(areas, operator, run_import, name, data, words):
    try:
        job = run_import(operator, data, name=name)
    except ValidationError as exc:
        assert words in str(exc.message_dict["file"])
        return
    assert job.state == ImportState.FAILED and words in job.errors[0]["message"]
    assert counts() == (0, 0, 0)


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = content if item.filename == name else source.read(item.filename)
            target.writestr(item.filename, body)
    return out.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>"""


@pytest.mark.parametrize("part", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_xml_bombs_and_external_entities_are_refused(areas, operator, run_import, part):
    data = _with_part(f.workbook(f.three_households(areas["v11"].code)), "xl/worksheets/sheet1.xml", part)
    job = run_import(operator, data)
    assert job.state == ImportState.FAILED
    assert "DTD" in job.errors[0]["message"]
    assert counts() == (0, 0, 0)


def test_a_zip_bomb_and_a_too_large_file_are_refused(areas, operator, run_import, settings):
    data = _with_part(f.workbook([]), "xl/worksheets/sheet1.xml", b"<a>" + b" " * (3 * 1024 * 1024) + b"</a>")
    settings.IMPORT_MAX_UNPACKED_BYTES = 2 * 1024 * 1024
    job = run_import(operator, data)
    assert job.state == ImportState.FAILED and "压缩炸弹" in job.errors[0]["message"]
    settings.IMPORT_MAX_BYTES = 100
    with pytest.raises(ValidationError) as refused:
        run_import(operator, data)
    assert "文件过大" in str(refused.value.message_dict["file"])


def test_the_row_limit(areas, operator, run_import, settings):
    settings.IMPORT_MAX_ROWS = 4
    job = run_import(operator, f.workbook(f.three_households(areas["v11"].code)))
    assert job.state == ImportState.FAILED and "行数超过上限" in job.errors[0]["message"]
    assert counts() == (0, 0, 0)


def test_the_openpyxl_reader_reads_the_same_rows(areas, tmp_path):
    from households.imports import reader

    path = tmp_path / "a.xlsx"
    path.write_bytes(f.workbook(f.three_households(areas["v11"].code)))
    calamine = reader.open_sheet(path, engine="calamine")
    plain = reader.open_sheet(path, engine="openpyxl")
    assert calamine.header == plain.header
    assert [(n, [reader.cell(v) for v in values]) for n, values in calamine.rows] == [
        (n, [reader.cell(v) for v in values]) for n, values in plain.rows
    ]


def test_every_field_has_a_national_header():
    assert set(layouts.NATIONAL_HEADERS) == set(layouts.BY_KEY)


def test_the_real_run_reuses_a_passed_dry_run_and_checks_the_registry_again(
    areas, operator, run_import, monkeypatch
):
    from households.imports import validate

    v = areas["v11"].code
    rows = f.three_households(v)
    data = f.workbook(rows)
    dry = run_import(operator, data, dry_run=True)
    assert dry.state == ImportState.CHECKED and dry.plan_file and len(dry.sha256) == 64

    # the row checks are not run again for the same bytes: only the registry's
    def no_row_checks(*args, **kwargs):
        raise AssertionError("the file was checked row by row again")

    monkeypatch.setattr(validate, "check", no_row_checks)
    real = run_import(operator, data)
    assert real.state == ImportState.DONE, real.errors
    assert real.checked_from_id == dry.pk and real.summary["created"]["households"] == 3

    # a person registered in another household since the dry run is caught by the registry
    # check, not moved: a second dry run of a file naming a registered person elsewhere
    monkeypatch.undo()
    moved = f.three_households(v)
    for row in moved:
        row["户编号"] = row["户编号"].replace(v, f"{v}9")
    dry2 = run_import(operator, f.workbook(moved), dry_run=True)
    assert dry2.state == ImportState.FAILED  # every ID number is registered in another household now


def test_a_tampered_or_stale_dry_run_is_not_reused(areas, operator, run_import):
    from django.core.files.base import ContentFile

    from households.models import ImportJob

    v = areas["v11"].code
    data = f.workbook(f.three_households(v))
    dry = run_import(operator, data, dry_run=True)
    blob = dry.plan_file.read()
    dry.plan_file.close()
    dry.plan_file.save("plan.bin", ContentFile(blob[:64] + blob[64:][::-1]), save=True)
    real = run_import(operator, data)
    assert real.state == ImportState.DONE and real.checked_from_id is None  # checked again

    # a mapping added after the dry run changes what the rows mean: checked again
    dry = run_import(operator, data, dry_run=True)
    ImportColumnMapping.objects.create(layout="national", header="户主电话", field="household.phone")
    real = run_import(operator, data)
    assert real.state == ImportState.DONE and real.checked_from_id is None
    # another layout, another area, or a dry run that found errors is never reused
    assert not ImportJob.objects.filter(checked_from__isnull=False).exists()


def test_import_a_checked_file_without_uploading_it_again(areas, operator, cadre, run_import, django_capture_on_commit_callbacks):
    v = areas["v11"].code
    dry = run_import(operator, f.workbook(f.three_households(v)), dry_run=True)
    with pytest.raises(NotAllowed):
        jobs.apply_checked(actor=cadre, source=dry)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.apply_checked(actor=operator, source=dry)
    job.refresh_from_db()
    assert job.state == ImportState.DONE and job.checked_from_id == dry.pk and counts() == (3, 6, 3)
    with pytest.raises(ValidationError):
        jobs.apply_checked(actor=operator, source=job)  # a real run is not a dry run
