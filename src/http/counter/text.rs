//! The counter's words in Chinese and English, kept in one table so a
//! translation is one place to look.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// (key, 中文, English)
const TEXT: &[(&str, &str, &str)] = &[
    ("counter", "收银台", "Counter"),
    ("login", "登录", "Log in"),
    ("logout", "退出", "Log out"),
    ("username", "用户名", "Username"),
    ("password", "密码", "Password"),
    ("search", "查卡", "Find card"),
    (
        "search_hint",
        "卡号（16位）或持卡人手机号",
        "Card number (16 digits) or holder's phone",
    ),
    ("search_button", "查询", "Search"),
    ("open_card", "开卡", "Open a card"),
    (
        "no_cards_for_phone",
        "该手机号没有卡",
        "No cards for this phone number",
    ),
    ("card", "卡", "Card"),
    ("card_number", "卡号", "Card number"),
    ("kind", "卡类型", "Kind"),
    ("status", "状态", "Status"),
    ("holder", "持卡人", "Holder"),
    ("phone", "手机号", "Phone"),
    ("plate", "车牌号", "Plate"),
    ("balance", "余额", "Balance"),
    ("principal", "本金", "Principal"),
    ("bonus", "赠送金额", "Bonus"),
    ("recent", "最近交易", "Recent transactions"),
    ("time", "时间", "Time"),
    ("type", "类型", "Type"),
    ("amount", "金额", "Amount"),
    ("balance_after", "交易后余额", "Balance after"),
    ("station", "油站", "Station"),
    ("recharge", "充值", "Recharge"),
    ("payment_method", "付款方式", "Payment"),
    ("cash", "现金", "Cash"),
    ("bank_card", "银行卡", "Bank card"),
    ("transfer", "转账", "Transfer"),
    ("preview", "查看优惠", "Preview discount"),
    ("confirm_recharge", "确认充值", "Confirm recharge"),
    ("promotion", "优惠活动", "Promotion"),
    ("gift", "赠品", "Gift"),
    ("new_balance", "充值后余额", "New balance"),
    ("receipt", "小票", "Receipt"),
    ("print", "打印", "Print"),
    ("back_to_card", "返回卡片", "Back to the card"),
    ("sell", "加油消费", "Sell fuel"),
    ("product", "油品", "Product"),
    ("litres", "升数", "Litres"),
    ("or_amount", "或金额（应付）", "or amount (gross)"),
    ("pin", "密码", "PIN"),
    ("odometer", "里程表（公里）", "Odometer (km)"),
    ("confirm_sale", "确认消费", "Confirm sale"),
    ("unit_price", "单价", "Unit price"),
    ("discount", "优惠", "Discount"),
    ("charged", "实扣", "Charged"),
    (
        "card_life",
        "挂失 / 补卡 / 转卡",
        "Lost / replace / convert",
    ),
    ("report_lost", "挂失", "Report lost"),
    (
        "confirm_lost",
        "确认持卡人要求挂失",
        "The holder asks to report this card lost",
    ),
    ("replace", "补卡", "Replace card"),
    ("convert", "转为记名卡", "Register this card"),
    ("holder_name", "持卡人姓名", "Holder's name"),
    ("id_number", "证件号码", "ID number"),
    (
        "share_with_partners",
        "同意向合作商户提供资料（如保险登记）",
        "Consents to share data with partner merchants (e.g. insurance registration)",
    ),
    ("unlock", "解锁", "Unlock"),
    (
        "holders_word",
        "持卡人确认：卡密码，或核对证件",
        "The holder's word: the card's PIN, or their ID document",
    ),
    ("document_kind", "证件类型", "Document"),
    ("resident_id", "居民身份证", "Resident ID card"),
    ("passport", "护照", "Passport"),
    ("travel_permit", "来往内地通行证", "Travel permit"),
    ("business_licence", "营业执照", "Business licence"),
    ("personal", "个人卡", "Personal"),
    ("company_main", "单位主卡", "Company main"),
    ("company_sub", "单位副卡", "Company sub-card"),
    ("fleet", "车队卡", "Fleet"),
    ("anonymous", "不记名卡", "Anonymous"),
    ("active", "正常", "Active"),
    ("locked", "已锁定", "Locked"),
    ("lost", "已挂失", "Lost"),
    ("replaced", "已补卡", "Replaced"),
    ("closed", "已销卡", "Closed"),
    ("sale", "消费", "Sale"),
    ("closure", "销卡", "Closure"),
    ("replacement", "补卡转入", "Replacement"),
    ("card_transfer", "划拨", "Transfer"),
    ("hold_capture", "预授权完成", "Hold capture"),
    ("allocation", "月度分配", "Allocation"),
    (
        "not_counter_role",
        "您的角色不能使用收银台",
        "Your role does not work the counter",
    ),
    ("no_transactions", "暂无交易", "No transactions yet"),
    ("customer_kind", "客户类型", "Customer"),
    ("person", "个人", "Person"),
    ("company", "单位", "Company"),
    ("open", "开卡", "Open"),
    ("new_card_number", "新卡号", "New card number"),
    ("cashier", "收银员", "Cashier"),
    ("chip", "芯片", "Chip"),
    ("read_card", "读卡", "Read card"),
    ("chip_balance", "芯片余额", "Chip balance"),
    (
        "host_chip_balance",
        "主机记录的芯片余额",
        "Chip balance on the host",
    ),
    ("chip_agrees", "芯片与主机一致", "Chip and host agree"),
    ("chip_differs", "芯片与主机不一致", "Chip and host differ"),
    ("chip_settled", "读卡时已处理", "Settled on reading"),
    ("load_to_chip", "圈存到芯片", "Load onto the chip"),
    ("issue_chip", "写卡（个人化）", "Write the chip"),
    (
        "issue_chip_hint",
        "读卡器中的空白卡写成此卡号，并设置密码",
        "Writes the blank card in the reader as this card, with a PIN",
    ),
    ("alliance", "商户联盟", "Merchant alliance"),
    ("merchant_desk", "商户核销", "Redeem benefits"),
    (
        "not_merchant_role",
        "您的账号不属于合作商户",
        "Your user does not belong to a partner merchant",
    ),
    (
        "not_alliance_role",
        "商户联盟由总部管理",
        "Head office manages the merchant alliance",
    ),
    ("redeem_by_code", "凭券码核销", "Redeem by voucher code"),
    ("voucher_code", "券码", "Voucher code"),
    (
        "voucher_code_hint",
        "客户出示的12位券码（大小写、横线均可）",
        "The 12-character code the customer shows (case and dashes do not matter)",
    ),
    ("redeem", "核销", "Redeem"),
    ("look_up", "查询", "Look up"),
    (
        "redeem_by_card",
        "凭卡号核销（每月权益、折扣）",
        "Redeem by card (monthly entitlements, discounts)",
    ),
    ("offer", "权益活动", "Offer"),
    (
        "purchase_amount",
        "消费金额（按比例折扣时填写）",
        "Purchase amount (for a percentage discount)",
    ),
    ("customer", "客户", "Customer"),
    ("phone_last4", "手机尾号", "Phone ends in"),
    ("card_last4", "卡号尾号", "Card ends in"),
    ("redeemed_ok", "核销成功", "Redeemed"),
    ("found", "查询结果", "Found"),
    ("value", "价值", "Value"),
    ("uses_left", "本月剩余次数", "Uses left this month"),
    ("todays_redemptions", "今日核销", "Today's redemptions"),
    ("no_redemptions", "今日暂无核销", "No redemptions today"),
    ("reverse", "撤销", "Reverse"),
    ("reversed", "已撤销", "Reversed"),
    ("redemption_stands", "有效", "Done"),
    ("settlement", "月度结算", "Monthly settlement"),
    ("this_month", "本月", "This month"),
    ("last_month", "上月", "Last month"),
    ("benefits", "合作商户权益", "Partner benefits"),
    ("item", "权益内容", "Item"),
    ("merchant", "商户", "Merchant"),
    ("expires", "有效期至", "Valid until"),
    ("benefit_status_granted", "待核销", "To redeem"),
    ("benefit_status_redeemed", "已核销", "Redeemed"),
    ("benefit_status_expired", "已过期", "Expired"),
    ("benefit_voucher", "兑换券", "Voucher"),
    ("benefit_entitlement", "每月权益", "Monthly entitlement"),
    ("benefit_discount", "折扣", "Discount"),
    ("benefit_gift", "礼品", "Gift"),
    ("no_benefits", "暂无权益", "No benefits"),
    ("earned_now", "本次获得的权益", "Benefits earned just now"),
    (
        "notice_budget_exhausted",
        "活动预算已用完，本次未发放",
        "The offer's budget is used up: nothing was granted",
    ),
    (
        "notice_consent_missing",
        "已发放，但客户未同意向合作商户提供资料，暂不在商户名单中",
        "Granted, but the customer has not consented to sharing their data: left off the partner's list until they do",
    ),
    ("month", "月份", "Month"),
    ("redemptions", "核销次数", "Redemptions"),
    ("station_owes", "油站应付商户", "Stations owe the merchant"),
    (
        "merchant_owes",
        "商户应付油站",
        "The merchant owes the stations",
    ),
    ("delivered_by", "兑付方", "Delivered"),
    ("delivered_merchant", "商户处", "At the merchant"),
    ("delivered_station", "油站", "At a station"),
    ("settlement_open", "未结算", "Open"),
    ("settlement_settled", "已结算", "Settled"),
    ("settled_at", "结算时间", "Settled at"),
    ("settled_by", "结算人", "Settled by"),
    ("settle", "确认结算", "Settle"),
    (
        "settle_when_over",
        "月份结束后方可结算",
        "A month is settled once it is over",
    ),
    ("show", "查看", "Show"),
    ("total", "合计", "Total"),
    ("whole_network", "全网", "Network"),
    ("merchants", "合作商户", "Partner merchants"),
    ("code", "代码", "Code"),
    ("name", "名称", "Name"),
    ("category", "类别", "Category"),
    ("partner_stations", "合作油站", "Stations"),
    ("offers", "权益活动", "Offers"),
    ("trigger", "触发条件", "Trigger"),
    ("granted_of_budget", "已发放 / 预算", "Granted / budget"),
    ("budget_left", "剩余预算", "Budget left"),
    ("granted_amount", "已发放金额", "Granted amount"),
    ("redeemed_count", "已核销", "Redeemed"),
    ("effectiveness", "活动效果", "Effectiveness"),
    ("redemption_rate", "核销率", "Redemption rate"),
    ("cards_opened", "带来开卡", "Cards opened"),
    ("recharge_amount", "带来充值", "Recharged"),
    ("cost", "成本", "Cost"),
    ("cost_per_new_card", "每张新卡成本", "Cost per new card"),
    ("grantees", "客户名单", "Grantees"),
    ("no_limit", "不限", "No limit"),
    ("event_card_opened", "开卡", "Card opened"),
    ("event_recharge", "单次充值", "One recharge"),
    ("event_sale", "单次加油", "One sale"),
    ("event_monthly_spend", "当月加油累计", "Month's fuel spend"),
    ("at_least", "满", "at least"),
    ("insurance", "保险", "Insurance"),
    ("car_wash", "洗车", "Car wash"),
    ("restaurant", "餐饮", "Restaurant"),
    ("car_repair", "汽修", "Car repair"),
];

