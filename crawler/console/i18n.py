"""The console's words, Chinese first (the digests and reports are for Chinese regulators) and
English on request (`?lang=en`, kept for the session)."""

from __future__ import annotations

from crawler.app.accounts import ROLE_ZH
from crawler.app.triage import STATUS_EN, STATUS_ZH
from matchers.base import SIGNAL_LABELS

LANGS = ("zh", "en")

WORDS: dict[str, tuple[str, str]] = {
    "app": ("利剑监测 审核台", "Lijian Monitor console"),
    "queue": ("可疑线索", "Suspects"),
    "sampling": ("抽检", "Sampling"),
    "reports": ("报告", "Reports"),
    "operations": ("运行", "Operations"),
    "evidence": ("证据", "Evidence"),
    "users": ("账户", "Accounts"),
    "logout": ("退出", "Sign out"),
    "login": ("登录", "Sign in"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "filters": ("筛选", "Filters"),
    "apply": ("应用", "Apply"),
    "reset": ("清除", "Reset"),
    "date_from": ("发现日期自", "Flagged from"),
    "date_to": ("至", "to"),
    "status": ("状态", "Status"),
    "area": ("类别", "Area"),
    "marketplace": ("平台", "Marketplace"),
    "region": ("地区", "Region"),
    "brand": ("品牌", "Brand"),
    "signal": ("信号", "Signal"),
    "min_score": ("最低风险分", "Min score"),
    "campaign": ("任务", "Campaign"),
    "sort": ("排序", "Sort"),
    "all": ("全部", "all"),
    "score": ("风险分", "Score"),
    "title": ("商品标题", "Title"),
    "price": ("价格", "Price"),
    "seller": ("店铺", "Seller"),
    "flagged": ("发现时间", "Flagged"),
    "decided": ("处理", "Decision"),
    "signals": ("可疑原因", "Signals"),
    "total": ("共", "Total"),
    "page": ("页", "page"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "selected": ("对选中的线索", "For the selected suspects"),
    "decide": ("处理", "Decide"),
    "note": ("备注", "Note"),
    "confirm": ("确认", "Confirm"),
    "false_positive": ("误报", "False positive"),
    "order_sampling": ("下单抽检", "Order sampling"),
    "close": ("结案", "Close"),
    "reopen": ("重新打开", "Reopen"),
    "export_selected": ("导出证据包", "Export evidence packages"),
    "keys": ("键盘：j/k 上下，x 选中，回车 打开，/ 筛选", "Keys: j/k move, x select, Enter open, / filters"),
    "listing": ("商品", "Listing"),
    "as_captured": ("抓取时所见", "As captured"),
    "no_screenshot": ("尚无截图（未取证）", "No screenshot yet (no capture)"),
    "specs": ("规格参数", "Specifications"),
    "history": ("历史快照", "Snapshot history"),
    "observed": ("观察时间", "Observed"),
    "watchlist_entry": ("名单中的正品品牌", "The genuine brand on the watchlist"),
    "names": ("名称", "Names"),
    "owner": ("权利人", "Owner"),
    "official_shops": ("官方店铺", "Official shops"),
    "reference_prices": ("参考价格", "Reference prices"),
    "listing_value": ("商品中的值", "In the listing"),
    "watchlist_value": ("名单中的值", "On the watchlist"),
    "weight": ("权重", "Weight"),
    "role": ("作用", "Role"),
    "other_listings": ("该店铺的其他商品", "The seller's other listings"),
    "network": ("关联店铺（同一电话）", "Seller network (same phone)"),
    "captures": ("取证记录", "Evidence captures"),
    "files": ("文件", "Files"),
    "verify": ("校验", "Verify"),
    "decisions": ("处理记录", "Decision history"),
    "when": ("时间", "When"),
    "who": ("操作人", "Who"),
    "what": ("内容", "What"),
    "source": ("来源", "Source"),
    "orders": ("抽检单", "Sampling orders"),
    "create_orders": ("生成抽检清单", "Create the order list"),
    "limit": ("数量", "How many"),
    "quantity": ("每件购买数量", "Items per listing"),
    "record_result": ("录入检验结果", "Record the lab result"),
    "pass": ("合格", "pass"),
    "fail": ("不合格", "fail"),
    "result": ("结果", "Result"),
    "batch": ("批次", "Batch"),
    "period": ("周期", "Period"),
    "week": ("周报", "Week"),
    "month": ("月报", "Month"),
    "quarter": ("季报", "Quarter"),
    "open_report": ("生成并打开报告", "Write and open the report"),
    "campaigns": ("抓取任务", "Campaigns"),
    "runs": ("运行记录", "Runs"),
    "scheduler": ("调度器", "Scheduler"),
    "schedule": ("计划", "Schedule"),
    "next_run": ("下次运行", "Next run"),
    "running": ("运行中", "Running now"),
    "last_run": ("上次运行", "Last run"),
    "enabled": ("启用", "enabled"),
    "paused": ("已暂停", "paused"),
    "pause": ("暂停", "Pause"),
    "resume": ("恢复", "Resume"),
    "run_now": ("立即运行", "Run now"),
    "edit": ("修改", "Edit"),
    "save": ("保存", "Save"),
    "sites": ("平台配置", "Sites"),
    "keywords": ("关键词", "Keywords"),
    "limits": ("限制", "Limits"),
    "health": ("健康", "Health"),
    "stages": ("阶段", "Stages"),
    "errors": ("错误", "Errors"),
    "pages_n": ("页面", "Pages"),
    "listings_n": ("商品", "Listings"),
    "suspects_n": ("新线索", "New suspects"),
    "export": ("导出", "Export"),
    "suspect_ids": ("线索编号（逗号分隔）", "Suspect IDs (comma-separated)"),
    "upload_verify": ("上传证据包校验", "Upload a package to verify"),
    "verified": ("校验通过", "Verified"),
    "not_verified": ("校验未通过", "Does not verify"),
    "packages": ("证据包", "Packages"),
    "conflict": ("处理冲突", "Conflict"),
    "forbidden": ("无权操作", "Not allowed"),
    "not_found": ("未找到", "Not found"),
    "bad_request": ("请求无效", "Bad request"),
    "too_many": ("尝试次数过多", "Too many attempts"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "nothing": ("无", "none"),
    "open_listing": ("打开原商品页", "Open the listing"),
    "download": ("下载", "Download"),
    "id": ("编号", "ID"),
    "decisive": ("决定性", "decisive"),
    "context": ("参考", "context"),
}


def word(key: str, lang: str) -> str:
    pair = WORDS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def status_label(code: str, lang: str) -> str:
    return (STATUS_ZH if lang == "zh" else STATUS_EN).get(code, code)


def signal_label(name: str, lang: str) -> str:
    pair = SIGNAL_LABELS.get(name)
    return (pair[0] if lang == "zh" else pair[1]) if pair else name


def role_label(role: str, lang: str) -> str:
    return ROLE_ZH.get(role, role) if lang == "zh" else role
