//! The merger's decisions for every rule and its counter-case, against an in-memory context.

use weft_plugin_merger::rules;
use weft_plugin_merger::{Config, Merger, OnSolved, Policy};
use weft_sdk::prelude::*;
use weft_sdk::testing::MemoryContext;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-11-20T12:00:00Z, when the new message arrives.
const NOW: i64 = 1_795_176_000_000;

fn ticket(number: u64, customer: u64, subject: &str) -> TicketView {
    TicketView {
        number,
        customer: Some(customer),
        status: "open".into(),
        subject: Some(subject.into()),
        order: None,
        category: None,
        opened_at: NOW - 2 * DAY,
        updated_at: NOW - 2 * HOUR,
        merged_into: None,
        assignee: None,
        priority: None,
    }
}

fn with_order(mut t: TicketView, order: &str) -> TicketView {
    t.order = Some(order.into());
    t
}

fn solved(mut t: TicketView, ago: i64) -> TicketView {
    t.status = "solved".into();
    t.updated_at = NOW - ago;
    t
}

fn idle(mut t: TicketView, ago: i64) -> TicketView {
    t.updated_at = NOW - ago;
    t
}

fn message(channel: &str, id: &str, subject: Option<&str>, body: &str) -> Message {
    let mut m = Message::new(channel, id, NOW);
    m.subject = subject.map(str::to_owned);
    m.body = body.into();
    m
}

fn event(message: Message, customer: Option<u64>) -> Event {
    Event {
        id: 7,
        kind: "message.received".into(),
        at: NOW,
        message: Some(message),
        customer,
        ticket: None,
        payload: serde_json::Value::Null,
    }
}

fn decide(ctx: &MemoryContext, message: Message, customer: Option<u64>) -> Vec<Decision> {
    Merger::decide(&event(message, customer), &Config::default(), ctx).unwrap()
}

fn decide_with(ctx: &MemoryContext, message: Message, customer: u64, policy: &Policy) -> Vec<Decision> {
    rules::decide(&event(message, Some(customer)), policy, ctx).unwrap()
}

/// The commands in short: `append #10`, `append #10 copy-of m1`, `open "subject" order=X`,
/// `merge #10 <- #12`, `set linked-to=70`.
fn summary(decisions: &[Decision]) -> Vec<String> {
    decisions
        .iter()
        .map(|d| match &d.command {
            Command::AppendToTicket(a) => match &a.duplicate_of {
                Some(id) => format!("append #{} copy-of {id}", a.ticket),
                None => format!("append #{}", a.ticket),
            },
            Command::OpenTicket(o) => {
                format!(
                    "open {:?} order={}",
                    o.subject.as_deref().unwrap_or(""),
                    o.order.as_deref().unwrap_or("-")
                )
            }
            Command::MergeTickets(m) => {
                let from: Vec<String> = m.from.iter().map(|n| format!("#{n}")).collect();
                format!("merge #{} <- {}", m.into, from.join(","))
            }
            Command::SetField(s) => format!("set {}={}", s.name, s.value),
            other => format!("unexpected {}", other.name()),
        })
        .collect()
}

fn evidence_text(decision: &Decision) -> String {
    decision
        .evidence
        .iter()
        .map(|e| format!("{}: {}", e.field, e.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

// Rule 1: the thread.

#[test]
fn a_chat_message_joins_its_conversation() {
    let mut ctx = MemoryContext::new().with_ticket(ticket(10, 1, "Size question"));
    ctx.thread_tickets.insert(("chat".into(), "conv-9".into()), 10);
    let mut m = message("chat", "c2", None, "and in blue?");
    m.thread = Some("conv-9".into());
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), ["append #10"]);
    assert!(
        decisions[0].reason.contains("same conversation"),
        "{}",
        decisions[0].reason
    );
}

#[test]
fn an_email_reply_joins_by_its_headers_even_across_a_merge() {
    let mut merged_away = ticket(11, 1, "Retoure");
    merged_away.merged_into = Some(10);
    let mut ctx = MemoryContext::new()
        .with_ticket(ticket(10, 1, "Rücksendung"))
        .with_ticket(merged_away);
    ctx.message_tickets.insert("<a1@mail.example.de>".into(), 11);
    let mut m = message(
        "email",
        "<a2@mail.example.de>",
        Some("AW: Retoure"),
        "Danke, wie lange dauert es?",
    );
    m.replies_to = vec!["<unknown@x>".into(), "<a1@mail.example.de>".into()];
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), ["append #10"]);
    assert!(
        evidence_text(&decisions[0]).contains("#11 was merged into #10"),
        "{}",
        evidence_text(&decisions[0])
    );
}

