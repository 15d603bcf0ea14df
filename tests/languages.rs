//! One language per page: every page each demo role can open, read in
//! Chinese and in English on a fresh demo network (`fuelcard serve --demo`),
//! shows no words of the other language and no raw `snake_case` code.
//! What is data (names, addresses, offers' items, usernames, plates) is
//! marked on the pages (`class="data"`, or a code's `class="code"`) and
//! shown as it was written; key names (`kbd`) and text marked with its own
//! `lang` (the switch to the other language) are left out too.

use reqwest::{StatusCode, Url};

use crate::pages::post_form;
use crate::support::{Backend, FreshDb};
use crate::with_each_backend;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lang {
    Zh,
    En,
}

/// Latin words a Chinese page may show: units, the product's name and the
/// format hints the counter uses everywhere.
const LATIN_ALLOWED: &[&str] = &["fuelcard", "PIN", "CSV", "ID", "L", "km", "XXXX"];

/// Elements whose content is not text to read (or not the page's words).
const SKIPPED: &[&str] = &["script", "style", "kbd"];
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];
/// Attributes a reader sees as text.
const SHOWN_ATTRIBUTES: &[&str] = &["placeholder", "title", "aria-label"];

/// A piece of a page a reader sees, and whether it is marked as data.
struct Shown {
    text: String,
    data: bool,
}

pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The attributes of a start tag's inside (`td class="data" lang="en"`).
fn attributes(inside: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = inside;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq]
            .split_whitespace()
            .last()
            .unwrap_or("")
            .to_string();
        let after = &rest[eq + 1..];
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            },
            None => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        out.push((name, unescape(value)));
        rest = tail;
    }
    out
}

/// The text of a page as a reader sees it, each piece marked data or not.
fn shown(html: &str, lang: Lang) -> Vec<Shown> {
    let page_lang = match lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    let mut out = Vec::new();
    // Open elements: name, whether inside it is data, whether skipped.
    let mut open: Vec<(String, bool, bool)> = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            break;
        };
        let (data, skipped) = open.last().map_or((false, false), |(_, d, s)| (*d, *s));
        let text = unescape(&rest[..lt]);
        if !skipped && !text.trim().is_empty() {
            out.push(Shown { text, data });
        }
        rest = &rest[lt..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |e| &comment[e + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            if let Some(at) = open.iter().rposition(|(n, _, _)| *n == name) {
                open.truncate(at);
            }
            continue;
        }
        let name: String = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let attrs = attributes(tag);
        let marked = attrs.iter().any(|(k, v)| {
            (k == "class" && v.split_whitespace().any(|c| c == "data" || c == "code"))
                || (k == "lang" && v != page_lang)
        });
        let here_data = data || marked;
        let here_skipped = skipped || SKIPPED.contains(&name.as_str());
        if !here_skipped {
            for (k, v) in &attrs {
                if SHOWN_ATTRIBUTES.contains(&k.as_str()) && !v.trim().is_empty() {
                    out.push(Shown {
                        text: v.clone(),
                        data: here_data,
                    });
                }
            }
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}>");
            rest = rest.find(&close).map_or("", |e| &rest[e..]);
        }
        if !VOID.contains(&name.as_str()) && !tag.ends_with('/') {
            open.push((name, here_data, here_skipped));
        }
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303F}' | '\u{3400}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}')
}

/// Runs of ASCII letters, digits and `_`.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
}

