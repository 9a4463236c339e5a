"""Every key the template reader fills, in order, for both formats — and the labels that find them.

The keys are fixed (issue 12); researchers join years and counties on them, so a key never changes name.

Applications table (第三部分, both formats): ``applications.ROW.COL``.
  COL: the seven applicant columns — 自然人 ``natural_person``; 法人或其他组织: 商业企业 ``business``,
  科研机构 ``research``, 社会公益组织 ``social_org``, 法律服务机构 ``legal_service``, 其他 ``other_org``;
  总计 ``total``.
  ROW: see ``APPLICATION_ROWS_2021`` / ``APPLICATION_ROWS_2019``. The only difference: the 2021 format splits
  (六)其他处理 into three rows ``other.overdue_correction``, ``other.unpaid_fee``, ``other.other``; the 2019 format
  prints it as one row, ``other``. A 2021-format report that prints (六) as one row (many do, e.g. 洪泽区 2023)
  gets ``applications.other.COL`` as well, its three sub-rows left None: the reader never splits a number.

Review and litigation table (第四部分, both formats): ``review.BLOCK.COL``, BLOCK ∈ reconsideration (行政复议),
  litigation_direct (未经复议直接起诉), litigation_after_reconsideration (复议后起诉); COL ∈ upheld (结果维持),
  corrected (结果纠正), other (其他结果), pending (尚未审结), total (总计).

Art. 20 tables (第二部分, 主动公开): ``art20.ITEM.COL``; their columns differ between the formats.
  2021 (〔2021〕30号), ``ART20_2021``:
    art20.regulations.{issued,repealed,in_force}          规章: 本年制发件数, 本年废止件数, 现行有效件数
    art20.normative_documents.{issued,repealed,in_force}  (行政)规范性文件: the same three
    art20.licensing.decisions                             (五) 行政许可: 本年处理决定数量
    art20.punishment.decisions                            (六) 行政处罚: 本年处理决定数量
    art20.enforcement.decisions                           (六) 行政强制: 本年处理决定数量
    art20.fees.amount                                     (八) 行政事业性收费: 本年收费金额（万元）, decimals allowed
  2019 (〔2019〕60号), ``ART20_2019``:
    art20.regulations.{made,published,total}              规章: 本年新制作数量, 本年新公开数量, 对外公开总数量
    art20.normative_documents.{made,published,total}      规范性文件: the same three
    art20.licensing.{previous,change,decisions}           (五) 行政许可: 上一年项目数量, 本年增/减, 处理决定数量
    art20.other_services.{previous,change,decisions}      (五) 其他对外管理服务事项: the same three
    art20.punishment.{previous,change,decisions}          (六) 行政处罚: the same three
    art20.enforcement.{previous,change,decisions}         (六) 行政强制: the same three
    art20.fees.{previous,change}                          (八) 行政事业性收费: 上一年项目数量, 本年增/减
    art20.procurement.{projects,amount}                   (九) 政府集中采购: 采购项目数量, 采购总金额
"""

from __future__ import annotations

import re
import unicodedata

APPLICANT_COLUMNS = ("natural_person", "business", "research", "social_org", "legal_service", "other_org", "total")
#: The six columns whose sum is the total column.
APPLICANTS = APPLICANT_COLUMNS[:-1]

#: The result rows (三、本年度办理结果) whose sum is (七)总计, 2021 format.
RESULT_ROWS_2021 = (
    "granted", "partly_granted",
    "refused.state_secret", "refused.prohibited_by_law", "refused.three_safeties", "refused.third_party",
    "refused.internal_affairs", "refused.process_info", "refused.enforcement_files", "refused.query_items",
    "unavailable.not_held", "unavailable.needs_creation", "unavailable.unclear",
    "not_handled.petition", "not_handled.repeated", "not_handled.publication", "not_handled.massive_repeated",
    "not_handled.confirmation",
    "other.overdue_correction", "other.unpaid_fee", "other.other",
)
OTHER_SUBROWS = ("other.overdue_correction", "other.unpaid_fee", "other.other")
RESULT_ROWS_2019 = tuple(r for r in RESULT_ROWS_2021 if r not in OTHER_SUBROWS) + ("other",)

APPLICATION_ROWS_2021 = ("new", "carried_over", *RESULT_ROWS_2021, "total", "carried_forward")
APPLICATION_ROWS_2019 = ("new", "carried_over", *RESULT_ROWS_2019, "total", "carried_forward")