#[test]
fn without_thread_or_headers_a_new_ticket_opens_with_a_clean_subject() {
    let ctx = MemoryContext::new();
    let cases = [
        ("AW: WG: Frage zur Lieferung", "Frage zur Lieferung"),
        ("RE : Question sur la livraison", "Question sur la livraison"),
        ("Réf. : Question", "Question"),
        ("RV: Consulta", "Consulta"),
        ("Ｒｅ：注文について", "注文について"),
        ("回复：关于订单", "关于订单"),
        ("Re：关于发货", "关于发货"),
    ];
    for (subject, clean) in cases {
        let mut m = message("email", "e1", Some(subject), "…");
        m.order = Some("302-1111111-2222222".into());
        let decisions = decide(&ctx, m, Some(1));
        assert_eq!(
            summary(&decisions),
            [format!("open {clean:?} order=302-1111111-2222222")],
            "{subject}"
        );
    }
}

// Rule 2: the order.

#[test]
fn a_german_email_and_a_french_amazon_message_about_one_order_join() {
    let order = "302-1234567-7654321";
    let german = with_order(ticket(20, 1, "Wo ist mein Paket?"), order);
    let ctx = MemoryContext::new().with_ticket(german);
    let mut m = message(
        "amazon",
        "amzn-1",
        Some("Commande 302-1234567-7654321"),
        "Bonjour, où est mon colis ?",
    );
    m.order = Some(order.into());
    m.marketplace = Some("amazon.fr".into());
    m.lang = Some("fr".into());
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), ["append #20"]);
    assert!(decisions[0].reason.contains("same order"), "{}", decisions[0].reason);
    assert!(evidence_text(&decisions[0]).contains("order 302-1234567-7654321 is on #20"));
}

#[test]
fn an_order_written_without_dashes_or_only_in_the_text_joins_its_ticket() {
    let order = "302-1234567-7654321";
    let ctx = MemoryContext::new()
        .with_ticket(with_order(ticket(22, 1, "Wo ist mein Paket?"), order))
        .with_ticket(with_order(ticket(23, 1, "Rechnung"), "12-34567-89012"));
    // The connector reports the order as the buyer typed it.
    let mut m = message("chat", "c-1", None, "Hallo?");
    m.order = Some("#30212345677654321".into());
    assert_eq!(summary(&decide(&ctx, m, Some(1))), ["append #22"]);
    // No order reported: the one the text names.
    let m = message(
        "sms",
        "s-1",
        None,
        "Meine Bestellung 302-1234567-7654321 ist immer noch nicht da",
    );
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), ["append #22"]);
    assert!(evidence_text(&decisions[0]).contains("order 302-1234567-7654321 is on #22"));
    let m = message(
        "instagram",
        "i-1",
        None,
        "eBay Bestellung 123456789012: wo ist die Rechnung?",
    );
    assert_eq!(summary(&decide(&ctx, m, Some(1))), ["append #23"]);
    // A new ticket records the order in its canonical form.
    let m = message("sms", "s-2", None, "Bestellung 30211111112222222 bitte stornieren");
    assert_eq!(
        summary(&decide(&ctx, m, Some(1))),
        ["open \"Bestellung 30211111112222222 bitte stornieren\" order=302-1111111-2222222"]
    );
}

