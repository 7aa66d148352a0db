"""Error messages and notices in the user's language: Chinese by default, English on request.

honorcalc raises its errors in English (`honorcalc.errors`), where they are written; this
module says them in Chinese where they reach the user, from a catalogue: one entry per
message shape, an English template with named placeholders and its Chinese template.

    错误：scores.csv 第 6 行：列「points」：应为数字，实际为 '缺'

Placeholders keep what they hold as given (file names, ids, column names, values); a
placeholder written ``{name:kind}`` matches or converts what it holds: ``msg`` translates it
with the whole catalogue (a clause inside a message); ``table``, ``noun``, ``list``,
``reason`` and ``pytype`` name a table, a kind of row, a list, a system's reason or a type
in Chinese; ``rows`` lists row numbers, ``rowref`` names another row (``row 7``,
``评分-C2026Q1 row 7``), ``pairs`` the column names read as others; ``n`` is a number,
``word`` a name, ``repr`` a value as Python writes it, ``or`` a choice of quoted values.

A `ValidationError` is translated case by case: its place, its column, and its
``expected`` text (`EXPECTED`), so a new ``expected`` text needs one entry. An English text
that no entry matches is shown as it is, after a Chinese word saying so: never half
translated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import (
    HonorcalcError,
    InputError,
    ParamError,
    Problem,
    ValidationError,
    shown_value,
)

__all__ = [
    "LANGS", "MESSAGES", "EXPECTED", "NOTICES", "localize_error", "localize_notice",
    "localize_message", "localize_expected", "error_prefix", "untranslated",
]

LANGS = ("zh", "en")

#: Tables and kinds of rows, for ``{x:table}`` and ``{x:noun}`` placeholders.
TABLES_ZH = {
    "units": "测评单位", "indicators": "测评指标", "rounds": "测评轮次", "scores": "评分",
    "deductions": "扣分", "surveys": "满意度调查", "responsibility": "责任关系",
}
LISTS_ZH = {"red": "红榜", "black": "黑榜", "escalated": "启动核查名单"}
NOUNS_ZH = {"unit": "单位", "indicator": "指标", "round": "测评轮次", "rater": "评分人", "code": "扣分代码"}

#: Python's types as a YAML file gives them, for ``{x:pytype}``.
PYTYPES_ZH = {"list": "列表", "str": "一段文字", "int": "整数", "float": "数", "bool": "真假值", "dict": "映射"}

#: Reasons given by the operating system or a library, for ``{x:reason}`` (others are kept as given).
REASONS_ZH = {
    "No such file or directory": "文件或文件夹不存在", "Permission denied": "没有访问权限",
    "Is a directory": "是文件夹", "Not a directory": "不是文件夹", "File is not a zip file": "不是 ZIP 文件",
    "Too many levels of symbolic links": "符号链接层数过多", "Input/output error": "读写错误",
}

#: Said before an English text that the catalogue does not know.
UNTRANSLATED_ZH = "（以下为英文原文）"

# --------------------------------------------------------------------------- the catalogue
#
# (English template, Chinese template). Ordered specific-first: the first entry whose
# English template matches the whole text is used.

#: Messages of `InputError`, `ParamError` and click, without their location.
MESSAGES: list[tuple[str, str]] = [
    # -- files and folders
    ("file not found", "找不到该文件"),
    ("is a directory, not a file", "是文件夹，不是文件"),
    ("is not a regular file but {kind:msg}; give the table as an ordinary file",
     "不是普通文件，而是{kind}；请以普通文件提供该表"),
    ("a named pipe (FIFO)", "命名管道（FIFO）"), ("a socket", "套接字"), ("a device", "设备文件"),
    ("a special file", "特殊文件"),
    ("cannot be read ({reason:reason})", "无法读取（{reason}）"),
    ("dataset directory not found: {path}", "找不到数据文件夹：{path}"),
    ("expected a dataset folder or one workbook (.xlsx), got another kind of file",
     "应为数据文件夹或一个工作簿（.xlsx），实际是其他类型的文件"),
    ("columns '{a}' and '{b}' both give {name}; which one counts? delete or rename one",
     "列 '{a}' 和 '{b}' 都是 {name}，无法确定以哪一列为准；请删除或改名其中一列"),
    ("expected a dataset directory, got a file: {path}", "应为数据文件夹，实际是一个文件：{path}"),
    ("cannot list the dataset directory ({reason:reason})", "无法列出数据文件夹的内容（{reason}）"),
    ("table '{table}' is given by several files ({names}); keep exactly one",
     "表 {table} 由多个文件提供（{names}）；请只保留一个"),
    ("required table '{table}' is missing: expected {a}, {b} or {c} (or {zh}.csv, .xlsx, .parquet){more:msg}",
     "缺少必需的表 {table}：应有 {a}、{b} 或 {c}（或 {zh}.csv、.xlsx、.parquet）{more}"),
    ("; found {other}, which is not a supported type: save it from Excel as .xlsx",
     "；找到的 {other} 不是支持的文件类型：请在 Excel 中另存为 .xlsx"),
    ("; found {other}, which is not a supported type", "；找到的 {other} 不是支持的文件类型"),
    ("unsupported file type '{suffix}'; use .csv, .xlsx or .parquet",
     "不支持的文件类型 '{suffix}'；请使用 .csv、.xlsx 或 .parquet"),
    ("is too large to read in the memory available; lower {a} or {b}, or split the data",
     "太大，现有内存无法读取；请调低 {a} 或 {b}，或拆分数据"),
    # -- limits
    ("environment variable {variable}: expected a whole number of {unit:msg} above 0 and at most {largest}, "
     "got {raw}",
     "环境变量 {variable}：应为大于 0、不超过 {largest} 的整数（单位：{unit}），实际为 {raw}"),
    ("environment variable {variable}: expected a number of {unit:msg} above 0 and at most {largest}, got {raw}",
     "环境变量 {variable}：应为大于 0、不超过 {largest} 的数（单位：{unit}），实际为 {raw}"),
    ("megabytes", "MB"), ("rows", "行"),
    ("{what:msg} {n:n} rows, above the limit of {limit:n} rows for one table: split the data (one dataset per "
     "city) or raise the limit with the environment variable {variable}",
     "{what} {n} 行，超过单表 {limit} 行的上限：请拆分数据（每个城市一套数据），或用环境变量 {variable} 调高上限"),
    ("holds", "有"), ("has a sheet of", "有一个工作表有"),
    ("{what:msg} {size:n} MB, above the limit of {limit:n} MB for one table file: split the data (one dataset per "
     "city) or raise the limit with the environment variable {variable}",
     "{what} {size} MB，超过单个表文件 {limit} MB 的上限：请拆分数据（每个城市一套数据），"
     "或用环境变量 {variable} 调高上限"),
    ("is", "大小为"), ("unpacks to", "解压后为"),
    # -- text files
    ("is neither UTF-8 nor GBK/GB18030 text", "既不是 UTF-8 文本，也不是 GBK/GB18030 文本"),
    ("is UTF-16 text; save it as 'CSV UTF-8' (or plain CSV) instead",
     "是 UTF-16 文本；请另存为“CSV UTF-8”（或普通 CSV）"),
    ("starts with a UTF-8 byte-order mark but is not UTF-8 at byte {n}",
     "以 UTF-8 字节顺序标记开头，但第 {n} 个字节处不是 UTF-8"),
    ("mixes two text encodings: line {good} is UTF-8 but line {bad} is not (GBK?); save the whole file again "
     "in one encoding (Excel: 'CSV UTF-8')",
     "混用了两种文字编码：第 {good} 行是 UTF-8，第 {bad} 行不是（可能是 GBK）；"
     "请将整个文件以同一种编码重新保存（Excel：“CSV UTF-8”）"),
    ("is {what:msg}, not CSV text: {fix:msg}", "是 {what}，不是 CSV 文本：{fix}"),
    ("an XLSX workbook (or another ZIP archive)", "XLSX 工作簿（或其他 ZIP 压缩包）"),
    ("a Parquet file", "Parquet 文件"),
    ("an Excel 97-2003 workbook (.xls)", "Excel 97-2003 工作簿（.xls）"),
    ("rename it {name}", "请改名为 {name}"),
    ("save it from Excel as .xlsx or as 'CSV UTF-8'", "请在 Excel 中另存为 .xlsx 或“CSV UTF-8”"),
    ("is not a CSV text file (it contains binary data)", "不是 CSV 文本文件（含有二进制数据）"),
    ("the header row is too long (over {n} characters, or a column name over {m}); is this the right file?",
     "表头行过长（超过 {n} 个字符，或某个列名超过 {m} 个字符）；请确认文件是否正确"),
    ("the header row is not where expected: the column names ({names}) are on row {row}, not row 1 (a title "
     "row above the header?); delete the row(s) above the header",
     "表头行不在应有的位置：列名（{names}）在第 {row} 行，而不在第 1 行（表头上方是否有标题行？）；"
     "请删除表头上方的行"),
    ("row 1 is blank; expected the header row naming the columns", "第 1 行是空行；第 1 行应为列名所在的表头行"),
    ("the header names this column twice (columns {a} and {b}); which one counts? rename or delete one",
     "表头中此列出现了两次（第 {a} 列和第 {b} 列），无法确定以哪一列为准；请改名或删除其中一列"),
    ("the delimiter looks wrong: the header row has no commas but {n} {name:msg}; save the file as "
     "comma-separated CSV (Excel: 'CSV UTF-8 (Comma delimited)')",
     "分隔符有误：表头行中没有逗号，却有 {n} 个{name}；请将文件另存为以逗号分隔的 CSV"
     "（Excel：“CSV UTF-8（逗号分隔）”）"),
    ("semicolons", "分号"), ("tabs", "制表符"), ("vertical bars", "竖线"), ("full-width commas (，)", "全角逗号（，）"),
    ("is empty; expected a header row naming the columns", "是空的；应有列名所在的表头行"),
    ("cannot be parsed as CSV: its header row could not be read", "无法按 CSV 解析：读不出表头行"),
    ("cannot be parsed as CSV: {detail}", "无法按 CSV 解析：{detail}"),
    ('has {n} fields but the header has {m}: quote a value that contains a comma ("1,200"), and give every '
     'column a name in the header',
     '有 {n} 个字段，而表头只有 {m} 个：含逗号的值请加引号（"1,200"），表头中每一列都应有列名'),
    ('a quote (") opens a value here that never closes; remove the stray quote or double it ("")',
     '此处的引号（"）开始了一个值却没有结束；请删除多余的引号，或将其写成两个引号（""）'),
    # -- workbooks and Parquet
    ("is an Excel 97-2003 workbook (.xls), not XLSX: save it from Excel as .xlsx",
     "是 Excel 97-2003 工作簿（.xls），不是 XLSX：请在 Excel 中另存为 .xlsx"),
    ("is not an XLSX workbook (an .xlsx file is a ZIP archive); if it is CSV text, name it {name}",
     "不是 XLSX 工作簿（.xlsx 文件是 ZIP 压缩包）；如果它是 CSV 文本，请改名为 {name}"),
    ("is a damaged ZIP archive, not a readable XLSX workbook", "是损坏的 ZIP 压缩包，不是可读取的 XLSX 工作簿"),
    ("cannot be read as an XLSX workbook ({reason:reason})", "无法作为 XLSX 工作簿读取（{reason}）"),
    ("has several sheets ({names}); keep one, or name the one to use '{table}'",
     "有多个工作表（{names}）；请只保留一个，或将要使用的工作表命名为 '{table}'"),
    ("cannot be read as Parquet ({reason:reason})", "无法作为 Parquet 文件读取（{reason}）"),
    # -- the inputs archive of a run
    ("is not a readable ZIP archive ({reason:reason})", "不是可读取的 ZIP 压缩包（{reason}）"),
    ("unexpected member {name} in the inputs archive: expected table files such as scores.csv, or one workbook",
     "输入数据压缩包中有多余的成员 {name}：应只有 scores.csv 这样的表文件，或一个工作簿"),
    ("member {name} of the inputs archive is a link, not a file", "输入数据压缩包的成员 {name} 是链接，不是文件"),
    ("table '{table}' is given twice in the inputs archive ({name})", "输入数据压缩包中表 {table} 出现了两次（{name}）"),
    ("member {name} of the inputs archive is encrypted", "输入数据压缩包的成员 {name} 已加密"),
    ("member {name} of the inputs archive unpacks to {size} MB, above the limit of {limit} MB for one table "
     "file (environment variable {variable})",
     "输入数据压缩包的成员 {name} 解压后为 {size} MB，超过单个表文件 {limit} MB 的上限（环境变量 {variable}）"),
    ("member {name} of the inputs archive is compressed {ratio} to 1 ({size} MB in {packed} MB); no table "
     "compresses more than {limit} to 1: refused as a zip bomb",
     "输入数据压缩包的成员 {name} 压缩比为 {ratio} 比 1（{packed} MB 解压为 {size} MB）；"
     "表文件的压缩比不会超过 {limit} 比 1：按压缩炸弹拒绝"),
    ("member {name} of the inputs archive inflates beyond the {n} bytes its header declares: the archive is "
     "damaged or forged",
     "输入数据压缩包的成员 {name} 解压后超出其头部声明的 {n} 字节：压缩包已损坏或被伪造"),
    ("cannot unpack member {name} of the inputs archive: {target} exists already",
     "无法解压输入数据压缩包的成员 {name}：{target} 已存在"),
    ("member {name} of the inputs archive cannot be read ({reason:reason})", "无法读取输入数据压缩包的成员 {name}（{reason}）"),
    # -- parameters
    ("params file not found", "找不到参数文件"),
    ("expected a YAML file, got a directory", "应为 YAML 文件，实际是一个文件夹"),
    ("params file is not UTF-8 text", "参数文件不是 UTF-8 文本"),
    ("invalid YAML: {problem:msg}", "YAML 格式有误：{problem}"),
    ("duplicate key '{key}'", "键 '{key}' 重复"),
    ("a key must be a name, not {what:msg}", "键必须是名称，不能是{what}"),
    ("a list", "列表"), ("a mapping", "映射"),
    ("found character '\\t' that cannot start any token", "出现了不能作为开头的制表符（YAML 缩进不能用制表符）"),
    ("found character {char} that cannot start any token", "出现了不能作为开头的字符 {char}"),
    ("could not determine a constructor for the tag '{tag}'", "无法识别标签 '{tag}'（参数文件中不允许使用此类标签）"),
    ("could not determine a constructor for the tag {tag}", "无法识别标签 {tag}（参数文件中不允许使用此类标签）"),
    ("mapping values are not allowed here", "此处不允许出现键值对"),
    ("expected <block end>, but found {token}", "应为块结束，实际为 {token}"),
    ("did not find expected key", "缺少应有的键"),
    ("expected the node content, but found {token}", "此处应有内容，实际为 {token}"),
    ("expected ',' or ']', but got {token}", "应为 ',' 或 ']'，实际为 {token}"),
    ("expected ',' or '}', but got {token}", "应为 ',' 或 '}}'，实际为 {token}"),
    ("found unexpected end of stream", "文件意外结束（引号或括号未闭合？）"),
    ("found unexpected ':'", "出现了多余的 ':'"),
    ("could not find expected ':'", "缺少应有的 ':'"),
    ("found unknown escape character {char}", "出现了无法识别的转义字符 {char}"),
    ("expected a single document in the stream, but found another document", "文件中只应有一个 YAML 文档，却有多个"),
    ("did not find expected '-' indicator", "缺少应有的 '-' 列表标记"),
    ("found undefined alias {alias}", "出现了未定义的别名 {alias}"),
    ("found unhashable key", "出现了不能作为键的值"),
    ("expected a mapping of parameters, got {type:pytype}", "参数文件应为“键: 值”的形式，实际为{type}"),
    ("the YAML expands to more than {n} values (nested aliases?); refused",
     "该 YAML 展开后超过 {n} 个值（是否嵌套了别名？）；拒绝读取"),
    ("--set expects key=value, got {item}", "--set 的格式应为 键=值，实际为 {item}"),
    ("unknown key in --set; did you mean '{near}'?", "--set 中的键不存在；是否应为 '{near}'？"),
    ("unknown key in --set", "--set 中的键不存在"),
    ("'{key}' has no sub-keys", "'{key}' 没有下级键"),
    ("unknown key; did you mean '{near}'? (valid here: {valid})", "未知的键；是否应为 '{near}'？（此处可用：{valid}）"),
    ("unknown key (valid here: {valid})", "未知的键（此处可用：{valid}）"),
    ("required but missing", "必须填写，但未填写"),
    ("retired: stability now draws every source's error from its G-study (fairness.measurement_error)",
     "已停用：稳定性分析现在按各来源的概化研究（G-study）抽取误差（fairness.measurement_error）"),
    ("retired: other weights are a policy question, answered by weights.csv (fairness.weight_shift), not mixed "
     "into stability",
     "已停用：换用其他权重属于政策问题，由 weights.csv 回答（fairness.weight_shift），不再并入稳定性分析"),
    ("retired: rank intervals are rank confidence sets at fairness.rank_coverage",
     "已停用：名次区间现为 fairness.rank_coverage 水平下的名次置信集"),
    ("retired: 'cannot tell' now follows from the rank confidence sets and the score's interval at "
     "fairness.rank_coverage",
     "已停用：“无法区分”现由 fairness.rank_coverage 水平下的名次置信集和得分区间判定"),
    ("{n} problems in the parameters:", "参数有 {n} 处问题："),
    ("round '{round}' is not in {file}; did you mean '{near}'?", "测评轮次 '{round}' 不在 {file} 中；是否应为 '{near}'？"),
    ("round '{round}' is not in {file}; known rounds: {known}", "测评轮次 '{round}' 不在 {file} 中；已有的轮次：{known}"),
    ("round '{round}' has no scores in {file}", "测评轮次 '{round}' 在 {file} 中没有评分"),
    ("category {category} is not an indicator category (categories: {known})",
     "{category} 不是指标类别（现有类别：{known}）"),
    ("{needed:msg}, more than {at_hand:msg}; {advice:msg}", "{needed}，超过{at_hand}；{advice}"),
    ("{n} simulations would not fit in {at_hand:msg}:", "有 {n} 项模拟超出{at_hand}："),
    ("{needed:msg}; {advice:msg}", "{needed}；{advice}"),
    ("{what:msg} would need about {size} ({detail:msg})", "{what}约需 {size}（{detail}）"),
    ("the laggard null", "后进单位的零假设模拟"), ("the stability replicates", "稳定性重复抽样"),
    ("the rank confidence sets", "名次置信集"), ("the G-study bootstrap", "概化研究（G-study）自助抽样"),
    ("the group comparison's permutations", "组间比较的置换检验"),
    ("the rater agreement statistics", "评分人一致性统计"),
    ("{a} null cities × {b} units", "{a} 个模拟城市 × {b} 个单位"),
    ("{a} replicates × {b} units", "{a} 次重复 × {b} 个单位"),
    ("a ranking group of {a} units × {b} draws (fairness.rank_draws), beside the replicates",
     "一个 {a} 个单位的排名组 × {b} 次抽取（fairness.rank_draws），另加重复抽样"),
    ("{a} resamples of up to {b} units", "{a} 次重抽样，每次最多 {b} 个单位"),
    ("{a} permutations × {b} units", "{a} 次置换 × {b} 个单位"),
    ("{a} scopes × {b} cells × {c} slots", "{a} 个范围 × {b} 个单元 × {c} 个评分人位"),
    ("the {size} of memory at hand ({source:msg})", "现有的 {size} 内存（{source}）"),
    ("set by {variable}", "由 {variable} 设定"),
    ("not measurable here; set {variable}", "此处无法测得；请设置 {variable}"),
    ("available now; {variable} sets another amount", "当前可用量；可用 {variable} 另行设定"),
    ("lower {parameter} to {n} or less", "请将 {parameter} 调低到 {n} 或以下"),
    ("even at its smallest ({parameter} = {n}) it would need {size}: run it with more memory, or on less data "
     "(one dataset per city)",
     "即使取最小值（{parameter} = {n}）也需要 {size}：请在内存更大的机器上运行，或减少数据（每个城市一套数据）"),
    # pydantic, through the parameters
    ("Input should be a valid integer, unable to parse string as an integer",
     "应为整数，该文字无法读作整数"),
    ("Input should be a valid integer, got a number with a fractional part", "应为整数，实际是带小数的数"),
    ("Input should be a valid integer", "应为整数"),
    ("Input should be a valid number, unable to parse string as a number", "应为数字，该文字无法读作数字"),
    ("Input should be a valid number", "应为数字"),
    ("Input should be a finite number", "应为有限的数"),
    ("Input should be a valid string", "应为文字"),
    ("Input should be a valid boolean, unable to interpret input", "应为 true 或 false，无法识别所填内容"),
    ("Input should be a valid boolean", "应为 true 或 false"),
    ("Input should be a valid list", "应为列表"),
    ("Input should be a valid tuple", "应为列表"),
    ("Input should be a valid dictionary or instance of {model:word}", "应为一组参数（键: 值）"),
    ("Input should be a valid dictionary", "应为一组参数（键: 值）"),
    ("Input should be greater than or equal to {n:n}", "应大于或等于 {n}"),
    ("Input should be greater than {n:n}", "应大于 {n}"),
    ("Input should be less than or equal to {n:n}", "应小于或等于 {n}"),
    ("Input should be less than {n:n}", "应小于 {n}"),
    ("Input should be {choices:or}", "应为 {choices}"),
    ("Unable to parse input string as an integer, exceeded maximum size", "数值过大，无法读作整数"),
    ("Tuple should have at most {n} items after validation, not {m}", "最多应有 {n} 项，实际有 {m} 项"),
    ("Tuple should have at least {n} items after validation, not {m}", "至少应有 {n} 项，实际有 {m} 项"),
    ("Field required", "必须填写"),
    ("Extra inputs are not permitted", "不允许有此项"),
    ("the source weights sum to zero; at least one must be positive", "各来源权重之和为零；至少有一个应为正数"),
    ("red_min ({a}) must be above black_max ({b}); otherwise a unit could be on both lists",
     "red_min（{a}）必须高于 black_max（{b}）；否则同一单位可能同时上红榜和黑榜"),
    ("weight > 0 needs rounds ≥ 1 (which trailing rounds to blend)",
     "weight > 0 时 rounds 必须 ≥ 1（指定合并前几轮的结果）"),
    ("enabled needs at least one code under codes", "启用时 codes 下至少应有一个代码"),
    ("cuts must be (好, 较好) with 好 ≥ 较好, got {cuts}", "cuts 应为（好, 较好），且 好 ≥ 较好，实际为 {cuts}"),
    ("shares must be 0 < 好 ≤ 较好 ≤ 1 (cumulative), got {shares}",
     "shares 应满足 0 < 好 ≤ 较好 ≤ 1（累计比例），实际为 {shares}"),
    ("laggard_k ({k}) must be at most laggard_n ({n})", "laggard_k（{k}）不能大于 laggard_n（{n}）"),
    ("funnel_levels must differ, got {levels}", "funnel_levels 的各水平不能相同，实际为 {levels}"),
    ("{name} must be one line of text, got {value}", "{name} 应为一行文字，实际为 {value}"),
    ("rectification must be text, without control characters other than line breaks",
     "rectification 应为文字，除换行外不能含控制字符"),
    ("{msg:msg}, got {value:repr}", "{msg}，实际为 {value}"),
    # -- the notice template
    ("the notice template {path} does not exist", "通报模板 {path} 不存在"),
    ("the notice template {path} is a folder, not a file", "通报模板 {path} 是文件夹，不是文件"),
    ("the notice template {path} is not UTF-8 text", "通报模板 {path} 不是 UTF-8 文本"),
    ("the notice template {path} cannot be read ({reason:reason})", "无法读取通报模板 {path}（{reason}）"),
    ("{where}: not a valid template: {detail}", "{where}：模板格式有误：{detail}"),
    ("{where}: the template fails: {detail}", "{where}：模板套用失败：{detail}"),
    # -- the demo city
    ("is a symbolic link; the demo city is never written through a link: give a real folder",
     "是符号链接；示范城市数据不会经由链接写入：请指定一个真实的文件夹"),
    ("exists and is not a folder", "已存在且不是文件夹"),
    ("is a symbolic link; the demo city is never written through a link: remove it first",
     "是符号链接；示范城市数据不会经由链接写入：请先删除它"),
    ("is a folder; give the workbook's file name (demo.xlsx)", "是文件夹；请给出工作簿的文件名（demo.xlsx）"),
    ("exists; writing the demo city would overwrite it. Give a new file name, or --force",
     "已存在；写入示范城市数据会将其覆盖。请换一个新文件名，或加 --force"),
    ("{name} is a symbolic link; the demo city is never written through a link: remove it first",
     "{name} 是符号链接；示范城市数据不会经由链接写入：请先删除它"),
    ("is not empty ({shown} and {n} more); writing the demo city would overwrite a dataset. Give an empty or new "
     "folder, or --force to overwrite its <table>.csv files",
     "不是空文件夹（{shown} 等，另有 {n} 项）；写入示范城市数据会覆盖已有数据。请指定一个空的或新的文件夹，"
     "或加 --force 覆盖其中的 <表名>.csv 文件"),
    ("is not empty ({shown}); writing the demo city would overwrite a dataset. Give an empty or new folder, "
     "or --force to overwrite its <table>.csv files",
     "不是空文件夹（{shown}）；写入示范城市数据会覆盖已有数据。请指定一个空的或新的文件夹，"
     "或加 --force 覆盖其中的 <表名>.csv 文件"),
    # -- runs, ledgers, publication
    ("run folder not found", "找不到运行结果文件夹"),
    ("not a run folder (no {manifest})", "不是运行结果文件夹（没有 {manifest}）"),
    ("unreadable manifest (not a JSON object)", "运行清单无法读取（不是 JSON 对象）"),
    ("unreadable manifest (no '{key}')", "运行清单无法读取（缺少 '{key}'）"),
    ("unreadable manifest ({reason})", "运行清单无法读取（{reason}）"),
    ("ledger not found", "找不到发布台账"),
    ("not a JSON object", "不是 JSON 对象"),
    ("not UTF-8 (byte {n} of the line)", "不是 UTF-8（该行第 {n} 个字节）"),
    ("not a JSON entry ({reason})", "不是 JSON 条目（{reason}）"),
    ("round '{round}' is already published (ledger entry {seq}); to replace it, publish again with "
     "--supersede --reason \"…\"",
     "测评轮次 '{round}' 已经发布（台账第 {seq} 条）；如需替换，请加 --supersede --reason \"…\" 重新发布"),
    ("--supersede given, but round '{round}' has not been published",
     "给出了 --supersede，但测评轮次 '{round}' 尚未发布"),
    ("--supersede needs a --reason saying why the published list is replaced",
     "使用 --supersede 时须以 --reason 说明替换已发布榜单的理由"),
    ("the ledger is locked by another publication (waited {n} s for {lock}); publish again when it has finished",
     "发布台账正被另一次发布锁定（已等待 {n} 秒，锁文件 {lock}）；请待其完成后再发布"),
    ("cannot lock the ledger ({reason}: {lock})", "无法锁定发布台账（{reason}：{lock}）"),
    ("the ledger is damaged; fix it before publishing: {problem:msg}", "发布台账已损坏，请修复后再发布：{problem}"),
    # what a check of a ledger or a run finds (runs/ledger.py, runs/verify.py, runs/manifest.py)
    ("line {line}: entry seq {seq} where {expected} was expected (an entry was removed or reordered)",
     "第 {line} 行：条目序号为 {seq}，应为 {expected}（有条目被删除或调换了顺序）"),
    ("line {line}: previous_sha256 does not match the entry before it (an entry was removed, inserted or edited)",
     "第 {line} 行：previous_sha256 与上一条目不符（有条目被删除、插入或修改）"),
    ("line {line}: entry {seq} was edited (its sha256 differs)", "第 {line} 行：第 {seq} 条已被修改（sha256 不符）"),
    ("the published head {head} is not in the ledger (entries were removed)", "已公布的链头 {head} 不在台账中（有条目被删除）"),
    ("output {name} is missing", "输出文件 {name} 缺失"),
    ("output {name} was changed after the run (sha256 differs)", "输出文件 {name} 在运行之后被改动（sha256 不符）"),
    ("input {table} ({path}) is missing", "输入表 {table}（{path}）缺失"),
    ("input {table} ({path}) no longer matches its recorded sha256", "输入表 {table}（{path}）与记录的 sha256 不再相符"),
    ("input {table} is missing from {archive}", "{archive} 中缺少输入表 {table}"),
    ("input {table} in {archive} does not match its recorded sha256", "{archive} 中的输入表 {table} 与记录的 sha256 不符"),
    ("the recorded inputs cannot be loaded: {detail}", "记录的输入数据无法读取：{detail}"),
    ("{name} is not in the run but would be produced now", "{name} 不在运行结果中，但现在重算会生成"),
    ("{name}: recomputing from the recorded inputs gives a different result", "{name}：用记录的输入数据重算，结果不同"),
    ("{name}: the recorded file is no longer a readable table", "{name}：记录的文件已不是可读取的表"),
    ("{manifest}: round records {a}, but the run's parameters give {b} (the manifest was edited)",
     "{manifest}：记录的测评轮次为 {a}，但运行参数给出的是 {b}（运行清单被修改过）"),
    ("{manifest}: round_info.{key} records {a}, but the run's inputs and parameters give {b} (the manifest was "
     "edited)",
     "{manifest}：round_info.{key} 记录为 {a}，但运行的输入数据和参数给出的是 {b}（运行清单被修改过）"),
    ("run {run} (round {round}) is not in the ledger; round {round2} was published from run {other} (entry {seq})",
     "运行 {run}（测评轮次 {round}）不在台账中；测评轮次 {round2} 是由运行 {other} 发布的（第 {seq} 条）"),
    ("run {run} (round {round}) is not in the ledger", "运行 {run}（测评轮次 {round}）不在台账中"),
    ("entry {seq}: the run's {manifest} is not the one published (its sha256 differs from the ledger's "
     "manifest_sha256): the run was changed after publication",
     "第 {seq} 条：该运行的 {manifest} 不是发布时的那一份（其 sha256 与台账的 manifest_sha256 不符）：运行结果在发布后被改动"),
    ("entry {seq}: {claimed} records {a}, but the run recomputes {b}", "第 {seq} 条：{claimed} 记录为 {a}，但重算结果为 {b}"),
    ("entry {seq}: its {which:list} list differs from the run's recomputed one ({detail:msg})",
     "第 {seq} 条：其{which}与运行重算的结果不同（{detail}）"),
    ("published but not recomputed: {ids}", "已发布但重算中没有：{ids}"),
    ("recomputed but not published: {ids}", "重算中有但未发布：{ids}"),
    ("the same units, with other names, scores, ranks or points", "单位相同，但名称、得分、名次或分值不同"),
    ("an annual run has no round lists to publish; publish the runs of its rounds",
     "年度运行没有可发布的轮次榜单；请发布其各轮次的运行结果"),
    ("the run does not verify, so it cannot be published: {problems:msg}", "运行结果未通过核验，不能发布：{problems}"),
    ("the run's round {round} cannot be recomputed, so it cannot be published",
     "该运行的测评轮次 {round} 无法重算，不能发布"),
    ("cannot compare a {a} run with a {b} run", "{a} 运行与 {b} 运行无法比较"),
    ("batch needs at least one params file", "批量运行至少需要一个参数文件"),
    ("--scheduler runs on Dask distributed, an optional part of honorcalc that is not installed: pip install "
     "'honorcalc[distributed]' (or run without --scheduler, in local processes)",
     "--scheduler 需要 Dask distributed，这是 honorcalc 的可选组件，尚未安装：请执行 "
     "pip install 'honorcalc[distributed]'（或不加 --scheduler，在本机多进程运行）"),
    ("cannot reach the Dask scheduler at {address} ({reason})", "无法连接 {address} 的 Dask 调度器（{reason}）"),
    ("the memory ran out while computing the tables: lower the fairness simulations ({params}), or split the "
     "data (one dataset per city)",
     "计算结果表时内存不足：请调低公平性模拟的规模（{params}），或拆分数据（每个城市一套数据）"),
    ("the computation ran out of memory; nothing was written. Lower the fairness simulation sizes ({params}) "
     "or run on a machine with more memory.",
     "计算时内存不足，未写入任何文件。请调低公平性模拟的规模（{params}），或在内存更大的机器上运行。"),
    ("the dataset changed since the run: {file} is not the file the run read (sha256 {now}, the run read "
     "{then})",
     "运行之后数据已改动：{file} 已不是运行时读取的文件（sha256 现为 {now}，运行时为 {then}）"),
    ("{name} is missing from the run folder {folder}", "运行结果文件夹 {folder} 中缺少 {name}"),
    ("{name} in the run folder {folder} is not the table the run wrote (sha256 {now}, the run wrote {then}): "
     "it was changed after the run",
     "运行结果文件夹 {folder} 中的 {name} 已不是运行时写出的表（sha256 现为 {now}，运行时为 {then}）："
     "运行之后被改动过"),
    ("{name}: the header is not the run's columns ({columns})", "{name}：表头与运行结果的列不一致（{columns}）"),
    ("a cell cannot be read as {kind}", "有单元格无法读作{kind}"),
    # -- evaluation and explanation
    ("unit {unit} was not evaluated in round {round} (units: {known})",
     "单位 {unit} 未参加测评轮次 {round} 的测评（参评单位：{known}）"),
    ("unit {unit} was not evaluated in round {round}", "单位 {unit} 未参加测评轮次 {round} 的测评"),
    ("unit {unit} was not evaluated in {year} up to {round}; did you mean {near}?",
     "单位 {unit} 未参加 {year} 年截至 {round} 的测评；是否应为 {near}？"),
    ("unit {unit} was not evaluated in {year} up to {round}", "单位 {unit} 未参加 {year} 年截至 {round} 的测评"),
    ("unit_id {id} appears more than once", "单位编号 {id} 出现了不止一次"),
    ("indicator_id {id} appears more than once", "指标编号 {id} 出现了不止一次"),
    ("round_id {id} appears more than once", "测评轮次编号 {id} 出现了不止一次"),
    ("round kind {kind} not recognized; must be 'comprehensive' or 'special'",
     "无法识别的测评轮次类型 {kind}；应为 'comprehensive' 或 'special'"),
    ("special round {round} has no topic", "专项测评轮次 {round} 没有专项主题"),
    ("round {round} has no date", "测评轮次 {round} 没有日期"),
    ("role {role} not recognized; must be 'primary' or 'joint'", "无法识别的责任类型 {role}；应为 'primary' 或 'joint'"),
    ("deduction points must be > 0, got {value}", "扣分分值必须大于 0，实际为 {value}"),
    ("source {source} not recognized; must be one of {sources}", "无法识别的评分来源 {source}；应为以下之一：{sources}"),
    ("unknown {what} {shown} and {n} more", "未知的 {what}：{shown} 等（另有 {n} 个）"),
    ("unknown {what} {shown}", "未知的 {what}：{shown}"),
    ("blank {column} in a row", "有一行的 {column} 为空"),
    ("round {round} is not in the results (rounds: {known})", "测评轮次 {round} 不在结果中（已有轮次：{known}）"),
    ("round(s) {rounds} not in the results", "测评轮次 {rounds} 不在结果中"),
    ("the evaluation given has no results for round {round}", "所给测评结果中没有测评轮次 {round} 的结果"),
    # -- workbooks as datasets, and the blank workbook (template)
    ("is a damaged workbook: its sheets cannot be read", "是损坏的工作簿：读不出其中的工作表"),
    ("has several sheets ({names}); keep one, or name the one to use '{table}' or '{zh}'",
     "有多个工作表（{names}）；请只保留一个，或将要使用的工作表命名为 '{table}' 或 '{zh}'"),
    ("gives table '{table}' ({zh}) on several sheets ({names}); keep one",
     "表 {table}（{zh}）出现在多个工作表中（{names}）；请只保留一个"),
    ("has no sheet for the required table(s) {wanted}: name each sheet after its table (单位, 测评轮次, 指标, "
     "评分 …, or 评分-<轮次编号> for one round's scores)",
     "没有必需的表 {wanted} 的工作表：请以表名命名各工作表（单位、测评轮次、指标、评分……，"
     "某一轮次的评分也可命名为 评分-<轮次编号>）"),
    ("the inputs archive holds the workbook {name} and other files: a dataset given as a workbook is archived "
     "alone",
     "输入数据压缩包中既有工作簿 {name} 又有其他文件：以工作簿提供的数据应单独归档"),
    ("lang '{lang}' is not known; expected one of {langs}", "无法识别的语言 '{lang}'；应为以下之一：{langs}"),
    ("a workbook is written as .xlsx, not '{suffix}'", "工作簿应保存为 .xlsx，而不是 '{suffix}'"),
    ("is a folder, not a workbook", "是文件夹，不是工作簿"),
    ("exists; use --force to overwrite it", "已存在；如需覆盖，请加 --force"),
    ("indicator id '{id}' is also the header of an identifying column of a wide score sheet; write the scores "
     "in the long form (wide_scores=False)",
     "指标编号 '{id}' 与宽表评分工作表中某个标识列的列名相同；请以长表形式写出评分（wide_scores=False）"),
    ("round {round}: unit {unit} has two scores for indicator {indicator} from the same rater and source ({a} "
     "and {b}); a wide score sheet holds one: correct the data, or write the scores in the long form "
     "(wide_scores=False)",
     "测评轮次 {round}：单位 {unit} 的指标 {indicator} 有同一评分人、同一来源的两个得分（{a} 和 {b}）；"
     "宽表评分工作表只能容纳一个：请更正数据，或以长表形式写出评分（wide_scores=False）"),
    ("unknown table '{table}'; expected one of {tables}", "未知的表 '{table}'；应为以下之一：{tables}"),
    ("the dataset lacks table '{table}'; required: {tables}", "数据缺少表 '{table}'；必需的表：{tables}"),
    ("table {table} lacks column '{column}'", "表 {table} 缺少列 '{column}'"),
    # -- responsibility (责任关系)
    ("unknown unit {unit}", "未知的单位 {unit}"),
    ("relation {relation} not recognized; must be one of {relations}",
     "无法识别的关系 {relation}；应为以下之一：{relations}"),
    ("share must be > 0 and ≤ 1, got {share}", "分担比例 share 应大于 0 且不大于 1，实际为 {share}"),
    ("unit {unit} is named responsible for itself", "单位 {unit} 被列为自身的责任单位"),
    ("units {a} and {b} are paired more than once", "单位 {a} 与 {b} 的责任关系列了不止一次"),
    # -- honorcalc called from Python with wrong arguments
    ("{label}: expected a pandas DataFrame, got {type:word}", "{label}：应为 pandas DataFrame，实际为 {type}"),
    ("{label} lacks column(s) {missing} (it has: {columns})", "{label} 缺少列 {missing}（现有列：{columns}）"),
    ("params: expected honorcalc.params.Params, got {type:word}", "params：应为 honorcalc.params.Params，实际为 {type}"),
    ("expected a RoundResult, got {type:word}", "应为 RoundResult，实际为 {type}"),
    ("expected a dataset with tables {tables}; {type:word} lacks {missing}",
     "应为含有表 {tables} 的数据；{type} 缺少 {missing}"),
    ("column 'points' must be numeric; got dtype {dtype} (load the dataset with honorcalc.data.load_dataset)",
     "列 points 应为数值，实际类型为 {dtype}（请用 honorcalc.data.load_dataset 读取数据）"),
    ("unknown indicator_id {id}", "未知的指标编号 {id}"),
    ("scores of unit {unit} in round {round} have no row in the results (evaluate the same dataset)",
     "单位 {unit} 在测评轮次 {round} 的评分在结果中没有对应行（请对同一套数据进行测评）"),
    ("flagged_only must be True or False; got {value}", "flagged_only 应为 True 或 False；实际为 {value}"),
    ("n_replicates must be a positive integer; got {value}", "n_replicates 应为正整数；实际为 {value}"),
    ("tables lacks {missing} (pass the output of fairness_tables)", "tables 缺少 {missing}（请传入 fairness_tables 的结果）"),
    ("{name} ({value}) must be at least 1, or None", "{name}（{value}）应至少为 1，或为 None"),
    ("{name} ({value}) must be at least 1", "{name}（{value}）应至少为 1"),
    ("{name} ({value}) must be between 0 and 1", "{name}（{value}）应在 0 和 1 之间"),
    ("{name} ({value}) must be positive", "{name}（{value}）应为正数"),
    ("the notebook needs params_file or parameters", "报告笔记本需要 params_file 或 parameters"),
    ("run_dir is {run_dir} but table_sha256 is empty: which tables the run wrote is unknown (leave run_dir "
     "empty to compute the tables)",
     "run_dir 为 {run_dir}，但 table_sha256 为空：无法得知运行写出了哪些表（如需重新计算各表，请将 run_dir 留空）"),
    ("table_sha256 and table_columns name different tables: {tables}",
     "table_sha256 与 table_columns 列出的表不一致：{tables}"),
    ("table_sha256 names {name}, which is not a table of a run folder", "table_sha256 中的 {name} 不是运行结果文件夹中的表"),
    # rank confidence sets and shrinkage (honorcalc.fairness.ranks)
    ("estimates: expected a non-empty 1-D array, got shape {shape}", "estimates：应为非空的一维数组，实际形状为 {shape}"),
    ("estimates: every entry must be finite; entry {k} is {value}", "estimates：每一项都应为有限值；第 {k} 项为 {value}"),
    ("cov: expected {n} standard errors or a {a} × {b} covariance matrix, got shape {shape}",
     "cov：应为 {n} 个标准误或 {a} × {b} 的协方差矩阵，实际形状为 {shape}"),
    ("cov: the covariance matrix must be finite", "cov：协方差矩阵应为有限值"),
    ("cov: the covariance matrix must be symmetric", "cov：协方差矩阵应对称"),
    ("cov: the covariance matrix must be positive semi-definite", "cov：协方差矩阵应半正定"),
    ("cov: standard errors must have one entry per estimate ({n}), got {m}", "cov：标准误应与估计值一一对应（{n} 个），实际为 {m} 个"),
    ("cov: standard errors must be finite and ≥ 0", "cov：标准误应为有限值且 ≥ 0"),
    ("cov: the difference of estimates {i} and {j} has zero variance; their order is then known and cannot be "
     "tested",
     "cov：第 {i} 项与第 {j} 项估计值之差的方差为零；二者的先后已确定，无法检验"),
    ("{name}: expected a probability strictly between 0 and 1, got {value}", "{name}：应为严格介于 0 和 1 之间的概率，实际为 {value}"),
    ("rng: expected numpy.random.Generator, got {type:word}", "rng：应为 numpy.random.Generator，实际为 {type}"),
    ("groups: expected one label per estimate ({n}), got {m}", "groups：每个估计值应有一个分组标签（{n} 个），实际为 {m} 个"),
    ("groups: entry {k} has no group", "groups：第 {k} 项没有分组"),
    ("indices: positions must lie in 0 … {n}, got {a} … {b}", "indices：位置应在 0 … {n} 之内，实际为 {a} … {b}"),
    ("indices: a boolean mask needs {n} entries, got {m}", "indices：布尔掩码应有 {n} 项，实际为 {m} 项"),
    ("n_draws: expected an integer ≥ 10, got {value}", "n_draws：应为 ≥ 10 的整数，实际为 {value}"),
    ("tau: expected one integer or one per estimate ({n}), got shape {shape}",
     "tau：应为一个整数或每个估计值一个（{n} 个），实际形状为 {shape}"),
    ("tau: expected whole numbers", "tau：应为整数"),
    ("tau: must be ≥ 0, got {value}", "tau：应 ≥ 0，实际为 {value}"),
    ("tau: must be the same for every unit of a group; group {g} has {values}",
     "tau：同一组内各单位应相同；第 {g} 组为 {values}"),
    ("side ('{side}') not recognized; must be 'bottom' or 'top'", "无法识别的 side（'{side}'）；应为 'bottom' 或 'top'"),
    ("level: the levels must differ, got {levels}", "level：各水平不能相同，实际为 {levels}"),
    ("se: expected {n} finite standard errors > 0", "se：应为 {n} 个大于 0 的有限标准误"),
    ("se: expected finite standard errors > 0", "se：标准误应为大于 0 的有限值"),
    ("precision: expected finite precisions > 0", "precision：精度应为大于 0 的有限值"),
    ("winsor: expected a share in [0, 0.5), got {value}", "winsor：应为 [0, 0.5) 之内的比例，实际为 {value}"),
    ("group_mean: expected one finite number or {n}", "group_mean：应为一个有限数或 {n} 个"),
    ("target and tau2 must be finite, tau2 ≥ 0; got {a}, {b}", "target 和 tau2 应为有限值，且 tau2 ≥ 0；实际为 {a}、{b}"),
    ("give exactly one of se and precision", "se 和 precision 只能且必须给出其中一个"),
    # rater agreement (honorcalc.stats.agreement)
    ("nan_policy ({value}) not recognized; must be 'omit', 'raise' or 'propagate'",
     "无法识别的 nan_policy（{value}）；应为 'omit'、'raise' 或 'propagate'"),
    ("confidence_level must be a number between 0 and 1 (exclusive); got {value}",
     "confidence_level 应为 0 和 1 之间（不含端点）的数；实际为 {value}"),
    ("ratings must be numeric (NaN for a missing rating); got dtype {dtype}", "ratings 应为数值（缺失的评分用 NaN）；实际类型为 {dtype}"),
    ("ratings must be a units × raters array, or a stack of shape (..., n_units, n_raters); got shape {shape}",
     "ratings 应为 单位 × 评分人 的数组，或形状为 (..., n_units, n_raters) 的数组堆叠；实际形状为 {shape}"),
    ("ratings must be a units × raters array; {detail}", "ratings 应为 单位 × 评分人 的数组；{detail}"),
    ("ratings needs at least 2 units (rows) and 2 raters (columns); got shape {shape}",
     "ratings 至少应有 2 个单位（行）和 2 个评分人（列）；实际形状为 {shape}"),
    ("ratings contain an infinite value, {where:msg}; use NaN for a missing rating",
     "ratings 含有无穷大值，{where}；缺失的评分请用 NaN"),
    ("ratings contain {n} missing value(s), the first {where:msg}; nan_policy='raise' accepts none (use 'omit' for "
     "listwise deletion)",
     "ratings 含有 {n} 个缺失值，第一个{where}；nan_policy='raise' 不接受缺失值（如需整行删除，请用 'omit'）"),
    ("at unit {u}, rater {r} (0-based) of matrix {m}", "位于第 {m} 个矩阵的单位 {u}、评分人 {r}（从 0 起算）"),
    ("at unit {u}, rater {r} (0-based)", "位于单位 {u}、评分人 {r}（从 0 起算）"),
    ("level_of_measurement ({value}) not recognized; must be 'nominal', 'ordinal', 'interval' or 'ratio'",
     "无法识别的 level_of_measurement（{value}）；应为 'nominal'、'ordinal'、'interval' 或 'ratio'"),
    ("reliability_data must be a 2-D raters × units array; got shape {shape}",
     "reliability_data 应为 评分人 × 单位 的二维数组；实际形状为 {shape}"),
    ("reliability_data must be a raters × units array; {detail}", "reliability_data 应为 评分人 × 单位 的数组；{detail}"),
    ("reliability_data must hold numbers or labels; got dtype {dtype}", "reliability_data 应为数值或标签；实际类型为 {dtype}"),
    ("reliability_data contains an infinite value; use NaN for a missing value", "reliability_data 含有无穷大值；缺失值请用 NaN"),
    ("level_of_measurement {level} needs numbers; reliability_data holds labels such as {example} (use 'nominal', "
     "or 'ordinal' with a value_domain)",
     "level_of_measurement {level} 需要数值；reliability_data 中是标签，如 {example}（请用 'nominal'，或带 value_domain 的 'ordinal'）"),
    ("level_of_measurement 'ratio' needs non-negative values; got {value}", "level_of_measurement 'ratio' 需要非负值；实际为 {value}"),
    ("correction_for_ties must be True or False; got {value}", "correction_for_ties 应为 True 或 False；实际为 {value}"),
    ("value_domain must list each value once; {values} repeat", "value_domain 中每个值只应列一次；{values} 重复"),
    ("reliability_data holds values outside value_domain: {values}; value_domain is {domain}",
     "reliability_data 中有 value_domain 以外的值：{values}；value_domain 为 {domain}"),
    ("level_of_measurement 'ordinal' with labels needs value_domain, the labels in their order",
     "level_of_measurement 为 'ordinal' 且数据为标签时，需要 value_domain（按顺序列出各标签）"),
    # -- click: the command line itself
    ("Missing argument '{name}'.", "缺少参数 {name}。"),
    ("Missing option '{name}'.", "缺少选项 {name}。"),
    ("Missing command.", "缺少命令。"),
    ("No such option '{name}'. Did you mean '{near}'?", "没有选项 {name}。是否应为 {near}？"),
    ("No such option '{name}'. (Possible options: {near})", "没有选项 {name}。（可能是：{near}）"),
    ("No such option '{name}'.", "没有选项 {name}。"),
    ("No such option: {name}", "没有选项 {name}。"),
    ("No such command '{name}'. Did you mean '{near}'?", "没有命令 {name}。是否应为 {near}？"),
    ("No such command '{name}'.", "没有命令 {name}。"),
    ("Option '{name}' requires an argument.", "选项 {name} 需要一个值。"),
    ("Option '{name}' does not take a value.", "选项 {name} 不带值。"),
    ("Got unexpected extra argument ({args})", "多余的参数（{args}）"),
    ("Got unexpected extra arguments ({args})", "多余的参数（{args}）"),
    ("Invalid value for '{name}' / '{short}': {problem:msg}", "{name}（{short}）的值无效：{problem}"),
    ("Invalid value for '{name}': {problem:msg}", "{name} 的值无效：{problem}"),
    ("{value} is not one of {choices}.", "{value} 不在可选值 {choices} 之中。"),
    ("{value} is not a valid integer.", "{value} 不是有效的整数。"),
    ("{value} is not in the range {range}.", "{value} 不在范围 {range} 之内。"),
    ("File {name} does not exist.", "文件 {name} 不存在。"),
    ("Path {name} does not exist.", "路径 {name} 不存在。"),
    ("Directory {name} does not exist.", "文件夹 {name} 不存在。"),
    ("File {name} is a directory.", "{name} 是文件夹，不是文件。"),
    ("Directory {name} is a file.", "{name} 是文件，不是文件夹。"),
    ("Path {name} is a directory.", "{name} 是文件夹。"),
    ("Path {name} is a file.", "{name} 是文件。"),
    ("Could not open file {name}: {reason}", "无法打开文件 {name}：{reason}"),
    ("give RUN_DIR, --ledger LEDGER, or both", "请给出 RUN_DIR、--ledger LEDGER，或两者都给出"),
    # -- the command line's own lines
    ("Interrupted; nothing was written.", "已中断，未写入任何文件。"),
    ("Aborted.", "已取消。"),
    # -- library calls with wrong arguments (honorcalc used from Python)
    ("lang ({lang}) not recognized; must be 'zh' or 'en'", "无法识别的语言 {lang}；应为 'zh' 或 'en'"),
]

#: What a failure case of `ValidationError` expected: the English ``expected`` text and the Chinese
#: clause said after the place (``应为…``); the value found follows, as ``，实际为 '缺'``.
EXPECTED: list[tuple[str, str]] = [
    ("a column with this name in the header row (required)", "表头（第 1 行）缺少此列，该列必须填写"),
    ("a value (this column is required)", "此列必须填写，不能为空"),
    ("a number", "应为数字"),
    ("a finite number", "应为有限的数"),
    ("a number > {n}", "应为大于 {n} 的数"),
    ("a number ≥ {n}", "应为不小于 {n} 的数"),
    ("a number ≤ {n}", "应为不大于 {n} 的数"),
    ("one of {allowed}", "应为以下之一：{allowed}"),
    ("an ISO date YYYY-MM-DD, not an Excel serial day number (whose date depends on the workbook's 1900 or "
     "1904 date system): format the column as dates (yyyy-mm-dd) and save again",
     "应为 YYYY-MM-DD 格式的日期，而不是 Excel 日期序号（其对应的日期取决于工作簿采用 1900 还是 1904 日期系统）："
     "请将该列设为日期格式（yyyy-mm-dd）后重新保存"),
    ("an ISO date YYYY-MM-DD", "应为 YYYY-MM-DD 格式的日期"),
    ("true or false ({words}, 是/否)", "应为 true 或 false（{words}，是/否）"),
    ("a rater id not of the form {form}, which marks final scores given without a rater column",
     "评分人编号不能采用 {form} 形式（该形式专门表示没有评分人列时的最终得分）"),
    ("a data row, got the header row again (the sheet pasted twice?): delete this row",
     "此处应为数据行，却又出现了表头行（表格是否粘贴了两次？）：请删除此行"),
    ("data rows below the header (row 1): the file has no {what:table}",
     "表头（第 1 行）下方应有数据行：该文件没有{what}数据"),
    ("no identical copy of {row:rowref}; if both are separate violations, tell them apart in the note column",
     "不应与{row}完全相同；如确为两次不同的问题，请在 note（备注）列中加以区分"),
    ("one row per ({key}); conflicts with {row:rowref}", "每个（{key}）只应有一行；与{row}冲突"),
    ("an id without invisible characters: {id} holds {chars}, which no one can see or type again",
     "编号中不应有不可见字符：{id} 含有 {chars}，这些字符看不见，也无法再次输入"),
    ("an id that differs from '{a}' ({row:rowref}) by more than case or full-width characters: ids are compared "
     "exactly, so these would be two {noun:noun}s",
     "编号与{row}的 '{a}' 仅有大小写或全角、半角之别：编号按原样比较，这样会算作两个不同的{noun}"),
    ("an id that differs from {a} ({row:rowref}) by more than invisible characters, look-alike letters of "
     "another script or Unicode normalisation: {a2} and {b} look the same but are compared exactly, so these "
     "would be two {noun:noun}s",
     "编号与{row}的 {a} 仅有不可见字符、其他文字中形近的字母或 Unicode 规范化之别：{a2} 与 {b} "
     "看起来相同，但按原样比较，这样会算作两个不同的{noun}"),
    ("{article} {column} listed in {file} (as {home}) (did you mean '{near}'? ids are compared exactly: case and "
     "full-width characters count)",
     "应为 {file} 中已列出的 {column}（即其中的 {home}）（是否应为 '{near}'？编号按原样比较，大小写和全角、半角都有区别）"),
    ("{article} {column} listed in {file} (did you mean '{near}'? ids are compared exactly: case and full-width "
     "characters count)",
     "应为 {file} 中已列出的 {column}（是否应为 '{near}'？编号按原样比较，大小写和全角、半角都有区别）"),
    ("{article} {column} listed in {file} (as {home})", "应为 {file} 中已列出的 {column}（即其中的 {home}）"),
    ("{article} {column} listed in {file}", "应为 {file} 中已列出的 {column}"),
    ("at most {m}, the max_points of indicator {indicator}", "不应超过 {m}（指标 {indicator} 的满分 max_points）"),
    ("a topic (required for special rounds)", "应填写专项主题（专项测评轮次必须填写）"),
    ("an indicator of topic '{topic}' (the topic of round {round})",
     "应为主题为「{topic}」的指标（测评轮次 {round} 的专项主题）"),
    ("another unit than unit_id (a unit shares its problems with others, not with itself)",
     "应为 unit_id 以外的单位（责任关系是与其他单位分担问题，不能是本单位自己）"),
    ("at most respondents ({n})", "不应超过受访人数 respondents（{n}）"),
    # a workbook's own problems (honorcalc/data/workbook.py)
    ("fewer rows than Excel's last row ({n}): this sheet reaches it, so rows were very likely cut off when the "
     "data were opened in Excel; give the full data as CSV or Parquet, or split it over several sheets",
     "行数应少于 Excel 的最大行数（{n}）：此工作表已达到该行数，打开数据时很可能有行被 Excel 截掉；"
     "请以 CSV 或 Parquet 提供完整数据，或分到多个工作表中"),
    ("a header row naming the columns, and data below it: the sheet of table '{table}' ({zh}) is empty",
     "应有列名所在的表头行及其下方的数据：表 {table}（{zh}）的工作表是空的"),
    ("the round this sheet's name gives, {round}; give another round's scores a sheet of their own",
     "应为工作表名所示的测评轮次 {round}；其他轮次的评分请另建工作表"),
    ("the header row first: the column names are on row {a}, and row {b} above it holds data; delete the rows "
     "above the header",
     "表头行应在最上面：列名在第 {a} 行，而其上方的第 {b} 行有数据；请删除表头上方的行"),
    ("one header per column: cells {cells} are merged; unmerge them and name each column",
     "每列应有各自的列名：单元格 {cells} 是合并单元格；请取消合并，并为每一列命名"),
    ("a header naming column {column}, which holds data (from {cell}) but has no name",
     "第 {column} 列有数据（从 {cell} 起）却没有列名，应在表头中为其命名"),
    ("one column per name: this column gives {column} again (also column {other})",
     "同一列名只应出现一次：此列又是 {column}（第 {other} 列也是）"),
    ("visible rows: row(s) {rows:rows} and {more} more are hidden (or filtered out) but hold data, and data no one "
     "can see must not decide a list; unhide them (or clear the filter), or delete them",
     "有数据的行应可见：第 {rows} 行等（另有 {more} 行）被隐藏（或被筛选掉）但有数据，看不见的数据不能决定榜单；"
     "请取消隐藏（或清除筛选），或删除这些行"),
    ("visible rows: row(s) {rows:rows} are hidden (or filtered out) but hold data, and data no one can see must "
     "not decide a list; unhide them (or clear the filter), or delete them",
     "有数据的行应可见：第 {rows} 行被隐藏（或被筛选掉）但有数据，看不见的数据不能决定榜单；"
     "请取消隐藏（或清除筛选），或删除这些行"),
    ("a visible sheet: this sheet is hidden but holds data, and data no one can see must not decide a list; "
     "unhide it (right-click a sheet tab › Unhide) or delete it",
     "有数据的工作表应可见：此工作表被隐藏但有数据，看不见的数据不能决定榜单；"
     "请取消隐藏（右键单击工作表标签 › 取消隐藏）或删除该工作表"),
    ("a visible column: column {column} is hidden but holds data; unhide or delete it",
     "有数据的列应可见：第 {column} 列被隐藏但有数据；请取消隐藏或删除该列"),
    ("a value, not a formula error: correct the formula or type the value", "应为数值，而不是公式错误：请更正公式或直接填写数值"),
    ("a value: this cell holds a formula whose result was never saved (a program wrote the workbook without "
     "calculating it); open it in Excel or WPS and save it, or type the value",
     "应为数值：此单元格的公式从未保存计算结果（工作簿由程序写出而未经计算）；请用 Excel 或 WPS 打开后保存，或直接填写数值"),
    ("one value per cell: cells {cells} are merged across columns; unmerge them",
     "每个单元格只应有一个值：单元格 {cells} 跨列合并；请取消合并"),
    ("an indicator id (指标编号): {n} indicators are named so", "应为指标编号：有 {n} 个指标的名称与此相同"),
    ("an identifying column (单位编号, 评分人, 评价来源, 明查暗访, 轮次编号) or an indicator, headed by its 指标编号 or "
     "its exact 指标名称 as in the indicators table (指标)",
     "应为标识列（单位编号、评分人、评价来源、明查暗访、轮次编号）或指标列，指标列以指标表（指标）中的指标编号或完整的指标名称为列名"),
]

#: Notices (`Dataset.notices`): quirks read with one obvious meaning, said so.
NOTICES: list[tuple[str, str]] = [
    ("{file}: read column name(s) {pairs:pairs}", "{file}：已将列名 {pairs}"),
    ("{file}: removed surrounding spaces from {n} cell(s)", "{file}：已去除 {n} 个单元格内容首尾的空格"),
    ("{file}: column '{column}': read {n} full-width number(s) as ASCII",
     "{file}：列「{column}」：已将 {n} 个全角数字按半角数字读取"),
    ("{file}: column '{column}': read {n} value(s) such as '{a}' as '{b}'",
     "{file}：列「{column}」：已将 {n} 个值（如 '{a}'）读作 '{b}'"),
    ("{file}: no rater column: read as final scores, one per unit, indicator and source (rater agreement and "
     "severity cannot be assessed)",
     "{file}：没有评分人列，按最终得分读取，每个单位、指标和来源一个得分（无法评估评分人之间的一致性和宽严程度）"),
    ("{file}: ignored {n} blank row(s) (rows {rows:rows} and {more} more)",
     "{file}：已忽略 {n} 个空行（第 {rows} 行等，另有 {more} 行）"),
    ("{file}: ignored {n} blank row(s) (rows {rows:rows})", "{file}：已忽略 {n} 个空行（第 {rows} 行）"),
    ("{file}: {n} exact duplicate row(s) counted once (rows {rows:rows} and {more} more)",
     "{file}：{n} 个完全重复的行只计一次（第 {rows} 行等，另有 {more} 行）"),
    ("{file}: {n} exact duplicate row(s) counted once (rows {rows:rows})",
     "{file}：{n} 个完全重复的行只计一次（第 {rows} 行）"),
    # a workbook's notices (honorcalc/data/workbook.py)
    ("{file}: sheet '{sheet}' is not a table of the dataset and was not read", "{file}：工作表「{sheet}」不是数据表，未读取"),
    ("{file}: scores in wide form (one column per indicator): {n} score(s) read",
     "{file}：评分为宽表形式（每个指标一列）：共读取 {n} 个得分"),
    ("{file}: column(s) {labels} read as labels for the reader, not as indicators",
     "{file}：列 {labels} 视为供阅读的说明列，不作为指标读取"),
    ("{file}: rows 1–{n} above the header read as a title and skipped", "{file}：表头上方的第 1–{n} 行视为标题，已跳过"),
    ("{file}: row 1 above the header read as a title and skipped", "{file}：表头上方的第 1 行视为标题，已跳过"),
    ("{file}: {n} cell(s) hold formulas; the results saved with the workbook were read",
     "{file}：{n} 个单元格含有公式；已读取工作簿保存的计算结果"),
    ("{file}: {n} cell(s) of merged ranges read as the value the range shows",
     "{file}：合并单元格中的 {n} 个单元格已按合并区域显示的值读取"),
    ("{file}: column '{column}': read {n} day number(s) as dates (the workbook's {system} date system); format "
     "the column as dates to see them",
     "{file}：列「{column}」：已将 {n} 个日期序号按日期读取（工作簿采用 {system} 日期系统）；将该列设为日期格式即可看到日期"),
    ("{file}: sheet(s) {sheets} have no 评分人 column: read as final scores, one per unit, indicator and source",
     "{file}：工作表 {sheets} 没有评分人列，按最终得分读取，每个单位、指标和来源一个得分"),
]

# --------------------------------------------------------------------------- matching

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")

#: What a placeholder of each kind matches (any other: at least one character).
_KINDS = {
    "msg": ".*?",
    "n": r"[-+]?(?:[0-9][0-9,]*(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|inf|nan)",
    "word": r"[\w.]+",
    "rowref": r"(?:.+? )?row [0-9]+",  # row 7, or 评分-C2026Q1 row 7 in a workbook
    "or": r"'[^']*'(?:(?:, | or )'[^']*')*",  # 'zh' or 'en'
    "repr": r"""(?:[-+]?[0-9.].*|-?inf|nan|None|True|False|b?'.*'|b?".*"|\[.*\]|\{.*\}|\(.*\))""",  # a value's repr
}


@dataclass(frozen=True)
class _Entry:
    pattern: re.Pattern
    zh: str
    kinds: dict


def _compile(entries: list[tuple[str, str]]) -> list[_Entry]:
    out = []
    for en, zh in entries:
        parts, kinds, at = [], {}, 0
        for m in _PLACEHOLDER.finditer(en):
            parts.append(re.escape(en[at:m.start()]))
            name, kind = m.group(1), m.group(2) or ""
            kinds[name] = kind
            parts.append(f"(?P<{name}>{_KINDS.get(kind, '.+?')})")
            at = m.end()
        parts.append(re.escape(en[at:]))
        out.append(_Entry(re.compile("".join(parts), re.DOTALL), zh, kinds))
    return out


_MESSAGES = _compile(MESSAGES)
_EXPECTED = _compile(EXPECTED)
_NOTICES = _compile(NOTICES)


class _Unknown(Exception):
    """An English text that no entry of the catalogue matches."""


def _pairs(text: str) -> str:
    pairs = re.findall(r"'(.*?)' as '(.*?)'(?:, |$)", text)
    if not pairs or ", ".join(f"'{a}' as '{b}'" for a, b in pairs) != text:
        raise _Unknown(text)
    return "、".join(f"'{a}' 读作 '{b}'" for a, b in pairs)


def _convert(kind: str, value: str) -> str:
    if kind == "msg":
        return _translate(value, _MESSAGES) if value else ""
    if kind == "table":
        return TABLES_ZH.get(value) or _raise(value)
    if kind == "noun":
        return NOUNS_ZH.get(value) or _raise(value)
    if kind == "rows":
        return value.replace(", ", "、") if re.fullmatch(r"[0-9]+(?:, [0-9]+)*", value) else _raise(value)
    if kind == "pairs":
        return _pairs(value)
    if kind == "reason":
        return REASONS_ZH.get(value, value)
    if kind == "rowref":
        sheet, _, row = value.rpartition("row ")
        return f"工作表「{sheet.strip()}」第 {row} 行" if sheet.strip() else f"第 {row} 行"
    if kind == "pytype":
        return PYTYPES_ZH.get(value, f" {value}")
    if kind == "list":
        return LISTS_ZH.get(value) or _raise(value)
    if kind == "or":
        return value.replace(" or ", " 或 ")
    return value


def _raise(text: str):
    raise _Unknown(text)


def _translate(text: str, entries: list[_Entry]) -> str:
    """The Chinese of one English text by the first entry that matches it whole."""
    if "\n" in text:  # a header line and indented lines, each a message of its own
        return "\n".join(_line(line) for line in text.split("\n"))
    for entry in entries:
        m = entry.pattern.fullmatch(text)
        if m is None:
            continue
        try:
            values = {k: _convert(entry.kinds[k], v) for k, v in m.groupdict().items()}
        except _Unknown:
            continue
        return entry.zh.format(**values)
    raise _Unknown(text)


_PARAMETER_LINE = re.compile(r"(\s*)parameter '([^'\n]*)': (.*)", re.DOTALL)


def _line(line: str) -> str:
    m = _PARAMETER_LINE.fullmatch(line)
    if m:
        return f"{m.group(1)}参数「{m.group(2)}」：{_translate(m.group(3), _MESSAGES)}"
    indent = line[: len(line) - len(line.lstrip())]
    return indent + _translate(line.strip(), _MESSAGES) if line.strip() else line


_HEADER = re.compile(r"the dataset breaks its contract in ([0-9]+) places:")
_MORE = re.compile(r"\.\.\. and ([0-9]+) more")
_ROW_SUFFIX = re.compile(r"(.+):([0-9]+)")
_EXPECTED_GOT = re.compile(rf"expected (.*?)(?:, got ({_KINDS['repr']}))?", re.DOTALL)
_ENGLISH_WORDS = re.compile(r"\b[a-z]{2,} [a-z]{2,}\b")


def _problem_text(text: str) -> str:
    """The Chinese of an error's text as `str` gives it (its place included), for where only the
    text is kept (a batch's failed runs): one problem, or a dataset's header line and its cases."""
    lines = text.split("\n")
    if len(lines) == 1:
        return _problem_line(text)
    header = _HEADER.fullmatch(lines[0])
    if header is None:
        return _translate(text, _MESSAGES)
    out = [f"数据有 {header.group(1)} 处不符合要求："]
    for line in lines[1:]:
        more = _MORE.fullmatch(line.strip())
        out.append("  " + (f"……另有 {more.group(1)} 处" if more else _problem_line(line.strip())))
    return "\n".join(out)


def _problem_line(text: str) -> str:
    try:
        return _translate(text, _MESSAGES)
    except _Unknown:
        pass
    if _PARAMETER_LINE.fullmatch(text):
        return _line(text)
    for colon in re.finditer(": ", text):  # where the place ends: the first split that translates
        where, rest = text[: colon.start()], text[colon.end():]
        if _ENGLISH_WORDS.search(where):
            continue
        parts = [f"{m.group(1)} 第 {m.group(2)} 行" if (m := _ROW_SUFFIX.fullmatch(where)) else where]
        for label, prefix in (("列", "column"), ("参数", "parameter")):
            named = re.match(rf"{prefix} '([^'\n]*)': ", rest)
            if named:
                parts.append(f"{label}「{named.group(1)}」")
                rest = rest[named.end():]
        try:
            parts.append(_body(rest))
        except _Unknown:
            continue
        return "：".join(parts)
    raise _Unknown(text)


def _body(text: str) -> str:
    """A message, or a dataset case's ``expected …, got …``."""
    try:
        return _translate(text, _MESSAGES)
    except _Unknown:
        m = _EXPECTED_GOT.fullmatch(text)
        if m is None:
            raise
        return _translate(m.group(1), _EXPECTED) + (f"，实际为 {m.group(2)}" if m.group(2) else "")


# --------------------------------------------------------------------------- public

def error_prefix(lang: str) -> str:
    """``错误：`` or ``Error: ``, the start of an error printed for the user."""
    return "Error: " if lang == "en" else "错误："


def untranslated(text: str) -> str:
    """An English text shown as it is, after a Chinese word saying it is the original."""
    return UNTRANSLATED_ZH + text


def localize_message(text: str, lang: str = "zh") -> str:
    """One message in ``lang``; an English text the catalogue does not know, as it is.

    The text may be an error's whole text, its place included (``scores.csv:6: column
    'points': expected a number, got '缺'``), as where only the text of an error is kept.
    """
    if lang == "en":
        return text
    try:
        return _problem_text(text)
    except _Unknown:
        return untranslated(text)


def localize_expected(expected: str, lang: str = "zh") -> str:
    """The clause of a `ValidationError` case's ``expected`` text: ``应为不小于 0 的数``."""
    if lang == "en":
        return f"expected {expected}"
    try:
        return _translate(expected, _EXPECTED)
    except _Unknown:
        return untranslated(f"expected {expected}")


def localize_notice(text: str, lang: str = "zh") -> str:
    """A notice of `Dataset.notices` in ``lang``; one the catalogue does not know, as it is."""
    if lang == "en":
        return text
    try:
        return _translate(text, _NOTICES)
    except _Unknown:
        return untranslated(text)


def localize_error(err: BaseException, lang: str = "zh") -> str:
    """The full text to print for an error: ``错误：…`` (``Error: …`` in English, as `str` gives it).

    Handles honorcalc's errors (the location, the column and the message each translated;
    a `ValidationError` case by case), click's usage errors (by their ``format_message``)
    and any other exception by its text.
    """
    if lang == "en":
        return error_prefix("en") + _english(err)
    try:
        return error_prefix("zh") + _chinese(err)
    except _Unknown:
        return error_prefix("zh") + untranslated(_english(err))


def _english(err: BaseException) -> str:
    message = getattr(err, "format_message", None)
    return message() if callable(message) and not isinstance(err, HonorcalcError) else str(err)


def _chinese(err: BaseException) -> str:
    if isinstance(err, ValidationError):
        return _validation(err)
    if isinstance(err, InputError):
        problem = err.problem
        message = problem.message
        parameter = getattr(err, "parameter", None) if isinstance(err, ParamError) else None
        if parameter and message.startswith(f"parameter '{parameter}': "):
            message = message[len(f"parameter '{parameter}': "):]
        text = _translate(message, _MESSAGES)
        where = _where(problem)
        if parameter:
            where = [*where, f"参数「{parameter}」"]
        return "：".join([*where, text])
    return _translate(_english(err), _MESSAGES)


_YAML_LINE = re.compile(r"(.+):(\d+)")


def _where(problem: Problem) -> list[str]:
    """The place of a problem, in Chinese: ``scores.csv 第 14 行``, ``列「points」``."""
    place = problem.place(row="{file} 第 {row} 行")
    if not problem.cell and problem.row is None and problem.file and not problem.sheet:
        m = _YAML_LINE.fullmatch(problem.file)  # a params file's line: p.yaml:3
        if m and m.group(1).lower().endswith((".yaml", ".yml")):
            place = f"{m.group(1)} 第 {m.group(2)} 行"
    parts = [place.strip()] if place.strip() else []
    if problem.column:
        column = problem.column
        if column.endswith(" (sheet name)"):  # a round given by a sheet's name (评分-C2026Q2)
            column = column[: -len(" (sheet name)")] + "（工作表名）"
        parts.append(f"列「{column}」")
    return parts


def _validation(err: ValidationError) -> str:
    import pandas as pd

    cases = err.failure_cases
    lines = []
    for case in cases.head(err.max_shown).itertuples(index=False):
        def given(name, case=case):
            value = getattr(case, name, None)
            return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value

        row = given("row")
        where = _where(Problem(file=given("file"), row=None if row is None else int(row),
                               column=None if given("column") is None else str(case.column),
                               sheet=given("sheet"), cell=given("cell")))
        lines.append("：".join([*where, _translate(str(case.expected), _EXPECTED) + _got(case.value)]))
    n = len(cases)
    if n == 1:
        return lines[0]
    out = [f"数据有 {n} 处不符合要求："] + [f"  {line}" for line in lines]
    if n > err.max_shown:
        out.append(f"  ……另有 {n - err.max_shown} 处")
    return "\n".join(out)


def _got(value) -> str:
    shown = shown_value(value)
    return f"，实际为 {shown}" if shown else ""
