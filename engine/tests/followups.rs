//! A buyer's "any news?" without an order number joins the open ticket it follows up on, in
//! every language the desk answers: German, French, Spanish, Italian, Japanese, Chinese and
//! English. Through the CLI as a seller runs it: `weft run` with the shipped
//! `workflows/inbound.yaml` over JSON lines of the `json` channel, then `weft export tickets`.
//!
//! Each story is a buyer's first message (an issue and its order number), another buyer's
//! message on an issue of their own in between, and a day later the first buyer's short
//! follow-up that names neither the order nor the issue. The follow-up must land on the first
//! buyer's ticket, and each buyer's first message on a ticket of its own. The follow-ups are
//! phrased as buyers write them, not copied from the merger's cue list.

mod common;

use common::serve::{weft, weft_with_plugins};
use std::collections::BTreeMap;

/// (language, buyer, email, first subject, first body, follow-up), one story a row.
const STORIES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "en",
        "Olivia Bennett",
        "olivia.bennett@example.com",
        "Lamp arrived broken",
        "Hello, the desk lamp from order #4101 arrived with a cracked shade. Can you send a new one?",
        "Hi, any news?",
    ),
    (
        "en",
        "Marcus Hale",
        "m.hale@example.com",
        "Wrong size",
        "I ordered size M in order #4102 and got an XL. How do I exchange it?",
        "Just following up on my message from yesterday.",
    ),
    (
        "en",
        "Priya Raman",
        "priya.r@example.com",
        "Refund not received",
        "I returned order #4103 two weeks ago and have not seen the refund yet.",
        "Still waiting to hear back from you, thanks.",
    ),
    (
        "de",
        "Jürgen Weiß",
        "juergen.weiss@example.de",
        "Paket fehlt",
        "Guten Tag, meine Bestellung #4201 ist laut Sendungsverfolgung zugestellt, aber nicht angekommen.",
        "Hallo, gibt es schon Neuigkeiten?",
    ),
    (
        "de",
        "Anna Schäfer",
        "anna.schaefer@example.de",
        "Falscher Artikel",
        "Ich habe in Bestellung #4202 eine blaue Jacke bestellt und eine rote bekommen.",
        "Wie ist denn der Stand?",
    ),
    (
        "de",
        "Lukas Brandt",
        "l.brandt@example.de",
        "Rückerstattung",
        "Die Rücksendung zu Bestellung #4203 ist seit zehn Tagen bei Ihnen, die Erstattung fehlt noch.",
        "Ich warte immer noch auf eine Antwort.",
    ),
    (
        "fr",
        "Élodie Marchand",
        "elodie.marchand@example.fr",
        "Colis manquant",
        "Bonjour, ma commande #4301 est indiquée livrée mais je n'ai rien reçu.",
        "Bonjour, avez-vous des nouvelles ?",
    ),
    (
        "fr",
        "François Lefèvre",
        "f.lefevre@example.fr",
        "Article abîmé",
        "La théière de la commande #4302 est arrivée fêlée. Que puis-je faire ?",
        "Toujours pas de réponse de votre part...",
    ),
    (
        "fr",
        "Chloé Dubois",
        "chloe.dubois@example.fr",
        "Remboursement",
        "J'ai renvoyé la commande #4303 il y a deux semaines, toujours pas remboursée.",
        "Je me permets de relancer ma demande.",
    ),
    (
        "es",
        "Lucía Fernández",
        "lucia.fernandez@example.es",
        "Pedido incompleto",
        "Hola, en el pedido #4401 falta la funda del portátil.",
        "Hola, ¿hay alguna novedad?",
    ),
    (
        "es",
        "Javier Muñoz",
        "j.munoz@example.es",
        "Talla equivocada",
        "Pedí la talla 42 en el pedido #4402 y me llegó la 44.",
        "Sigo esperando una respuesta.",
    ),
    (
        "es",
        "Carmen Ortega",
        "carmen.ortega@example.es",
        "Reembolso",
        "Devolví el pedido #4403 hace diez días y no he recibido el reembolso.",
        "¿Alguna noticia sobre lo mío?",
    ),
    (
        "it",
        "Giulia Romano",
        "giulia.romano@example.it",
        "Rimborso",
        "Buongiorno, ho restituito l'ordine #4501 ma il rimborso non è arrivato.",
        "Ciao, ci sono novità?",
    ),
    (
        "it",
        "Matteo Ricci",
        "m.ricci@example.it",
        "Prodotto danneggiato",
        "Il vaso dell'ordine #4502 è arrivato rotto.",
        "Sto ancora aspettando una risposta.",
    ),
    (
        "it",
        "Chiara Esposito",
        "chiara.esposito@example.it",
        "Pacco non consegnato",
        "L'ordine #4503 risulta consegnato ma non l'ho ricevuto.",
        "Qualche notizia?",
    ),
    (
        "ja",
        "山田 花子",
        "hanako.yamada@example.jp",
        "商品が届かない",
        "注文番号 #4601 の商品がまだ届いていません。確認をお願いします。",
        "その後いかがでしょうか。",
    ),
    (
        "ja",
        "佐藤 健",
        "ken.sato@example.jp",
        "破損",
        "注文 #4602 のカップが割れて届きました。交換できますか。",
        "まだ返事をいただいていません。",
    ),
    (
        "ja",
        "鈴木 美咲",
        "misaki.suzuki@example.jp",
        "返金",
        "注文 #4603 を返品しましたが、返金がまだです。",
        "どうなりましたか？",
    ),
    (
        "zh",
        "王伟",
        "wang.wei@example.cn",
        "商品损坏",
        "你好，订单 #4701 的杯子收到时已经碎了。",
        "你好，有进展吗？",
    ),
    (
        "zh",
        "李娜",
        "li.na@example.cn",
        "没收到货",
        "订单 #4702 显示已签收，但我没有收到。",
        "还没有回复吗？",
    ),
    (
        "zh",
        "陈静",
        "chen.jing@example.cn",
        "退款",
        "订单 #4703 已经退回两周了，退款还没到。",
        "请问怎么样了？",
    ),
];

