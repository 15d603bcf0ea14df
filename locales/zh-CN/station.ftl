# The pages of the counter's and the managers' station work: opening cards of every kind, transfers, the shift's close, complaints, leads, targets, flyer batches and day reports.

## The counter's tasks
station-tasks = 柜台任务

## Opening a card of every kind
station-holder_part = 持卡人（个人卡、单位主卡）
station-company_part = 单位卡（副卡、车队卡）
station-company_part_hint = 在单位主卡下开卡，需输入主卡密码（单位授权）
station-main_card = 单位主卡卡号
station-main_card_pin = 主卡密码
station-vehicle_part = 车辆（车队卡一车一卡）
station-vehicle_type = 车型
station-vehicle-car = 轿车
station-vehicle-suv = 越野车
station-vehicle-van = 面包车
station-vehicle-light_truck = 轻型货车
station-vehicle-heavy_truck = 重型货车
station-vehicle-bus = 客车
station-vehicle-other = 其他车型
station-displacement = 排量（升）
station-tank_capacity = 油箱容量（升）
station-baseline = 百公里油耗（升）
station-driver = 常用驾驶员
station-products_taken = 适用油品：
station-new_card_pin = 新卡密码（4–6 位）
station-channel = 客户来源
station-channel_kind = 来源渠道
station-channel_ref = 来源编号
station-channel_ref_hint = 宣传单批次号、推荐人卡号、联盟优惠代码或客户开发编号
station-channel_flyer = 宣传单
station-channel_stand = 展台活动
station-channel_referral = 老客户推荐
station-channel_partner = 联盟商户
station-channel_visit = 上门开发
station-channel_in_station = 站内自来

## Transfers between a company's cards
station-company_transfer = 单位卡资金划拨
station-transfer_hint = 主卡与其副卡之间划拨资金，需输入主卡密码
station-from_card = 转出卡
station-to_card = 转入卡
station-move_funds = 划拨
station-transfer_done = 划拨完成
station-another_transfer = 继续划拨

## The shift and the day report
station-shift = 交班
station-open_shift = 开班
station-opened_at = 开班时间
station-close_shift = 交班结账
station-count_hint = 清点钱箱，输入实收金额
station-expected = 应收
station-counted = 实收
station-difference = 差额
station-shift_closed = 已交班
station-day_report = 日结报表
station-date = 日期
station-day_totals = 当日合计
station-bonus_given = 赠送金额
station-recharges = 充值笔数
station-shifts = 班次
station-no_shifts = 当日没有班次
station-still_open = 未交班
station-products = 油品销售

## Prospects and leads
station-note_lead = 登记潜在客户
station-lead_hint = 柜台遇到有意办卡的客户，登记给站经理跟进
station-lead_noted = 已登记，站经理会跟进
station-prospect_list = 潜在客户列表
station-overdue_prospects = 逾期未跟进的潜在客户
station-overdue_by_station = 各站逾期跟进数
station-no_overdue = 没有逾期的跟进
station-stage = 阶段
station-any = 全部
station-only_overdue = 只看逾期
station-page_of = 第 { $page } / { $pages } 页，共 { $count } 条
station-previous = 上一页
station-next = 下一页

## Targets
station-set_targets = 设定油站目标
station-not_targets_role = 您的角色不能设定目标
station-no_stations = 没有可设定的油站
station-targets_saved = 已保存 { $count } 个油站的目标

## Flyer batches
station-flyers = 宣传单批次
station-register_flyers = 登记宣传单批次
station-batch_code = 批次号
station-handed_out = 发放份数
station-flyer_batches = 各批次转化
station-activated = 已激活
station-conversion = 转化率
station-by_channel = 本月各渠道开卡
station-activation_days = 开卡后 { $days } 天内加油计为激活
station-sales = 笔数

## 导入潜在客户
station-import_prospects = 从 CSV 导入潜在客户
station-import_hint = 第一行为表头，之后每行一个潜在客户。文件中只要有一行有误就不导入任何内容，并逐行指出错误。
station-import_columns = 各列依次为：
station-import_comma = 、
station-import_template = 下载带表头的空白文件
station-current_discount = 现有优惠
station-import_file = 选择文件
station-import_text = 或粘贴文件内容
station-import_button = 导入
station-imported = 已导入 { $n } 个潜在客户
station-import_header = 第一行必须是空白文件中的表头
station-import_too_many = 超过 { $max } 行
station-import_column = 请检查 { $column } 列
station-import_unreadable = 此行无法读取
station-line = 行
station-problem = 问题
station-not_prospects_role = 您的角色不负责潜在客户开发