/// Friendlier words for the refusals a cashier meets most.
const CODES: &[(&str, &str, &str)] = &[
    ("insufficient_balance", "余额不足", "Insufficient balance"),
    (
        "company_consent_required",
        "单位资金需主卡密码或单位管理员确认",
        "Company funds move only with the main card's PIN or the fleet manager's decision",
    ),
    (
        "main_card_not_for_fuel",
        "单位主卡为资金管理卡，不能加油",
        "A company main card holds funds and does not buy fuel",
    ),
    (
        "not_your_company",
        "不是本单位的卡",
        "Not your company's card",
    ),
    (
        "outside_your_station",
        "这是其他油站的业务",
        "This belongs to another station's counter",
    ),
    (
        "card_blacklisted",
        "此卡已挂失，禁止使用",
        "This card is reported lost",
    ),
    ("card_locked", "此卡已锁定", "This card is locked"),
    (
        "pin_locked",
        "密码错误次数过多，卡已锁定",
        "Too many wrong PINs: the card is locked",
    ),
    ("wrong_pin", "密码错误", "Wrong PIN"),
    (
        "plate_required",
        "车队卡加油须填写车牌号",
        "A fleet card's sale needs the vehicle's plate",
    ),
    ("pin_required", "请输入密码", "Enter the PIN"),
    ("card_closed", "此卡已销卡", "This card is closed"),
    (
        "holder_check_required",
        "需持卡人确认：请输入卡密码或核对证件",
        "The holder must confirm: the card's PIN or their ID document",
    ),
    (
        "identity_mismatch",
        "证件与登记信息不符",
        "The document does not match the record",
    ),
    (
        "illegal_transition",
        "卡片当前状态不允许此操作",
        "Not possible in the card's present state",
    ),
    (
        "invalid_card_number",
        "卡号有误，请核对",
        "Card number mistyped",
    ),
    ("card_not_found", "没有这张卡", "No such card"),
    ("invalid_amount", "金额有误", "Amount not valid"),
    ("invalid_litres", "升数有误", "Litres not valid"),
    (
        "invalid_credentials",
        "用户名或密码错误",
        "Wrong username or password",
    ),
    (
        "benefit_not_found",
        "没有此权益，请核对券码或卡号",
        "No such benefit: check the code or the card",
    ),
    (
        "voucher_redeemed",
        "此券已核销",
        "This voucher has been redeemed already",
    ),
    (
        "entitlement_used_this_period",
        "本月次数已用完，下月1日恢复",
        "Used up this month; it renews on the 1st",
    ),
    (
        "benefit_expired",
        "此权益已过期",
        "This benefit has expired",
    ),
    (
        "benefit_not_at_station",
        "此权益须到商户处核销",
        "This benefit is delivered at the merchant",
    ),
    ("redemption_not_found", "没有这笔核销", "No such redemption"),
    (
        "redemption_reversed",
        "这笔核销已撤销",
        "This redemption is reversed already",
    ),
    (
        "reversal_window_passed",
        "已超过可撤销的时限",
        "Too late to reverse this redemption",
    ),
    (
        "settlement_closed",
        "该月已结算，不能再撤销",
        "The month is settled: it can no longer be reversed",
    ),
    (
        "month_not_over",
        "该月尚未结束，下月1日起方可结算",
        "The month is not over: it is settled from the 1st of the next",
    ),
    ("merchant_not_found", "没有此商户", "No such merchant"),
    ("offer_not_found", "没有此活动", "No such offer"),
    (
        "no_partner_list",
        "此活动不向商户提供客户资料，没有名单",
        "This offer sends its partner no customer data: there is no list",
    ),
];