/// Another buyer's message between a story's first message and its follow-up, each in the
/// story's language and about an issue of its own (so that "the last open ticket" is not the
/// story's by accident).
fn other_issue(lang: &str) -> (&'static str, &'static str) {
    match lang {
        "de" => (
            "Adresse ändern",
            "Bitte ändern Sie die Lieferadresse meiner Bestellung #4299.",
        ),
        "fr" => (
            "Changer l'adresse",
            "Pouvez-vous changer l'adresse de livraison de la commande #4399 ?",
        ),
        "es" => (
            "Cambiar dirección",
            "¿Pueden cambiar la dirección de envío del pedido #4499?",
        ),
        "it" => (
            "Cambio indirizzo",
            "Potete cambiare l'indirizzo di consegna dell'ordine #4599?",
        ),
        "ja" => ("住所変更", "注文 #4699 の配送先を変更したいです。"),
        "zh" => ("修改地址", "请修改订单 #4799 的收货地址。"),
        _ => ("Change address", "Please change the delivery address of order #4199."),
    }
}

#[test]
fn bare_follow_ups_join_their_ticket_in_every_language() {
    let dir = tempfile::tempdir().unwrap();
    let start = jiff::Timestamp::from_second(1_790_000_000).unwrap();
    let at = |hours: i64| (start + jiff::SignedDuration::from_hours(hours)).to_string();
    let mut lines = Vec::new();
    for (i, &(lang, name, email, subject, body, follow_up)) in STORIES.iter().enumerate() {
        // Each story starts two weeks after the previous one: no window reaches across.
        let t = i as i64 * 24 * 14;
        let (other_subject, other_body) = other_issue(lang);
        let message = |id: String, hours: i64, name: &str, email: &str, subject: Option<&str>, body: &str| {
            serde_json::json!({
                "channel": "shop",
                "id": id,
                "at": at(hours),
                "from": { "name": name, "email": email },
                "subject": subject,
                "body": body,
            })
        };
        lines.push(message(format!("s{i}-first"), t, name, email, Some(subject), body));
        lines.push(message(
            format!("s{i}-other"),
            t + 2,
            "Sam Other",
            &format!("other{i}@example.org"),
            Some(other_subject),
            other_body,
        ));
        lines.push(message(format!("s{i}-follow"), t + 26, name, email, None, follow_up));
    }
    let input = dir.path().join("followups.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let workflow = weft_test_support::workspace_root().join("workflows/inbound.yaml");
    let (ok, _, stderr) = weft_with_plugins(&[
        "run",
        "--workflows",
        workflow.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(ok, "weft run: {stderr}");
    let (ok, exported, stderr) = weft(&["export", "tickets", "--db", &db]);
    assert!(ok, "weft export tickets: {stderr}");

    // Each message's ticket, followed through merges.
    let mut merged_into = BTreeMap::new();
    let mut ticket_of = BTreeMap::new();
    for line in exported.lines().filter(|l| !l.trim().is_empty()) {
        let t: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = t["ticket"].as_i64().unwrap();
        if let Some(into) = t["merged_into"].as_i64() {
            merged_into.insert(id, into);
        }
        for m in t["messages"].as_array().unwrap() {
            ticket_of.insert(m.as_str().unwrap().to_owned(), id);
        }
    }
    let root = |mut id: i64| {
        while let Some(&next) = merged_into.get(&id) {
            id = next;
        }
        id
    };
    let ticket = |id: &str| root(*ticket_of.get(id).unwrap_or_else(|| panic!("{id} has no ticket")));
    let mut missed = Vec::new();
    for (i, &(lang, _, _, _, _, follow_up)) in STORIES.iter().enumerate() {
        let (first, other, follow) = (
            ticket(&format!("s{i}-first")),
            ticket(&format!("s{i}-other")),
            ticket(&format!("s{i}-follow")),
        );
        assert_ne!(first, other, "story {i} ({lang}): two buyers' issues on one ticket");
        if follow != first {
            missed.push(format!(
                "{lang}: {follow_up:?} on ticket {follow}, the buyer's issue is on {first}"
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "{} of {} follow-ups missed their ticket:\n{}",
        missed.len(),
        STORIES.len(),
        missed.join("\n")
    );
}