#[test]
fn an_order_on_another_customers_ticket_does_not_join() {
    let order = "302-1234567-7654321";
    let ctx = MemoryContext::new()
        .with_customer(1, &[])
        .with_customer(2, &[])
        .with_ticket(with_order(ticket(20, 2, "Wo ist mein Paket?"), order));
    let mut m = message("email", "e1", Some("Mein Paket"), "Wo ist mein Paket?");
    m.order = Some(order.into());
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), [format!("open \"Mein Paket\" order={order}")]);
    assert!(
        evidence_text(&decisions[0]).contains("is on #20 of customer 2, not of customer 1"),
        "{}",
        evidence_text(&decisions[0])
    );
}

#[test]
fn an_order_on_a_merged_customers_ticket_joins() {
    let order = "111-2223334-4445556";
    let mut ctx = MemoryContext::new().with_customer(1, &[]).with_customer(2, &[]);
    ctx.customers.get_mut(&2).unwrap().merged_into = Some(1);
    let ctx = ctx.with_ticket(with_order(ticket(21, 2, "Refund"), order));
    let mut m = message("ebay", "eb-1", None, "any news on my refund?");
    m.order = Some(order.into());
    assert_eq!(summary(&decide(&ctx, m, Some(1))), ["append #21"]);
}

#[test]
fn a_reply_carrying_the_order_of_another_open_ticket_merges_them_into_the_older() {
    let order = "302-7777777-1111111";
    for (thread_ticket, order_ticket) in [(30, 31), (41, 40)] {
        let mut ctx = MemoryContext::new()
            .with_ticket(ticket(thread_ticket, 1, "Lieferung"))
            .with_ticket(with_order(ticket(order_ticket, 1, "Where is my order?"), order));
        ctx.message_tickets.insert("<m1@x>".into(), thread_ticket);
        let mut m = message(
            "email",
            "<m2@x>",
            Some("AW: Lieferung"),
            "Es geht um Bestellung 302-7777777-1111111",
        );
        m.replies_to = vec!["<m1@x>".into()];
        m.order = Some(order.into());
        let decisions = decide(&ctx, m, Some(1));
        let (into, from) = (thread_ticket.min(order_ticket), thread_ticket.max(order_ticket));
        assert_eq!(
            summary(&decisions),
            [format!("merge #{into} <- #{from}"), format!("append #{into}")]
        );
        assert!(decisions[0].reason.contains("reply to a message on it") && decisions[0].reason.contains("same order"));
    }
}

#[test]
fn a_reply_about_another_order_does_not_merge() {
    let mut ctx = MemoryContext::new()
        .with_ticket(with_order(ticket(50, 1, "Order A"), "A-1"))
        .with_ticket(with_order(ticket(51, 1, "Order B"), "B-2"));
    ctx.message_tickets.insert("<m1@x>".into(), 50);
    let mut m = message("email", "<m2@x>", Some("Re: Order A"), "and order B?");
    m.replies_to = vec!["<m1@x>".into()];
    m.order = Some("B-2".into());
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), ["append #50"]);
    assert!(evidence_text(&decisions[0]).contains("different orders (A-1 != B-2): not merged"));
}

// Rule 3: the same issue within the window.

#[test]
fn the_same_question_on_another_channel_within_the_window_joins() {
    let ctx = MemoryContext::new()
        .with_ticket(idle(ticket(60, 1, "Wo ist mein Paket?"), 10 * HOUR))
        .with_ticket(idle(ticket(61, 1, "Rechnung"), HOUR));
    let m = message(
        "instagram",
        "ig-1",
        None,
        "Hallo, mein Paket ist immer noch nicht angekommen!",
    );
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), ["append #60"]);
    assert!(
        evidence_text(&decisions[0]).contains("shared topics: where-is-my-order"),
        "{}",
        evidence_text(&decisions[0])
    );
}