fn find(
    table: &[(&str, &'static str, &'static str)],
    key: &str,
    lang: Lang,
) -> Option<&'static str> {
    table
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| if lang == Lang::Zh { *zh } else { *en })
}

/// The word for `key`; an unknown key shows itself, so a gap is visible.
pub fn t(lang: Lang, key: &'static str) -> &'static str {
    find(TEXT, key, lang).unwrap_or(key)
}

/// The word for a stored value (card kind, status, operation kind).
pub fn word(lang: Lang, key: &str) -> String {
    find(TEXT, key, lang).map_or_else(|| key.to_string(), String::from)
}

/// A page's own words, both languages side by side where the page is
/// written (the manager and fleet pages, read in either language).
pub fn w(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    if lang == Lang::Zh { zh } else { en }
}

pub fn for_code(lang: Lang, code: &str) -> Option<&'static str> {
    find(CODES, code, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique() {
        let mut keys: Vec<_> = TEXT.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn both_languages() {
        assert_eq!(t(Lang::Zh, "recharge"), "充值");
        assert_eq!(t(Lang::En, "recharge"), "Recharge");
        assert_eq!(word(Lang::Zh, "lost"), "已挂失");
        assert_eq!(
            for_code(Lang::En, "card_blacklisted"),
            Some("This card is reported lost")
        );
    }
}