REVIEW_BLOCKS = ("reconsideration", "litigation_direct", "litigation_after_reconsideration")
REVIEW_COLUMNS = ("upheld", "corrected", "other", "pending", "total")
#: The review table's data row: five columns for each of the three blocks.
REVIEW_WIDTH = len(REVIEW_BLOCKS) * len(REVIEW_COLUMNS)

#: Art. 20 items → their columns, in printed order.
ART20_2021: dict[str, tuple[str, ...]] = {
    "regulations": ("issued", "repealed", "in_force"),
    "normative_documents": ("issued", "repealed", "in_force"),
    "licensing": ("decisions",),
    "punishment": ("decisions",),
    "enforcement": ("decisions",),
    "fees": ("amount",),
}
ART20_2019: dict[str, tuple[str, ...]] = {
    "regulations": ("made", "published", "total"),
    "normative_documents": ("made", "published", "total"),
    "licensing": ("previous", "change", "decisions"),
    "other_services": ("previous", "change", "decisions"),
    "punishment": ("previous", "change", "decisions"),
    "enforcement": ("previous", "change", "decisions"),
    "fees": ("previous", "change"),
    "procurement": ("projects", "amount"),
}

TEMPLATES = ("2021", "2019")


def art20_items(template: str) -> dict[str, tuple[str, ...]]:
    return ART20_2019 if template == "2019" else ART20_2021


def application_rows(template: str) -> tuple[str, ...]:
    return APPLICATION_ROWS_2019 if template == "2019" else APPLICATION_ROWS_2021


def keys(template: str) -> list[str]:
    """Every key a reading of ``template`` holds, in the order the template prints them."""
    art20 = [f"art20.{item}.{col}" for item, cols in art20_items(template).items() for col in cols]
    apps = [f"applications.{row}.{col}" for row in application_rows(template) for col in APPLICANT_COLUMNS]
    review = [f"review.{block}.{col}" for block in REVIEW_BLOCKS for col in REVIEW_COLUMNS]
    return art20 + apps + review


# ---- labels ------------------------------------------------------------------------------------------------------
# Matched against a label normalised by ``normalise_label`` (NFKC, no whitespace or quotes, numbering
# "1、"/"1．"/"1)"/"(1)" → "1."), so full/half-width brackets, spaces inside words and 三安全一稳定's quotes do not
# matter. Wordings are patterns, not lists: portals reword the template (本年度新收, 结转下一年度, 全部公开).

#: An optional leading 1. / (一) / 一、 / 第一、: the numbering a label may carry.
_N = r"^(?:\d{1,2}\.?|\([一二三四五六七八九十]\)|第?[一二三四五六七八九十]{1,2}[、.]?)?"

#: Application row labels → row key, tried in order (the first that matches wins). A key of None marks a
#: group heading (三、本年度办理结果, (三)不予公开 …): it ends the row before it and takes no values — except
#: (六)其他处理, which is the 2019 format's single row ``other`` when values follow it.
APPLICATION_LABELS: tuple[tuple[str | None, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern))
    for key, pattern in (
        ("new", r"本年度?新收|" + _N + r"新收.{0,12}申请"),
        ("carried_over", r"上一?年度?结转|结转上一?年"),
        ("carried_forward", r"结转(?:至|到|入)?下一?年"),
        ("total", _N + r"(?:总计|合计)$"),
        ("partly_granted", r"部分公开"),
        ("granted", _N + r"(?:予以公开|全部公开|同意公开)"),
        (None, _N + r"不予公开$"),
        ("refused.state_secret", r"国家秘密"),
        ("refused.prohibited_by_law", r"其他法律|禁止公开|法规禁止"),
        ("refused.three_safeties", r"三安全"),
        ("refused.third_party", r"第三方"),
        ("refused.internal_affairs", r"内部事务"),
        ("refused.process_info", r"过程性"),
        ("refused.enforcement_files", r"执法案卷"),
        ("refused.query_items", r"查询事项"),
        (None, _N + r"无法提供$"),
        ("unavailable.not_held", r"不掌握"),
        ("unavailable.needs_creation", r"另行制作|没有现成"),
        ("unavailable.unclear", r"不明确"),
        (None, _N + r"不予处理$"),
        ("not_handled.petition", r"信访"),
        ("other.overdue_correction", r"不补正"),
        ("other.unpaid_fee", r"收费通知|缴纳费用"),
        ("not_handled.massive_repeated", r"大量反|" + _N + r"无正当理由$"),
        ("not_handled.repeated", _N + r"重复申请"),
        ("not_handled.publication", r"出版物"),
        ("not_handled.confirmation", r"确认|重新出具"),
        ("other", _N + r"其他处理$"),
        ("other.other", _N + r"其他$"),
        (None, r"办理结果$"),
    )
)