#[test]
fn the_same_question_after_the_window_opens_a_new_ticket() {
    let ctx = MemoryContext::new().with_ticket(idle(ticket(60, 1, "Wo ist mein Paket?"), 80 * HOUR));
    let m = message("instagram", "ig-1", None, "Mein Paket ist immer noch nicht angekommen!");
    assert_eq!(
        summary(&decide(&ctx, m.clone(), Some(1))),
        ["open \"Mein Paket ist immer noch nicht angekommen!\" order=-"]
    );
    // A wider window lets it join.
    let config: Config = serde_json::from_str(r#"{"window":"4d"}"#).unwrap();
    let decisions = Merger::decide(&event(m, Some(1)), &config, &ctx).unwrap();
    assert_eq!(summary(&decisions), ["append #60"]);
}

#[test]
fn two_orders_of_one_customer_stay_apart() {
    let ctx = MemoryContext::new().with_ticket(with_order(ticket(70, 1, "Where is my order?"), "ORD-1"));
    let mut m = message("shopify", "s-1", Some("Where is my order?"), "Still not arrived.");
    m.order = Some("ORD-2".into());
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), ["open \"Where is my order?\" order=ORD-2"]);
    assert!(evidence_text(&decisions[0]).contains("#70 is about order ORD-1, the message about order ORD-2"));
}

#[test]
fn clearly_different_issues_stay_apart() {
    let ctx = MemoryContext::new().with_ticket(ticket(71, 1, "Rechnung fehlt"));
    let m = message("email", "e1", Some("Lampe"), "Die Lampe ist kaputt angekommen");
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), ["open \"Lampe\" order=-"]);
    assert!(evidence_text(&decisions[0]).contains("#71 is about a different issue"));
}

#[test]
fn another_customers_ticket_is_never_compared() {
    let ctx = MemoryContext::new().with_ticket(ticket(72, 2, "Wo ist mein Paket?"));
    let m = message("chat", "c1", None, "Wo ist mein Paket?");
    assert_eq!(
        summary(&decide(&ctx, m.clone(), Some(1))),
        ["open \"Wo ist mein Paket?\" order=-"]
    );
    // Without a known customer, nothing is compared either.
    assert_eq!(summary(&decide(&ctx, m, None)), ["open \"Wo ist mein Paket?\" order=-"]);
}

#[test]
fn japanese_and_chinese_subjects_join_their_issue() {
    let ctx = MemoryContext::new()
        .with_ticket(ticket(80, 1, "商品が届きません"))
        .with_ticket(ticket(81, 2, "退款申请"))
        .with_ticket(ticket(82, 3, "关于蓝色沙发的问题"));
    let ja = message(
        "email",
        "j1",
        Some("Re：商品が届きません"),
        "注文した商品がまだ届いていません。",
    );
    assert_eq!(summary(&decide(&ctx, ja, Some(1))), ["append #80"]);
    let zh = message("chat", "z1", Some("回复：退款"), "请尽快退款，谢谢");
    assert_eq!(summary(&decide(&ctx, zh, Some(2))), ["append #81"]);
    // No topic cue, only the words: the n-grams carry it.
    let words = message("email", "z2", Some("回复：关于蓝色沙发的问题"), "还有靠垫吗？");
    assert_eq!(summary(&decide(&ctx, words, Some(3))), ["append #82"]);
    // A different issue in Japanese opens its own ticket.
    let invoice = message("email", "j2", Some("領収書について"), "領収書を発行してください");
    assert_eq!(
        summary(&decide(&ctx, invoice, Some(1))),
        ["open \"領収書について\" order=-"]
    );
}

// Rule 4: system copies.

#[test]
fn a_forwarded_copy_is_appended_as_a_copy() {
    let body = "Die Lampe ist kaputt angekommen. Bestellung 302-5555555.";
    let mut original = message("email", "<orig@kunde.de>", Some("Lampe kaputt"), body);
    original.at = NOW - 10 * 60_000;
    original.from.email = Some("kunde@example.de".into());
    let ctx = MemoryContext::new()
        .with_ticket(ticket(90, 1, "Lampe kaputt"))
        .with_message(90, MessageSummary::of(&original));

    let mut copy = message("email", "<fwd@shop.de>", Some("WG: Lampe kaputt"), body);
    copy.from.email = Some("info@shop.de".into());
    // Through the step itself: the history comes from `Context::ticket_messages`.
    let decisions = decide(&ctx, copy.clone(), Some(1));
    assert_eq!(summary(&decisions), ["append #90 copy-of <orig@kunde.de>"]);
    assert!(
        decisions[0].reason.contains("forwarded copy"),
        "{}",
        decisions[0].reason
    );

    // Counter-case: a forward with new text is a new message on the same issue, not a copy.
    copy.body = "Bitte um Ersatz, die Lampe ist kaputt.".into();
    let decisions = decide_with(&ctx, copy, 1, &Policy::default());
    assert_eq!(summary(&decisions), ["append #90"]);
}