/// A stored code shown raw: lower-case words joined by `_`.
fn is_snake_case(token: &str) -> bool {
    token.contains('_')
        && token.split('_').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A Latin word a Chinese page may show: the allowed list, and codes of
/// capitals and digits (stations `S001`, merchants `M001`, a plate's
/// `A12345`).
fn latin_allowed(token: &str) -> bool {
    if LATIN_ALLOWED.contains(&token) || !token.bytes().any(|b| b.is_ascii_alphabetic()) {
        return true;
    }
    let letters = token.bytes().take_while(u8::is_ascii_uppercase).count();
    letters > 0 && letters < token.len() && token.bytes().skip(letters).all(|b| b.is_ascii_digit())
}

/// What is wrong with a page's text in its language.
pub fn problems(html: &str, lang: Lang) -> Vec<String> {
    let mut found = Vec::new();
    for piece in shown(html, lang) {
        for token in tokens(&piece.text) {
            if is_snake_case(token) {
                found.push(format!("raw code {token:?} in {:?}", piece.text.trim()));
            }
        }
        if piece.data {
            continue;
        }
        match lang {
            Lang::Zh => {
                for token in tokens(&piece.text).filter(|t| !latin_allowed(t)) {
                    found.push(format!("Latin {token:?} in {:?}", piece.text.trim()));
                }
            }
            Lang::En => {
                if piece.text.chars().any(is_cjk) {
                    found.push(format!("Chinese in {:?}", piece.text.trim()));
                }
            }
        }
    }
    found
}

/// A browser's session in one language: cookies kept, redirects followed.
struct Reader {
    client: reqwest::Client,
    base: String,
    lang: Lang,
    /// Every page read and what was wrong on it.
    report: Vec<String>,
    pages: usize,
}

impl Reader {
    fn new(base: &str, lang: Lang) -> Reader {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        if lang == Lang::En {
            let url: Url = base.parse().expect("the base URL");
            jar.add_cookie_str("fuelcard_lang=en; Path=/", &url);
        }
        Reader {
            client: reqwest::Client::builder()
                .cookie_provider(jar)
                .build()
                .expect("client"),
            base: base.to_string(),
            lang,
            report: Vec::new(),
            pages: 0,
        }
    }

    fn check(&mut self, what: &str, url: &str, status: StatusCode, html: &str) {
        self.pages += 1;
        assert!(
            html.contains("<html lang="),
            "{what} ({url}, {status}) is a page: {html}"
        );
        for p in problems(html, self.lang) {
            self.report
                .push(format!("{:?} {what} ({url}): {p}", self.lang));
        }
    }

    /// Reads a page; answers its final address and its HTML.
    async fn read(&mut self, what: &str, path: &str) -> (String, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("answer");
        let (url, status) = (r.url().to_string(), r.status());
        let html = r.text().await.expect("html");
        self.check(what, &url, status, &html);
        (url, html)
    }

    /// Posts a page's form; answers the page it leads to.
    async fn post(&mut self, what: &str, path: &str, form: &[(&str, &str)]) -> (String, String) {
        let r = post_form(&self.client, format!("{}{path}", self.base), form)
            .await
            .expect("answer");
        let (url, status) = (r.url().to_string(), r.status());
        let html = r.text().await.expect("html");
        self.check(what, &url, status, &html);
        (url, html)
    }

    async fn log_in(&mut self, username: &str) {
        let password = format!("{username}-demo");
        let (url, html) = self
            .post(
                "login",
                "/login",
                &[("username", username), ("password", &password)],
            )
            .await;
        assert!(!url.ends_with("/login"), "{username} logs in: {html}");
    }

    async fn log_out(&mut self) {
        self.post("logout", "/logout", &[]).await;
    }

    /// The card page a phone number's search leads to (the first card
    /// listed when there are several).
    async fn card_of(&mut self, phone: &str) -> String {
        let (url, html) = self.read("search", &format!("/search?q={phone}")).await;
        let path = Url::parse(&url).expect("url").path().to_string();
        if path.starts_with("/cards/") {
            return path.trim_start_matches("/cards/").to_string();
        }
        first_link(&html, "/cards/").unwrap_or_else(|| panic!("a card for {phone}: {html}"))
    }
}

/// The id in the first `href="{prefix}ID"` on a page whose id is a number.
fn first_link(html: &str, prefix: &str) -> Option<String> {
    html.split(&format!("href=\"{prefix}"))
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .map(String::from)
}

/// Every page of every role, in one language.
async fn read_every_page(r: &mut Reader, today_month: &str, last_month: &str) {
    r.read("login page", "/login").await;
    let (_, html) = r
        .post(
            "refused login",
            "/login",
            &[("username", "cashier1"), ("password", "wrong")],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");

    // The cashier: search, a card, its money forms and their receipts and
    // refusals, the card-life forms, the chip without a reader.
    r.log_in("cashier1").await;
    r.read("home", "/").await;
    r.read("no card for a phone", "/search?q=13999999999").await;
    r.read("a mistyped card number", "/search?q=9100000000000000")
        .await;
    r.read("new card form", "/cards/new").await;
    let card = r.card_of("13800000001").await;
    r.read("card page", &format!("/cards/{card}")).await;
    r.read(
        "recharge preview",
        &format!("/cards/{card}/recharge?amount=1000.00&method=bank_card"),
    )
    .await;
    let key = uuid::Uuid::new_v4().to_string();
    let (url, _) = r
        .post(
            "recharge",
            &format!("/cards/{card}/recharge"),
            &[("key", &key), ("amount", "1000.00"), ("method", "cash")],
        )
        .await;
    assert!(url.contains("/receipts/recharge/"), "{url}");
    let key = uuid::Uuid::new_v4().to_string();
    let (url, _) = r
        .post(
            "sale",
            &format!("/cards/{card}/sale"),
            &[("key", key.as_str()), ("product", "92"), ("litres", "10")],
        )
        .await;
    assert!(url.contains("/receipts/sale/"), "{url}");
    let key = uuid::Uuid::new_v4().to_string();
    let (_, html) = r
        .post(
            "refused sale",
            &format!("/cards/{card}/sale"),
            &[("key", key.as_str()), ("product", "92"), ("litres", "9000")],
        )
        .await;
    let words = match r.lang {
        Lang::Zh => "余额不足",
        Lang::En => "Insufficient balance",
    };
    assert!(html.contains(words), "{html}");
    r.read("the card after its sale", &format!("/cards/{card}"))
        .await;
    let (_, html) = r
        .post(
            "refused loss report",
            &format!("/cards/{card}/loss-report"),
            &[("confirm", "no")],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    let main = r.card_of("0571-8888-1234").await;
    let key = uuid::Uuid::new_v4().to_string();
    let (_, html) = r
        .post(
            "wrong PIN",
            &format!("/cards/{main}/replacement"),
            &[("key", key.as_str()), ("pin", "0000")],
        )
        .await;
    // Chinese is read first: two tries are left then, one in English.
    let words = match r.lang {
        Lang::Zh => "密码错误，还剩 2 次",
        Lang::En => "Wrong PIN: 1 try left",
    };
    assert!(html.contains(words), "{html}");
    let (_, html) = r
        .post(
            "chip without a reader",
            &format!("/cards/{main}/chip/read"),
            &[],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    r.read("a role's refusal", "/alliance").await;
    // The customer pages from the card pages, the complaint board (a
    // complaint recorded, one refused) and the call-back list.
    let (_, html) = r.read("company card page", &format!("/cards/{main}")).await;
    let company = first_link(&html, "/customers/").expect("the company's page link");
    r.read("company page", &format!("/customers/{company}"))
        .await;
    let (_, html) = r.read("card page", &format!("/cards/{card}")).await;
    let person = first_link(&html, "/customers/").expect("the holder's page link");
    r.read("customer page", &format!("/customers/{person}"))
        .await;
    r.read("own password form", "/me/password").await;
    let (_, html) = r
        .post(
            "refused password change",
            "/me/password",
            &[
                ("current_password", "cashier1-demo"),
                ("new_password", "a-new-password-1"),
                ("new_password_again", "a-new-password-2"),
            ],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    r.read("complaint board", "/complaints").await;
    let key = uuid::Uuid::new_v4().to_string();
    let (url, _) = r
        .post(
            "recorded complaint",
            "/complaints",
            &[
                ("key", key.as_str()),
                ("channel", "phone"),
                ("category", "fuel_quality"),
                ("customer_id", person.as_str()),
                ("text", "加油后发动机故障灯亮"),
            ],
        )
        .await;
    assert!(url.contains("/complaints"), "{url}");
    let key = uuid::Uuid::new_v4().to_string();
    let (_, html) = r
        .post(
            "refused complaint",
            "/complaints",
            &[
                ("key", key.as_str()),
                ("channel", "counter"),
                ("category", "service"),
                ("text", " "),
            ],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    r.read("call-back list", "/callbacks").await;
    r.read("customer care", "/care").await;
    r.read("visit plan", "/visits").await;
    r.read("birthdays", "/birthdays?days=366").await;
    // The station's pages at the counter: a refused new card, the transfer
    // form and a refused transfer, the lead form and a refused lead, the
    // shift, its refused close, and the day report.
    let (_, html) = r
        .post(
            "refused fleet card",
            "/cards/new",
            &[
                ("key", "lang-fleet"),
                ("kind", "fleet"),
                ("plate", "浙A1"),
                ("channel", "flyer"),
            ],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    r.read("transfer form", "/transfers").await;
    r.post(
        "refused transfer",
        "/transfers",
        &[
            ("key", "lang-tr"),
            ("from_card", "12"),
            ("to_card", "34"),
            ("amount", "x"),
        ],
    )
    .await;
    r.read("lead form", "/prospects/leads").await;
    r.post(
        "refused lead",
        "/prospects/leads",
        &[("key", "lang-lead"), ("kind", "fleet"), ("name", "")],
    )
    .await;
    let (_, html) = r.read("shift", "/shifts/current").await;
    if let Some(id) = html
        .split("action=\"/shifts/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
    {
        let path = format!("/shifts/{id}/close");
        r.post("refused shift close", &path, &[("counted_cash", "x")])
            .await;
    }
    r.read("day report", "/stations/S001/day-report").await;
    r.read("another station's day report", "/stations/S002/day-report")
        .await;
    r.log_out().await;

    // The managers' acquisition pages.
    for manager in ["manager1", "district-east", "hq-office", "admin"] {
        r.log_in(manager).await;
        r.read("home", "/").await;
        let (_, html) = r.read("acquisition", "/acquisition").await;
        assert!(html.contains("id=\"tracking\""), "{manager}: {html}");
        r.read(
            "last month's acquisition",
            &format!("/acquisition?month={last_month}"),
        )
        .await;
        let (_, board) = r.read("prospects", "/acquisition/prospects").await;
        if let Some(id) = first_link(&board, "/acquisition/prospects/") {
            r.read("prospect", &format!("/acquisition/prospects/{id}"))
                .await;
        }
        r.read("weekly report", "/acquisition/weekly").await;
        let (_, board) = r.read("complaint board", "/complaints").await;
        r.read(
            "last month's complaints",
            &format!("/complaints?month={last_month}"),
        )
        .await;
        if manager == "manager1" {
            let id = board
                .split("id=\"complaint-")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("a complaint on the board")
                .to_string();
            let path = format!("/complaints/{id}/move");
            let (_, html) = r
                .post(
                    "refused assignment",
                    &path,
                    &[("step", "assign"), ("assignee", "nobody")],
                )
                .await;
            assert!(html.contains("class=\"error\""), "{html}");
            r.post(
                "assigned complaint",
                &path,
                &[("step", "assign"), ("assignee", "cashier1")],
            )
            .await;
        }
        r.read("call-back list", "/callbacks").await;
        let (_, care) = r.read("customer care", "/care").await;
        let customer = care.split("href=\"/care?customer=").nth(1).map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        });
        if let Some(customer) = customer {
            r.read("a customer to log", &format!("/care?customer={customer}"))
                .await;
        }
        r.read("visit plan", "/visits").await;
        if manager == "manager1" {
            let (_, html) = r
                .post(
                    "refused visit",
                    "/visits",
                    &[
                        ("key", &uuid::Uuid::new_v4().to_string()),
                        ("customer_id", "x"),
                        ("planned_for", "2000-01-01"),
                        ("purpose", "key_customer"),
                    ],
                )
                .await;
            assert!(html.contains("field-error"), "{html}");
        }
        r.read("birthdays", "/birthdays?days=366").await;
        r.read("prospect list", "/prospects?overdue=1").await;
        r.read("prospect import", "/prospects/import").await;
        if manager != "hq-office" {
            let (_, html) = r
                .post(
                    "refused prospect import",
                    "/prospects/import",
                    &[("station", "S001"), ("csv", "kind,name\nfleet,x\n")],
                )
                .await;
            assert!(html.contains("id=\"import-report\""), "{html}");
        }
        r.read("flyer batches", "/acquisition/flyers").await;
        if manager == "district-east" {
            r.read("targets", &format!("/targets/{today_month}")).await;
            r.post(
                "refused targets",
                &format!("/targets/{today_month}"),
                &[("new_personal:S001", "x")],
            )
            .await;
            r.read("day report", "/stations/S003/day-report").await;
        }
        if manager == "hq-office" || manager == "admin" {
            r.read("credit customers", "/credit").await;
            r.read(
                "credit account without a line",
                &format!("/credit/{company}"),
            )
            .await;
            r.post(
                "credit line set",
                &format!("/credit/{company}/line"),
                &[
                    ("limit", "50000.00"),
                    ("statement_day", "25"),
                    ("days_to_pay", "10"),
                    ("grace_days", "5"),
                ],
            )
            .await;
            let (_, html) = r
                .read("credit account", &format!("/credit/{company}"))
                .await;
            assert!(html.contains("id=\"line\""), "{html}");
            let key = uuid::Uuid::new_v4().to_string();
            let (_, html) = r
                .post(
                    "refused credit card",
                    "/cards",
                    &[
                        ("key", key.as_str()),
                        ("customer_id", company.as_str()),
                        ("kind", "fleet"),
                        ("plate", ""),
                    ],
                )
                .await;
            assert!(html.contains("class=\"error\""), "{html}");
            r.read("card page at head office", &format!("/cards/{main}"))
                .await;
            let (_, html) = r
                .read("customer page with merge", &format!("/customers/{person}"))
                .await;
            assert!(html.contains("id=\"merge-form\""), "{html}");
            let (_, html) = r
                .post(
                    "refused merge",
                    &format!("/customers/{person}/merge"),
                    &[("other_id", "x")],
                )
                .await;
            assert!(html.contains("class=\"error\""), "{html}");
            let key = uuid::Uuid::new_v4().to_string();
            let (_, html) = r
                .post(
                    "refused payment",
                    &format!("/credit/{company}/payments"),
                    &[
                        ("key", key.as_str()),
                        ("amount", "0"),
                        ("method", "transfer"),
                    ],
                )
                .await;
            assert!(html.contains("class=\"error\""), "{html}");
            r.read(
                "printable statement",
                &format!("/credit/{company}/statements/{today_month}"),
            )
            .await;
            // Head office's own pages, and their refusals.
            for (what, path) in [
                ("head office home", "/head-office".to_string()),
                ("merchants", "/merchants".to_string()),
                ("offers", "/offers".to_string()),
                ("ended offers", "/offers?status=ended".to_string()),
                ("new offer form", "/offers/new".to_string()),
                ("credit reminders", "/credit/reminders".to_string()),
                (
                    "credit line form",
                    format!("/customers/{company}/credit-line"),
                ),
                ("targets form", format!("/targets/{today_month}")),
                ("archive form", format!("/customers/{company}/archive")),
            ] {
                r.read(what, &path).await;
            }
            let (_, html) = r
                .post(
                    "refused merchant",
                    "/merchants",
                    &[
                        ("key", "lang-m"),
                        ("code", "M 9"),
                        ("name", "洗车行"),
                        ("category", "car_wash"),
                    ],
                )
                .await;
            assert!(html.contains("class=\"error\""), "{html}");
            let (_, html) = r
                .post(
                    "refused offer",
                    "/offers",
                    &[
                        ("code", "LANG-1"),
                        ("merchant", "M001"),
                        ("name", "测试活动"),
                        ("trigger.event", "monthly_spend"),
                        ("benefit.kind", "voucher"),
                        ("benefit.item", "洗车"),
                        ("unit_cost", "5"),
                        ("funded_by.station_percent", "50"),
                        ("funded_by.merchant_percent", "50"),
                    ],
                )
                .await;
            assert!(html.contains("class=\"error\""), "{html}");
            let (_, html) = r
                .post(
                    "refused targets",
                    &format!("/targets/{today_month}"),
                    &[("s:S001:card_litres", "lots")],
                )
                .await;
            assert!(html.contains("class=\"error\""), "{html}");
        }
        if manager != "manager1" && manager != "district-east" {
            r.read("alliance", "/alliance").await;
            r.read(
                "alliance settlement",
                &format!("/alliance?merchant=M002&month={last_month}"),
            )
            .await;
        }
        r.log_out().await;
    }

    // The administrator's pages: each list, a form refused and one done.
    r.log_in("admin").await;
    let tag = match r.lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    };
    r.read("administration", "/administration").await;
    r.read("users", "/users").await;
    r.read("cashiers of a station", "/users?role=cashier&station=S001")
        .await;
    let (_, html) = r
        .post(
            "refused user",
            "/users",
            &[
                ("key", &uuid::Uuid::new_v4().to_string()),
                ("username", "x"),
                ("password", "a-long-password"),
                ("role", "cashier"),
                ("station", "S001"),
            ],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    let clerk = format!("clerk-{tag}");
    r.post(
        "user added",
        "/users",
        &[
            ("key", &uuid::Uuid::new_v4().to_string()),
            ("username", &clerk),
            ("password", "a-long-password"),
            ("role", "station_manager"),
            ("station", "S002"),
        ],
    )
    .await;
    r.post(
        "password reset",
        &format!("/users/{clerk}/password"),
        &[("new_password", "another-long-password")],
    )
    .await;
    r.post(
        "user deactivated",
        &format!("/users/{clerk}/deactivation"),
        &[],
    )
    .await;
    r.read("stations", "/stations").await;
    let (_, html) = r
        .post(
            "refused station",
            "/stations",
            &[("code", "bad code"), ("name", "新站"), ("district", "")],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    let code = format!("T-{tag}");
    r.post(
        "station added",
        "/stations",
        &[("code", &code), ("name", "新站"), ("district", "东区")],
    )
    .await;
    r.read("terminals", &format!("/stations/{code}/terminals"))
        .await;
    let (_, html) = r
        .post(
            "refused terminal",
            &format!("/stations/{code}/terminals"),
            &[("terminal", "XYZ")],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    r.read("products", "/products").await;
    let (_, html) = r
        .post(
            "refused price",
            "/products/92/price",
            &[("unit_price", "0"), ("card_discount_per_litre", "0")],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    r.read("promotions", "/promotions").await;
    let (_, html) = r
        .post(
            "refused promotion",
            "/promotions",
            &[
                ("name", "满减"),
                ("min_amount", "100"),
                ("bonus_percent", "0"),
            ],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    r.read("audit log", "/audit").await;
    r.read("audit log filtered", "/audit?action=user_add&page=1")
        .await;
    r.log_out().await;

    // The fleet manager's review: this month and the two before.
    r.log_in("fleet-a").await;
    let (url, _) = r.read("fleet home", "/").await;
    let path = Url::parse(&url).expect("url").path().to_string();
    let company = path
        .strip_prefix("/fleet/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("a fleet manager starts at their fleet: {url}"))
        .to_string();
    let office = format!("/fleet/{company}");
    let review = format!("{office}/review");
    let mut anomalies = false;
    for month in [today_month, last_month] {
        let (_, html) = r
            .read("fleet review", &format!("{review}?month={month}"))
            .await;
        anomalies |= html.contains("class=\"anomaly ");
    }
    assert!(anomalies, "the demo fleet has anomalies to review");
    r.read("another company's review", "/fleet/999999/review")
        .await;
    fleet_office_pages(r, &office, today_month).await;
    r.read("the company's credit account", "/credit").await;
    r.log_out().await;

    // The partner merchants' desks.
    for merchant in ["insurer", "carwash"] {
        r.log_in(merchant).await;
        r.read("merchant desk", "/merchant").await;
        let (_, html) = r
            .read("unknown voucher", "/merchant?voucher_code=AAAA-BBBB-CCCC")
            .await;
        assert!(html.contains("class=\"error\""), "{html}");
        r.read("card lookup", &format!("/merchant?card_number={card}"))
            .await;
        r.read(
            "this month's statement",
            &format!("/merchant/settlements/{today_month}"),
        )
        .await;
        r.read(
            "last month's statement",
            &format!("/merchant/settlements/{last_month}"),
        )
        .await;
        r.log_out().await;
    }
}

/// The fleet office's pages, and its forms refused and shown again.
async fn fleet_office_pages(r: &mut Reader, office: &str, today_month: &str) {
    r.read("fleet office", office).await;
    let (_, vehicles) = r.read("vehicles", &format!("{office}/vehicles")).await;
    r.read(
        "vehicles filtered",
        &format!("{office}/vehicles?q=A&type=car"),
    )
    .await;
    let (_, html) = r
        .post(
            "vehicle refused",
            &format!("{office}/vehicles"),
            &[
                ("plate", "浙A99999"),
                ("vehicle_type", "car"),
                ("displacement", "x"),
            ],
        )
        .await;
    assert!(html.contains("field-error"), "{html}");
    let (_, html) = r
        .post(
            "import refused",
            &format!("{office}/vehicles/import"),
            &[("csv", "plate\nx\n")],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    let plate = vehicles
        .split("/vehicles/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a vehicle on the list")
        .to_string();
    r.read("vehicle", &format!("{office}/vehicles/{plate}"))
        .await;
    r.read("allocation plan", &format!("{office}/allocations"))
        .await;
    r.read(
        "this month's plan",
        &format!("{office}/allocations/{today_month}"),
    )
    .await;
    r.read("early top-ups", &format!("{office}/topups")).await;
    let (_, html) = r
        .post(
            "top-up refused",
            &format!("{office}/topups"),
            &[("plate", "浙A00000"), ("amount", "x"), ("reason", "")],
        )
        .await;
    assert!(html.contains("class=\"error\""), "{html}");
    r.read("card loans", &format!("{office}/loans")).await;
    r.read("cash refuels", &format!("{office}/cash-refuels"))
        .await;
    r.read("limits", &format!("{office}/policy")).await;
    r.read(
        "monthly report",
        &format!("{office}/reports/monthly?month={today_month}"),
    )
    .await;
    r.read("another company's office", "/fleet/999999").await;
}

async fn every_page_in_one_language(backend: Backend) {
    let Some(fresh) = FreshDb::create(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a dir");
    let settings = crate::support::settings();
    let clock = settings.clock;
    let (server, base) =
        crate::support::spawn_demo_server(&fresh.url, &dir.path().join("k"), &clock).await;
    let today = clock.now().with_timezone(&settings.time_zone).date_naive();
    let month = today.format("%Y-%m").to_string();
    let last = today
        .checked_sub_months(chrono::Months::new(1))
        .expect("a month before")
        .format("%Y-%m")
        .to_string();
    let mut report = Vec::new();
    for lang in [Lang::Zh, Lang::En] {
        let mut reader = Reader::new(&base, lang);
        read_every_page(&mut reader, &month, &last).await;
        assert!(reader.pages > 50, "pages read: {}", reader.pages);
        report.append(&mut reader.report);
    }
    assert!(
        report.is_empty(),
        "{} pieces of text in the other language or raw codes:\n{}",
        report.len(),
        report.join("\n")
    );
    drop(server);
    fresh.drop_database().await;
}

with_each_backend!(every_page_speaks_one_language, every_page_in_one_language);

#[test]
fn the_check_sees_what_a_reader_sees() {
    let page = r#"<html lang="zh-CN"><head><title>卡 · fuelcard</title><style>body{font:x}</style></head>
        <body><h1>余额 Balance</h1><td class="data">Zhang Wei</td><p>chip_load</p>
        <a lang="en" href="/lang/en">English</a><kbd>Enter</kbd><input placeholder="Amount">
        <p>S001 浙A12345 92# 12.5 L</p><script>var x_y = 1;</script></body></html>"#;
    let found = problems(page, Lang::Zh);
    assert_eq!(
        found,
        [
            "Latin \"Balance\" in \"余额 Balance\"",
            "raw code \"chip_load\" in \"chip_load\"",
            "Latin \"chip_load\" in \"chip_load\"",
            "Latin \"Amount\" in \"Amount\"",
        ]
    );
    let page = r#"<html lang="en"><body><h1>Card 卡</h1><span class="data">张伟</span>
        <a lang="zh-CN" href="/lang/zh">中文</a></body></html>"#;
    assert_eq!(problems(page, Lang::En), ["Chinese in \"Card 卡\""]);
}