#: Applicant column headers → column key (a header cell must match whole, so 法人或其他组织 is not 其他).
APPLICANT_HEADERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern))
    for key, pattern in (
        ("natural_person", r"自然人"),
        ("business", r"商业企业"),
        ("research", r"科研机构"),
        ("social_org", r"社会公益组织"),
        ("legal_service", r"法律服务机构"),
        ("other_org", r"其他"),
        ("total", r"总计|合计"),
    )
)

#: Art. 20 row labels (whole label, numbering and a trailing 事项/项目 allowed) → item.
ART20_LABELS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (item, re.compile(_N + f"(?:{pattern})(?:事项|项目)?"))
    for item, pattern in (
        ("regulations", r"规章"),
        ("normative_documents", r"(?:\(?行政\)?)?规范性文件"),
        ("licensing", r"行政许可"),
        ("other_services", r"其他对外管理服务事项"),
        ("punishment", r"行政处罚"),
        ("enforcement", r"行政强制"),
        ("fees", r"行政事业性收费"),
        ("procurement", r"政府集中采购"),
    )
)

#: Column headers only one format's Art. 20 tables print: they say which template a report follows.
ART20_HEADERS = {
    "2021": re.compile(r"本年度?(?:新)?制发|本年度?废止|现行有效|本年度?处理决定数|本年度?收费金额"),
    "2019": re.compile(
        r"本年度?新制作|本年度?新公开|对外公开总数|上一年度?项目数|采购项目数|采购总金额|第二十条第\(九\)项"
    ),
}

#: The review table's first header cell.
REVIEW_HEADER = re.compile(r"^行政复议$")
#: The review table's sub-headers (a whole cell each): a block over its five columns, then the columns.
REVIEW_BLOCK_HEADERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (block, re.compile(pattern))
    for block, pattern in (
        ("reconsideration", r"行政复议"),
        ("litigation_direct", r"未经(?:行政)?复议(?:直接)?(?:提起)?(?:起诉|诉讼)"),
        ("litigation_after_reconsideration", r"(?:行政)?复议后(?:提起)?(?:起诉|诉讼)"),
    )
)
REVIEW_COLUMN_HEADERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (column, re.compile(pattern))
    for column, pattern in (
        ("upheld", r"(?:结果)?维持"),
        ("corrected", r"(?:结果)?纠正"),
        ("other", r"其他(?:结果)?"),
        ("pending", r"尚未审结|未审结"),
        ("total", r"总计|合计"),
    )
)

_QUOTES = str.maketrans("", "", "“”\"'‘’「」『』")
#: Variant characters reports use for the template's: 其它 for 其他.
_VARIANTS = str.maketrans({"它": "他"})


def normalise_label(text: str) -> str:
    label = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).translate(_QUOTES).translate(_VARIANTS)
    return re.sub(r"^(?:\((\d{1,2})\)|(\d{1,2})[、.．,)])", lambda m: f"{m[1] or m[2]}.", label)


def application_row(label: str) -> tuple[bool, str | None]:
    """(matched, key) for a label; (True, None) is a group heading, (False, None) not an application label."""
    text = normalise_label(label)
    for key, pattern in APPLICATION_LABELS:
        if pattern.search(text):
            return True, key
    return False, None


def applicant_column(header: str) -> str | None:
    text = normalise_label(header)
    for key, pattern in APPLICANT_HEADERS:
        if pattern.fullmatch(text):
            return key
    return None


def _whole(text: str, table: tuple[tuple[str, re.Pattern[str]], ...]) -> str | None:
    return next((key for key, pattern in table if pattern.fullmatch(text)), None)


def review_block(header: str) -> str | None:
    return _whole(normalise_label(header), REVIEW_BLOCK_HEADERS)


def review_column(header: str) -> str | None:
    return _whole(normalise_label(header), REVIEW_COLUMN_HEADERS)


def art20_item(label: str) -> str | None:
    text = normalise_label(label)
    for item, pattern in ART20_LABELS:
        if pattern.fullmatch(text):
            return item
    return None


def all_keys() -> list[str]:
    """Every key either template can fill, 2021's order first: the columns of a dataset that holds both formats
    (a 2021 report that prints (六) as one row fills ``applications.other.*`` too)."""
    return list(dict.fromkeys([*keys("2021"), *keys("2019")]))