#[test]
fn one_mail_through_two_mailboxes_is_appended_as_a_copy() {
    let body = "Je voudrais annuler ma commande.";
    let mut first = message("email", "inbox-a-17", Some("Annulation"), body);
    first.at = NOW - 3 * 60_000;
    first.from.email = Some("marie@example.fr".into());
    let ctx = MemoryContext::new()
        .with_ticket(ticket(91, 1, "Annulation"))
        .with_message(91, MessageSummary::of(&first));

    let mut second = message("email", "inbox-b-4", Some("Annulation"), body);
    second.from.email = Some("Marie@Example.fr".into());
    let decisions = decide_with(&ctx, second.clone(), 1, &Policy::default());
    assert_eq!(summary(&decisions), ["append #91 copy-of inbox-a-17"]);

    // The same words a day later are asked again: appended, to be answered.
    second.at = NOW + DAY;
    let decisions = decide_with(&ctx, second, 1, &Policy::default());
    assert_eq!(summary(&decisions), ["append #91"]);
}

// Rule 5: follow-ups on solved tickets.

#[test]
fn a_follow_up_within_the_reopen_window_appends() {
    let mut ctx = MemoryContext::new().with_ticket(solved(ticket(100, 1, "Retour"), 2 * DAY));
    ctx.thread_tickets.insert(("amazon".into(), "amz-thread-1".into()), 100);
    let mut m = message("amazon", "amz-2", None, "Le colis retour est reparti ?");
    m.thread = Some("amz-thread-1".into());
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(summary(&decisions), ["append #100"]);
    assert!(
        decisions[0].reason.contains("within reopen_window 7d"),
        "{}",
        decisions[0].reason
    );
}

#[test]
fn a_follow_up_after_the_reopen_window_opens_a_linked_ticket() {
    let mut ctx = MemoryContext::new().with_ticket(with_order(solved(ticket(101, 1, "Devolución"), 10 * DAY), "ES-77"));
    ctx.message_tickets.insert("<r1@tienda.es>".into(), 101);
    let mut m = message(
        "email",
        "<r2@cliente.es>",
        Some("RE: Devolución"),
        "¿Cuándo llega el reembolso?",
    );
    m.replies_to = vec!["<r1@tienda.es>".into()];
    let decisions = decide(&ctx, m, Some(1));
    assert_eq!(
        summary(&decisions),
        ["open \"Devolución\" order=ES-77", "set linked-to=101"]
    );
    assert!(
        decisions[0].reason.contains("new ticket linked to #101"),
        "{}",
        decisions[0].reason
    );
    assert!(
        decisions[0].reason.contains("beyond reopen_window 7d"),
        "{}",
        decisions[0].reason
    );
}

#[test]
fn on_solved_link_never_reopens_and_closed_counts_as_solved() {
    let mut t = solved(ticket(102, 1, "Invoice"), HOUR);
    t.status = "Closed".into();
    let mut ctx = MemoryContext::new().with_ticket(t);
    ctx.thread_tickets.insert(("chat".into(), "t".into()), 102);
    let mut m = message("chat", "c9", None, "one more thing");
    m.thread = Some("t".into());
    let policy = Policy {
        on_solved: OnSolved::Link,
        ..Policy::default()
    };
    let decisions = decide_with(&ctx, m, 1, &policy);
    assert_eq!(
        summary(&decisions),
        ["open \"one more thing\" order=-", "set linked-to=102"]
    );
    assert!(decisions[0].reason.contains("on_solved is link"));
}

#[test]
fn an_open_ticket_of_the_order_wins_over_a_solved_thread() {
    let mut ctx = MemoryContext::new()
        .with_ticket(solved(ticket(110, 1, "Lieferung"), 20 * DAY))
        .with_ticket(with_order(ticket(111, 1, "Paket beschädigt"), "302-9"));
    ctx.thread_tickets.insert(("email".into(), "th".into()), 110);
    let mut m = message("email", "e1", Some("AW: Lieferung"), "Das Paket ist beschädigt");
    m.thread = Some("th".into());
    m.order = Some("302-9".into());
    assert_eq!(summary(&decide(&ctx, m, Some(1))), ["append #111"]);
}

// Errors.

#[test]
fn bad_input_is_a_typed_error() {
    let ctx = MemoryContext::new();
    let mut no_message = event(message("chat", "c1", None, "x"), Some(1));
    no_message.message = None;
    let err = Merger::decide(&no_message, &Config::default(), &ctx).unwrap_err();
    assert!(
        matches!(&err, Error::Permanent(m) if m.contains("needs an event with a message")),
        "{err}"
    );

    let config: Config = serde_json::from_str(r#"{"similarity_threshold":-0.1}"#).unwrap();
    let err = Merger::decide(&event(message("chat", "c1", None, "x"), Some(1)), &config, &ctx).unwrap_err();
    assert!(
        matches!(&err, Error::BadConfig(m) if m.contains("outside 0 to 1")),
        "{err}"
    );
}

// Rule 6: a follow-up that names nothing.

#[test]
fn a_bare_follow_up_joins_the_open_ticket_it_follows_in_every_language() {
    for (lang, subject, follow) in [
        ("en", "Lamp arrived broken", "Hi, any news?"),
        ("de", "Paket fehlt", "Hallo, gibt es Neuigkeiten?"),
        ("fr", "Colis manquant", "Bonjour, des nouvelles ?"),
        ("es", "Pedido incompleto", "Hola, ¿alguna novedad?"),
        ("it", "Rimborso", "Ciao, ci sono novità?"),
        ("ja", "商品が届かない", "その後いかがでしょうか。"),
        ("zh", "商品损坏", "你好，有进展吗？"),
    ] {
        // Two open tickets of the customer: the follow-up joins the one active last.
        let ctx = MemoryContext::new()
            .with_ticket(idle(ticket(10, 1, "Invoice address"), 30 * HOUR))
            .with_ticket(idle(ticket(11, 1, subject), 3 * HOUR));
        let decisions = decide(&ctx, message("chat", &format!("f-{lang}"), None, follow), Some(1));
        assert_eq!(summary(&decisions), ["append #11"], "{lang}: {follow}");
        assert!(evidence_text(&decisions[0]).contains("follow-up"), "{lang}");
    }
}

#[test]
fn a_bare_follow_up_without_a_ticket_in_the_window_or_with_content_opens_one() {
    // The customer's only ticket went quiet a week ago: beyond the 72h window, and not solved.
    let ctx = MemoryContext::new().with_ticket(idle(ticket(10, 1, "Paket fehlt"), 7 * DAY));
    let decisions = decide(&ctx, message("chat", "f1", None, "Gibt es Neuigkeiten?"), Some(1));
    assert!(summary(&decisions)[0].starts_with("open"), "{:?}", summary(&decisions));
    // Another customer's ticket is never a lead.
    let ctx = MemoryContext::new().with_ticket(ticket(10, 2, "Paket fehlt"));
    let decisions = decide(&ctx, message("chat", "f2", None, "Gibt es Neuigkeiten?"), Some(1));
    assert!(summary(&decisions)[0].starts_with("open"), "{:?}", summary(&decisions));
    // A solved ticket within reopen_window: appended, the ticket reopens.
    let ctx = MemoryContext::new().with_ticket(solved(ticket(10, 1, "Paket fehlt"), 2 * DAY));
    let decisions = decide(&ctx, message("chat", "f3", None, "any update?"), Some(1));
    assert_eq!(summary(&decisions), ["append #10"]);
}
