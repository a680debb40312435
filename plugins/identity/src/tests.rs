//! `decide` tests: messages in, decisions out, against an in-memory context.

use super::*;
use crate::decide::BLOCKING_PREFIX;
use std::collections::BTreeSet;
use weft_sdk::testing::MemoryContext;

/// A message from `from`, with an optional address (line1, postcode, city, country).
fn message(channel: &str, from: Party, address: Option<(&str, &str, &str, &str)>) -> Message {
    let mut m = Message::new(channel, "m-1", 1_795_000_000_000);
    m.from = from;
    m.address = address.map(|(line1, postcode, city, country)| Address {
        line1: Some(line1.into()),
        postcode: Some(postcode.into()),
        city: Some(city.into()),
        country: (!country.is_empty()).then(|| country.into()),
        ..Address::default()
    });
    m
}

fn party(name: Option<&str>, email: Option<&str>, phone: Option<&str>) -> Party {
    Party {
        name: name.map(Into::into),
        email: email.map(Into::into),
        phone: phone.map(Into::into),
        ..Party::default()
    }
}

fn event(message: Message) -> Event {
    Event {
        id: 1,
        kind: "message.received".into(),
        at: message.at,
        message: Some(message),
        customer: None,
        ticket: None,
        payload: serde_json::Value::Null,
    }
}

fn run_with(config: &Config, message: Message, ctx: &MemoryContext) -> Vec<Decision> {
    Identify::decide(&event(message), config, ctx).expect("decide")
}

fn run(message: Message, ctx: &MemoryContext) -> Vec<Decision> {
    run_with(&Config::default(), message, ctx)
}

/// The identities the step records for a message, as the engine would store them on a
/// new customer.
fn recorded(message: Message) -> Vec<Identity> {
    let decisions = run(message, &MemoryContext::new());
    let [
        Decision {
            command: Command::LinkCustomer(link),
            ..
        },
    ] = decisions.as_slice()
    else {
        panic!("expected one link, got {decisions:#?}")
    };
    assert_eq!(link.customer, CustomerRef::New);
    link.identities.clone()
}

fn last_link(decisions: &[Decision]) -> (&LinkCustomer, &Decision) {
    match decisions.last() {
        Some(
            d @ Decision {
                command: Command::LinkCustomer(link),
                ..
            },
        ) => (link, d),
        other => panic!("the last decision is not a link: {other:#?}"),
    }
}

fn evidence<'a>(decision: &'a Decision, field: &str) -> Vec<&'a Evidence> {
    decision.evidence.iter().filter(|e| e.field == field).collect()
}

const BERLIN: (&str, &str, &str, &str) = ("Hauptstraße 12", "10115", "Berlin", "DE");

#[test]
fn new_customer_records_identifiers_and_blocking_keys() {
    let mut m = message(
        "email",
        party(
            Some("Herr Hans Müller"),
            Some("Hans.Mueller@Example.de"),
            Some("030 1234567"),
        ),
        Some(BERLIN),
    );
    m.order = Some("#302-1234567-7654321".into());
    let decisions = run(m, &MemoryContext::new());
    let (link, decision) = last_link(&decisions);
    assert_eq!(decisions.len(), 1);
    assert_eq!(link.customer, CustomerRef::New);
    assert_eq!(link.score, 1.0);
    assert!(
        decision.reason.contains("no customer shares a blocking key"),
        "{}",
        decision.reason
    );
    let values: Vec<String> = link.identities.iter().map(ToString::to_string).collect();
    assert_eq!(
        values,
        [
            "email:hans.mueller@example.de",
            "phone:+49301234567",
            "order:30212345677654321",
            "name:hans muller",
            "address:DE|10115|berlin|hauptstr|12|",
            "name:blk:H520|DE-10115",
            "name:blk:M460|DE-10115",
            "name:blk:H520+M460|DE-berlin|12",
            "name:blk:H520+M460|DE-1011*",
            "name:blk:H520+M460|DE~01115",
            "name:blk:H520+M460|DE#12",
            "name:blk:H520|DE@1|haup",
            "name:blk:M460|DE@1|haup",
            "address:blk:DE~01115|12",
            "address:blk:DE@1|12|haup",
            "address:blk:DE-10115/haup",
            "address:blk:DE-berlin/haup",
        ]
    );
}

#[test]
fn a_message_without_identifiers_still_gets_a_customer() {
    let decisions = run(Message::new("chat", "c-1", 0), &MemoryContext::new());
    let (link, decision) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::New);
    assert!(link.identities.is_empty());
    assert!(
        decision.reason.contains("no name or address with a postcode"),
        "{}",
        decision.reason
    );
}

#[test]
fn exact_email_links() {
    let ctx = MemoryContext::new().with_customer(
        7,
        &recorded(message(
            "email",
            party(None, Some("Anna.Schmidt@Example.de"), None),
            None,
        )),
    );
    let decisions = run(
        message(
            "amazon",
            party(Some("Anna Schmidt"), Some(" anna.schmidt@example.DE "), None),
            None,
        ),
        &ctx,
    );
    let (link, decision) = last_link(&decisions);
    assert_eq!(decisions.len(), 1);
    assert_eq!(link.customer, CustomerRef::Existing(7));
    assert_eq!(link.score, 1.0);
    let email = evidence(decision, "email");
    assert_eq!(email.len(), 1);
    assert!(
        email[0]
            .detail
            .starts_with("exact: anna.schmidt@example.de belongs to customer 7"),
        "{email:?}"
    );
    assert!(email[0].weight > 20.0);
    assert!(
        link.identities
            .contains(&Identity::new(IdentityKind::Name, "anna schmidt"))
    );
}

#[test]
fn gmail_spellings_link() {
    let ctx = MemoryContext::new().with_customer(
        2,
        &recorded(message("email", party(None, Some("jean.dupont@gmail.com"), None), None)),
    );
    let decisions = run(
        message(
            "email",
            party(None, Some("JeanDupont+boutique@googlemail.com"), None),
            None,
        ),
        &ctx,
    );
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(2));
}

#[test]
fn phone_in_another_format_links() {
    let ctx = MemoryContext::new().with_customer(
        4,
        &recorded(message("sms", party(None, None, Some("+49 170 1234567")), None)),
    );
    for written in ["0170/1234567", "0049 (0)170 123 45 67", "+49-170-1234567"] {
        let decisions = run(message("whatsapp", party(None, None, Some(written)), None), &ctx);
        assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(4), "{written}");
    }
    // The same digits read in another default region are another number.
    let japan = Config {
        default_region: "JP".into(),
        ..Config::default()
    };
    let decisions = run_with(
        &japan,
        message("sms", party(None, None, Some("0170 1234567")), None),
        &ctx,
    );
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::New);
}

#[test]
fn a_national_number_is_read_in_the_country_of_the_address() {
    // Amélie gave her number in international form once; she now writes it the French way,
    // with her Lyon address, to a workflow whose default region is DE.
    let ctx = MemoryContext::new().with_customer(
        9,
        &recorded(message("sms", party(None, None, Some("+33 6 12 34 56 78")), None)),
    );
    let lyon = Some(("12 rue de la République", "69002", "Lyon", "FR"));
    let decisions = run(
        message(
            "email",
            party(Some("Amélie Durand"), None, Some("06 12 34 56 78")),
            lyon,
        ),
        &ctx,
    );
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(9));
    // Without an address the workflow's region reads it: a German number, another customer.
    let decisions = run(message("email", party(None, None, Some("06 12 34 56 78")), None), &ctx);
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::New);
}

#[test]
fn without_an_address_a_national_number_is_read_in_the_country_of_the_email_domain() {
    // (email, number as written, the customer it must reach: 9 is +33 6 12 34 56 78, 10 is
    // +44 7911 143046, None a new customer). The address, when there is one, comes first.
    let ctx = MemoryContext::new()
        .with_customer(
            9,
            &recorded(message("sms", party(None, None, Some("+33 6 12 34 56 78")), None)),
        )
        .with_customer(
            10,
            &recorded(message("sms", party(None, None, Some("+447911143046")), None)),
        );
    for (email, phone, expected) in [
        ("amelie.durand@orange.fr", "06 12 34 56 78", Some(9)),
        ("oliver_walker1717@yahoo.co.uk", "07911 143046", Some(10)),
        // a generic domain says nothing: the workflow's region (DE) reads it
        ("amelie.durand@gmail.com", "06 12 34 56 78", None),
        ("someone@europa.eu", "07911 143046", None),
        // a country weft has no numbering plan for: the workflow's region too
        ("someone@example.zz", "06 12 34 56 78", None),
    ] {
        let decisions = run(message("email", party(None, Some(email), Some(phone)), None), &ctx);
        let expected = expected.map_or(CustomerRef::New, CustomerRef::Existing);
        assert_eq!(last_link(&decisions).0.customer, expected, "{email} {phone}");
    }
    // An address in the message wins over the domain: a German buyer with a .fr mailbox.
    let berlin = Some(("Hauptstraße 12", "10115", "Berlin", "DE"));
    let decisions = run(
        message(
            "email",
            party(None, Some("hans@orange.fr"), Some("06 12 34 56 78")),
            berlin,
        ),
        &ctx,
    );
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::New);
}

#[test]
fn without_any_country_in_the_message_a_national_number_is_read_where_the_buyer_lives() {
    // (email of the message, the phone it records). Customer 9 is oliver@gmail.com with a
    // London address; customer 10 is eva@gmail.com with no address known.
    let london = Some(("96 Station Road", "SW1A 1AA", "London", "GB"));
    let ctx = MemoryContext::new()
        .with_customer(
            9,
            &recorded(message(
                "email",
                party(Some("Oliver Walker"), Some("oliver@gmail.com"), None),
                london,
            )),
        )
        .with_customer(
            10,
            &recorded(message("email", party(None, Some("eva@gmail.com"), None), None)),
        );
    for (email, phone, recorded_phone) in [
        // the buyer's known address is in GB: a British mobile number
        ("oliver@gmail.com", "07911 143046", "phone:+447911143046"),
        // written with its country code: unchanged
        ("oliver@gmail.com", "+49 30 1234567", "phone:+49301234567"),
        // no address known for her: the workflow's region (DE)
        ("eva@gmail.com", "030 1234567", "phone:+49301234567"),
        // nobody known by this email: the workflow's region
        ("new@gmail.com", "07911 143046", "phone:+497911143046"),
    ] {
        let decisions = run(message("email", party(None, Some(email), Some(phone)), None), &ctx);
        let values: Vec<String> = last_link(&decisions)
            .0
            .identities
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            values.iter().any(|v| v == recorded_phone),
            "{email} {phone}: {values:?}"
        );
    }
}

/// A context that knows one order (the engine's `order` lookup), and otherwise is `inner`.
struct WithOrder {
    inner: MemoryContext,
    order: weft_sdk::Order,
}

impl Host for WithOrder {
    fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        self.inner.fetch(request)
    }
    fn secret(&self, name: &str) -> Result<String, String> {
        self.inner.secret(name)
    }
    fn log(&self, level: LogLevel, message: &str) {
        self.inner.log(level, message)
    }
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        self.inner.embed(texts)
    }
}

impl Context for WithOrder {
    fn find_customers(&self, identity: &Identity) -> Vec<CustomerView> {
        self.inner.find_customers(identity)
    }
    fn customer(&self, id: u64) -> Option<CustomerView> {
        self.inner.customer(id)
    }
    fn customer_tickets(&self, customer: u64, limit: u32) -> Vec<TicketView> {
        self.inner.customer_tickets(customer, limit)
    }
    fn ticket(&self, number: u64) -> Option<TicketView> {
        self.inner.ticket(number)
    }
    fn order_tickets(&self, order: &str) -> Vec<TicketView> {
        self.inner.order_tickets(order)
    }
    fn message_ticket(&self, message_id: &str) -> Option<u64> {
        self.inner.message_ticket(message_id)
    }
    fn thread_ticket(&self, channel: &str, thread: &str) -> Option<u64> {
        self.inner.thread_ticket(channel, thread)
    }
    fn ticket_messages(&self, ticket: u64, limit: u32) -> Vec<MessageSummary> {
        self.inner.ticket_messages(ticket, limit)
    }
    fn ticket_deadlines(&self, ticket: u64) -> Vec<DeadlineView> {
        self.inner.ticket_deadlines(ticket)
    }
    fn order(&self, channel: &str, number: &str) -> Option<OrderView> {
        let canonical = weft_sdk::order::canonical_order;
        (channel == self.order.channel && canonical(number) == canonical(&self.order.number)).then(|| OrderView {
            order: self.order.clone(),
            number: canonical(&self.order.number).unwrap_or_default(),
            customer: None,
            last_change: "placed".into(),
            updated_at: 0,
        })
    }
}

/// The story of issue 27: a US buyer writes `(512) 555-6879`, a German seller's workflow
/// (`default_region: DE`). The number is American where the message or its order says so:
/// the address, the shipping country of the order it names, the marketplace site that relayed
/// it; only a message that points nowhere is read in the workflow's region (as the German
/// number +49 5125 556879, which exists).
#[test]
fn a_national_number_is_read_where_the_message_or_its_order_points() {
    let order = weft_sdk::Order {
        number: "#20417".into(),
        channel: "shop".into(),
        placed_at: "2026-11-20T10:00:00Z".into(),
        buyer: party(Some("Emily Carter"), Some("emily.carter@example.com"), None),
        shipping: Some(Address {
            line1: Some("1200 Barton Springs Rd".into()),
            postcode: Some("78704".into()),
            city: Some("Austin".into()),
            country: Some("US".into()),
            ..Address::default()
        }),
        status: None,
        updated_at: None,
        lines: Vec::new(),
        total: None,
    };
    let ctx = WithOrder {
        inner: MemoryContext::new(),
        order,
    };
    let phone_of = |message: Message| -> Option<String> {
        let decisions = Identify::decide(&event(message), &Config::default(), &ctx).expect("decide");
        last_link(&decisions)
            .0
            .identities
            .iter()
            .find(|i| i.kind == IdentityKind::Phone)
            .map(|i| i.value.clone())
    };
    let story = |order: Option<&str>, marketplace: Option<&str>, address: Option<(&str, &str, &str, &str)>| {
        let mut m = message(
            "shop",
            party(Some("Emely Carter"), None, Some("(512) 555-6879")),
            address,
        );
        m.order = order.map(Into::into);
        m.marketplace = marketplace.map(Into::into);
        m
    };
    let us = "+15125556879";
    // The address in the message.
    assert_eq!(
        phone_of(story(
            None,
            None,
            Some(("1200 Barton Springs Rd", "78704", "Austin", "US"))
        ))
        .as_deref(),
        Some(us)
    );
    // The order the message is about, shipped to the US.
    assert_eq!(phone_of(story(Some("20417"), None, None)).as_deref(), Some(us));
    // The marketplace site that relayed it.
    assert_eq!(
        phone_of(story(None, Some("amazon.com"), None)).as_deref(),
        Some("+495125556879"),
        "amazon.com names no country"
    );
    assert_eq!(phone_of(story(None, Some("ebay.ca"), None)).as_deref(), Some(us));
    // Nothing points anywhere: read in Germany.
    let de = Some("+495125556879");
    assert_eq!(phone_of(story(None, None, None)).as_deref(), de);
    assert_eq!(
        phone_of(story(Some("99999"), None, None)).as_deref(),
        de,
        "an unknown order says nothing"
    );
}

#[test]
fn a_message_bridging_two_customers_merges_them_into_the_older() {
    let ctx = MemoryContext::new()
        .with_customer(
            5,
            &recorded(message("sms", party(None, None, Some("+33 6 12 34 56 78")), None)),
        )
        .with_customer(
            3,
            &recorded(message(
                "email",
                party(None, Some("marie.lefevre@orange.fr"), None),
                None,
            )),
        );
    let decisions = run(
        message(
            "email",
            party(
                Some("Marie Lefèvre"),
                Some("Marie.Lefevre@orange.fr"),
                Some("0033 6-12-34-56-78"),
            ),
            None,
        ),
        &ctx,
    );
    assert_eq!(decisions.len(), 2, "{decisions:#?}");
    let Command::MergeCustomers(merge) = &decisions[0].command else {
        panic!("{decisions:#?}")
    };
    assert_eq!((merge.into, merge.from.as_slice()), (3, &[5][..]));
    assert!(
        decisions[0].reason.contains("customers 3 and 5"),
        "{}",
        decisions[0].reason
    );
    let fields: Vec<&str> = decisions[0].evidence.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["email", "phone"]);
    let (link, _) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::Existing(3));
}

#[test]
fn merged_customers_are_followed() {
    let mut ctx = MemoryContext::new()
        .with_customer(3, &[Identity::new(IdentityKind::Email, "a@example.de")])
        .with_customer(
            5,
            &recorded(message("sms", party(None, None, Some("+4915112345678")), None)),
        );
    ctx.customers.get_mut(&5).unwrap().merged_into = Some(3);
    let decisions = run(message("sms", party(None, None, Some("015112345678")), None), &ctx);
    assert_eq!(decisions.len(), 1);
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(3));
}

#[test]
fn known_order_links_and_bridges_unless_the_names_say_otherwise() {
    let mut stored = message("amazon", party(Some("María García"), None, None), None);
    stored.order = Some("302-1234567-7654321".into());
    let ctx = MemoryContext::new()
        .with_customer(8, &recorded(stored))
        .with_customer(
            9,
            &recorded(message(
                "email",
                party(Some("Pablo García"), Some("pablo@example.es"), None),
                None,
            )),
        )
        .with_customer(
            10,
            &recorded(message("sms", party(None, None, Some("+34 612 345 678")), None)),
        );
    // The order alone: links to its customer.
    let mut m = message(
        "email",
        party(Some("María García"), Some("maria@example.es"), None),
        None,
    );
    m.order = Some("302 1234567 7654321".into());
    let decisions = run(m, &ctx);
    assert_eq!(decisions.len(), 1);
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(8));
    // Pablo writes about María's order: another first name in one family, linked to Pablo, not
    // merged.
    let mut m = message("email", party(None, Some("pablo@example.es"), None), None);
    m.order = Some("302-1234567-7654321".into());
    let decisions = run(m, &ctx);
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
    let (link, decision) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::Existing(9));
    assert!(
        evidence(decision, "order")
            .iter()
            .any(|e| e.detail.contains("household")),
        "{:?}",
        decision.evidence
    );
    assert!(
        !link.identities.iter().any(|i| i.kind == IdentityKind::Order),
        "{link:?}"
    );
    // An SMS about the order, naming it only in its text, from a phone known without a name:
    // nothing says it is someone else, so the two are one person.
    let mut m = message("sms", party(None, None, Some("+34612345678")), None);
    m.body = "Hola, mi pedido 30212345677654321 todavía no ha llegado".into();
    let decisions = run(m, &ctx);
    let [merge, link] = decisions.as_slice() else {
        panic!("expected a merge and a link: {decisions:#?}")
    };
    assert_eq!(
        merge.command,
        Command::MergeCustomers(MergeCustomers {
            into: 8,
            from: vec![10]
        })
    );
    assert_eq!(
        last_link(std::slice::from_ref(link)).0.customer,
        CustomerRef::Existing(8)
    );
    // María from a second address, with her name: the names agree, merged across the email.
    let ctx = ctx.with_customer(
        11,
        &recorded(message(
            "email",
            party(Some("Maria Garcia"), Some("mg@work.example"), None),
            None,
        )),
    );
    let mut m = message(
        "email",
        party(Some("María García"), Some("mg@work.example"), None),
        None,
    );
    m.order = Some("#302-1234567-7654321".into());
    let decisions = run(m, &ctx);
    assert_eq!(
        decisions[0].command,
        Command::MergeCustomers(MergeCustomers {
            into: 8,
            from: vec![11]
        }),
        "{decisions:#?}"
    );
}

#[test]
fn a_strong_link_whose_name_and_address_match_another_customer_merges_them() {
    let mut amazon = message("amazon", party(Some("Hans Müller"), None, None), Some(BERLIN));
    amazon.from.buyer_id = Some("A1B2C3".into());
    let ctx = MemoryContext::new()
        .with_customer(5, &recorded(amazon))
        .with_customer(
            6,
            &recorded(message(
                "email",
                party(Some("Hans Müller"), Some("hans@example.de"), None),
                None,
            )),
        )
        .with_customer(
            7,
            &recorded(message(
                "email",
                party(Some("Eva Müller"), Some("eva@example.de"), None),
                Some(BERLIN),
            )),
        );
    // Hans writes by mail, this time with his address: the amazon customer is him too. Eva, at
    // the same address with another first name and another email, stays apart.
    let decisions = run(
        message(
            "email",
            party(Some("Hans Müller"), Some("hans@example.de"), None),
            Some(BERLIN),
        ),
        &ctx,
    );
    let [merge, link] = decisions.as_slice() else {
        panic!("expected a merge and a link: {decisions:#?}")
    };
    assert_eq!(
        merge.command,
        Command::MergeCustomers(MergeCustomers { into: 5, from: vec![6] })
    );
    assert!(
        merge.reason.contains("name and address match customer 5"),
        "{}",
        merge.reason
    );
    assert!(
        evidence(merge, "weak-match")[0].detail.starts_with("customer 5"),
        "{merge:#?}"
    );
    assert_eq!(
        last_link(std::slice::from_ref(link)).0.customer,
        CustomerRef::Existing(5)
    );
    // With fuzzy matching off, the identifiers alone decide.
    let config = Config {
        fuzzy: FuzzyConfig {
            enabled: false,
            min_score: 0.9,
            ..FuzzyConfig::default()
        },
        ..Config::default()
    };
    let decisions = run_with(
        &config,
        message(
            "email",
            party(Some("Hans Müller"), Some("hans@example.de"), None),
            Some(BERLIN),
        ),
        &ctx,
    );
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(6));
}

#[test]
fn the_names_known_for_an_email_count_with_the_address_a_message_gives() {
    // Customer 6 is known by email with the name Hans Müller and no address; customer 5 is an
    // amazon buyer with name and address. A mail from 6's address that gives only the postal
    // address (no name): with 6's known name, it matches 5. (name of the amazon buyer, merged)
    for (amazon_name, merged) in [
        ("Hans Müller", true),
        // the same address, another first name: a household, not him
        ("Eva Müller", false),
        // an initial there fits Hanna Müller of the same household as well: not on that alone
        ("H. Müller", false),
    ] {
        let mut amazon = message("amazon", party(Some(amazon_name), None, None), Some(BERLIN));
        amazon.from.buyer_id = Some("A1B2C3".into());
        let ctx = MemoryContext::new().with_customer(5, &recorded(amazon)).with_customer(
            6,
            &recorded(message(
                "email",
                party(Some("Hans Müller"), Some("hans@example.de"), None),
                None,
            )),
        );
        let decisions = run(
            message("email", party(None, Some("hans@example.de"), None), Some(BERLIN)),
            &ctx,
        );
        let merges: Vec<&Decision> = decisions
            .iter()
            .filter(|d| matches!(d.command, Command::MergeCustomers(_)))
            .collect();
        if merged {
            assert_eq!(
                merges.first().map(|d| &d.command),
                Some(&Command::MergeCustomers(MergeCustomers { into: 5, from: vec![6] })),
                "{amazon_name}: {decisions:#?}"
            );
            assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(5));
        } else {
            assert!(merges.is_empty(), "{amazon_name}: {decisions:#?}");
            assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(6));
        }
    }
}

#[test]
fn an_order_is_found_in_the_text_when_the_channel_reports_none() {
    let mut m = message("instagram", party(Some("Anna"), None, None), None);
    m.from.handle = Some("@anna.k".into());
    m.body = "Hallo, meine Bestellung 302-1234567-7654321 ist nicht angekommen, Tel. 0170 1234567".into();
    let identities = recorded(m);
    assert!(
        identities.contains(&Identity::new(IdentityKind::Order, "30212345677654321")),
        "{identities:?}"
    );
}

#[test]
fn typo_in_name_at_the_same_address_links_above_threshold() {
    let ctx = MemoryContext::new().with_customer(
        11,
        &recorded(message(
            "email",
            party(Some("Hans Müller"), Some("hans@example.de"), None),
            Some(BERLIN),
        )),
    );
    let decisions = run(
        message(
            "amazon",
            party(Some("Hans Müler"), None, None),
            Some(("Hauptstr. 12", "10115", "Berlin", "")),
        ),
        &ctx,
    );
    let (link, decision) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::Existing(11), "{decision:#?}");
    assert!(link.score >= 0.9 && link.score < 1.0, "{}", link.score);
    assert!(
        evidence(decision, "name")[0]
            .detail
            .starts_with("fuzzy: hans muler vs hans muller")
    );
    assert!(evidence(decision, "address")[0].detail.starts_with("exact:"));
    assert!(evidence(decision, "postcode")[0].detail.starts_with("exact:"));
    // With fuzzy matching off, or a stricter threshold, the same message gets a new customer.
    for config in [
        Config {
            fuzzy: FuzzyConfig {
                enabled: false,
                min_score: 0.9,
                ..FuzzyConfig::default()
            },
            ..Config::default()
        },
        Config {
            fuzzy: FuzzyConfig {
                enabled: true,
                min_score: 0.999,
                ..FuzzyConfig::default()
            },
            ..Config::default()
        },
        // A seller with a billion customers needs more evidence than this.
        Config {
            fuzzy: FuzzyConfig {
                customers: 1_000_000_000,
                ..FuzzyConfig::default()
            },
            ..Config::default()
        },
    ] {
        let decisions = run_with(
            &config,
            message("amazon", party(Some("Hans Müler"), None, None), Some(BERLIN)),
            &ctx,
        );
        assert_eq!(last_link(&decisions).0.customer, CustomerRef::New, "{config:?}");
    }
}

#[test]
fn a_mistyped_postcode_still_finds_the_customer_through_the_city() {
    // Stored: Hans Müller, Hauptstraße 12, 10115 Berlin. (postcode, city, name, expected link)
    let ctx = MemoryContext::new().with_customer(
        4,
        &recorded(message("chat", party(Some("Hans Müller"), None, None), Some(BERLIN))),
    );
    for (postcode, city, name, linked) in [
        // one digit mistyped: found by name and city, and the rest outweighs the postcode
        ("10151", "Berlin", "Hans Müller", true),
        ("10115", "Berlin", "Hans Müller", true),
        // another city and another postcode: not even a candidate
        ("80331", "München", "Hans Müller", false),
        // found through the city, but someone else of the family
        ("10151", "Berlin", "Anna Müller", false),
    ] {
        let decisions = run(
            message(
                "chat",
                party(Some(name), None, None),
                Some(("Hauptstraße 12", postcode, city, "DE")),
            ),
            &ctx,
        );
        let expected = if linked {
            CustomerRef::Existing(4)
        } else {
            CustomerRef::New
        };
        assert_eq!(last_link(&decisions).0.customer, expected, "{postcode} {city} {name}");
    }
}

#[test]
fn the_city_key_needs_a_house_number_and_carries_it() {
    // (street line, postcode, the message's blocking keys). A customer found through the city
    // reaches the threshold only if the street and house number agree, so the house number
    // narrows the city's block to the people of alike names at that number.
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "Hauptstraße 12",
            "10115",
            &[
                "name:blk:H520|DE-10115",
                "name:blk:M460|DE-10115",
                "name:blk:H520+M460|DE-berlin|12",
                "name:blk:H520+M460|DE-1011*",
                "name:blk:H520+M460|DE~01115",
                "name:blk:H520+M460|DE#12",
                "name:blk:H520|DE@1|haup",
                "name:blk:M460|DE@1|haup",
                "address:blk:DE~01115|12",
                "address:blk:DE@1|12|haup",
                "address:blk:DE-10115/haup",
                "address:blk:DE-berlin/haup",
            ],
        ),
        // no postcode: the city key, the country key and the street in the city
        (
            "Hauptstraße 12",
            "",
            &[
                "name:blk:H520+M460|DE-berlin|12",
                "name:blk:H520+M460|DE#12",
                "address:blk:DE-berlin/haup",
            ],
        ),
        // no house number: the postcode keys and the street's
        (
            "Hauptstraße",
            "10115",
            &[
                "name:blk:H520|DE-10115",
                "name:blk:M460|DE-10115",
                "name:blk:H520+M460|DE-1011*",
                "name:blk:H520+M460|DE~01115",
                "name:blk:H520|DE@1|haup",
                "name:blk:M460|DE@1|haup",
                "address:blk:DE-10115/haup",
                "address:blk:DE-berlin/haup",
            ],
        ),
        // neither: the street in the city alone (one street's customers; the name must
        // still agree with a street name to link)
        ("Hauptstraße", "", &["address:blk:DE-berlin/haup"]),
    ];
    for (line1, postcode, expected) in cases {
        let decisions = run(
            message(
                "chat",
                party(Some("Hans Müller"), None, None),
                Some((line1, postcode, "Berlin", "DE")),
            ),
            &MemoryContext::new(),
        );
        let keys: Vec<String> = last_link(&decisions)
            .0
            .identities
            .iter()
            .filter(|i| i.value.starts_with(BLOCKING_PREFIX))
            .map(ToString::to_string)
            .collect();
        assert_eq!(keys, expected, "{line1} {postcode}");
    }
}

#[test]
fn a_cjk_city_key_pairs_the_family_name_with_the_given_name() {
    // (name, city key recorded for it at 世纪大道100号, 上海市浦东新区, postcode 200120)
    let cases = [
        ("王伟", "name:blk:cjk-伟+cjk-王|CN-上海市浦东新区|100"),
        ("王芳", "name:blk:cjk-王+cjk-芳|CN-上海市浦东新区|100"),
        ("王", "name:blk:cjk-王|CN-上海市浦东新区|100"),
        ("佐藤花子", "name:blk:cjk-佐+cjk-子|CN-上海市浦东新区|100"),
    ];
    for (name, city_key) in cases {
        let decisions = run(
            message(
                "tmall",
                party(Some(name), None, None),
                Some(("世纪大道100号", "200120", "上海市浦东新区", "CN")),
            ),
            &MemoryContext::new(),
        );
        let keys: Vec<String> = last_link(&decisions)
            .0
            .identities
            .iter()
            .filter(|i| i.value.starts_with(BLOCKING_PREFIX) && !i.value.contains("~"))
            .map(ToString::to_string)
            .collect();
        let city: Vec<&String> = keys.iter().filter(|k| k.contains("|CN-上海市浦东新区|")).collect();
        assert_eq!(city, [city_key], "{name}: {keys:?}");
        // The family name's postcode key is the one recorded before the pair existed.
        let family = name.chars().next().unwrap();
        assert!(
            keys.contains(&format!("name:blk:cjk-{family}|CN-200120")),
            "{name}: {keys:?}"
        );
    }

    // Stored: 王伟 in 上海. (postcode, name, expected link)
    let ctx = MemoryContext::new().with_customer(
        32,
        &recorded(message(
            "tmall",
            party(Some("王伟"), None, None),
            Some(("世纪大道100号", "200120", "上海市浦东新区", "CN")),
        )),
    );
    for (postcode, name, linked) in [
        // a mistyped postcode: still found through the city
        ("200130", "王伟", true),
        ("200120", "王伟 先生", true),
        // same family name, same street: someone else, found by the postcode key only
        ("200120", "王芳", false),
        // same family name, another postcode: a candidate only through the street and the
        // city (the family name and the city alone were a key until 2026-12), and not linked
        ("200130", "王芳", false),
    ] {
        let decisions = run(
            message(
                "wechat",
                party(Some(name), None, None),
                Some(("世纪大道100号", postcode, "上海市浦东新区", "CN")),
            ),
            &ctx,
        );
        let (link, decision) = last_link(&decisions);
        let expected = if linked {
            CustomerRef::Existing(32)
        } else {
            CustomerRef::New
        };
        assert_eq!(link.customer, expected, "{postcode} {name}: {}", decision.reason);
        if postcode == "200130" && !linked {
            assert!(
                decision.reason.contains("below the threshold"),
                "{name}: {}",
                decision.reason
            );
        }
    }
}

#[test]
fn another_person_at_the_same_address_stays_apart() {
    let ctx = MemoryContext::new().with_customer(
        11,
        &recorded(message("email", party(Some("Hans Müller"), None, None), Some(BERLIN))),
    );
    for name in ["Peter Weber", "Anna Müller"] {
        let decisions = run(message("amazon", party(Some(name), None, None), Some(BERLIN)), &ctx);
        let (link, decision) = last_link(&decisions);
        assert_eq!(link.customer, CustomerRef::New, "{name}: {decision:#?}");
        assert!(decision.reason.contains("below the threshold"), "{}", decision.reason);
        assert!(!evidence(decision, "name").is_empty());
    }
}

#[test]
fn shared_household_address_with_different_emails_stays_apart() {
    // Father and son: same name, same address, each with his own email.
    let ctx = MemoryContext::new().with_customer(
        20,
        &recorded(message(
            "email",
            party(Some("Jean Dupont"), Some("jean.dupont@orange.fr"), None),
            Some(("12 rue de la Paix", "75002", "Paris", "FR")),
        )),
    );
    let decisions = run(
        message(
            "email",
            party(Some("Jean Dupont"), Some("jean.dupont.fils@free.fr"), None),
            Some(("12, rue de la Paix", "75002", "Paris", "France")),
        ),
        &ctx,
    );
    let (link, decision) = last_link(&decisions);
    assert_eq!(decisions.len(), 1);
    assert_eq!(link.customer, CustomerRef::New, "{decision:#?}");
    assert!(
        decision.reason.contains("conflicting strong identifiers"),
        "{}",
        decision.reason
    );
    let email = evidence(decision, "email");
    assert!(
        email[0]
            .detail
            .starts_with("differs: jean.dupont.fils@free.fr is not among customer 20's"),
        "{email:?}"
    );
    assert!(email[0].weight < 0.0);
    // Without an email of his own, the same message links by name and address.
    let decisions = run(
        message(
            "amazon",
            party(Some("Jean Dupont"), None, None),
            Some(("12 rue de la Paix", "75002", "Paris", "FR")),
        ),
        &ctx,
    );
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(20));
}

#[test]
fn a_vetoed_candidate_does_not_hide_an_allowed_one() {
    let ctx = MemoryContext::new()
        .with_customer(
            1,
            &recorded(message(
                "email",
                party(Some("Hans Müller"), Some("hans@example.de"), None),
                Some(BERLIN),
            )),
        )
        .with_customer(
            2,
            &recorded(message("amazon", party(Some("Hans Mueller"), None, None), Some(BERLIN))),
        );
    let decisions = run(
        message(
            "email",
            party(Some("Hans Müller"), Some("hans.junior@example.de"), None),
            Some(BERLIN),
        ),
        &ctx,
    );
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(2));
}

#[test]
fn missing_evidence_gives_a_new_customer() {
    let ctx = MemoryContext::new().with_customer(
        11,
        &recorded(message("email", party(Some("Hans Müller"), None, None), Some(BERLIN))),
    );
    // The same name without an address: no blocking key, no guess.
    let decisions = run(message("chat", party(Some("Hans Müller"), None, None), None), &ctx);
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::New);
    // The same postcode and house number, nothing else.
    let decisions = run(
        message("chat", party(None, None, None), Some(("Gartenweg 12", "10115", "", ""))),
        &ctx,
    );
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::New);
}

#[test]
fn japanese_and_chinese_customers_link_by_name_and_address() {
    let tokyo = ("東京都千代田区千代田1-1-1", "100-0001", "千代田区", "JP");
    let ctx = MemoryContext::new()
        .with_customer(
            30,
            &recorded(message("rakuten", party(Some("山田太郎"), None, None), Some(tokyo))),
        )
        .with_customer(
            31,
            &recorded(message(
                "tmall",
                party(Some("王伟"), None, None),
                Some(("北京市朝阳区建国路88号", "100020", "北京市", "CN")),
            )),
        );
    let decisions = run(
        message(
            "email",
            party(Some("山田 太郎 様"), None, None),
            Some(("東京都千代田区千代田１丁目１番１号", "〒1000001", "千代田区", "日本")),
        ),
        &ctx,
    );
    assert_eq!(
        last_link(&decisions).0.customer,
        CustomerRef::Existing(30),
        "{decisions:#?}"
    );
    let decisions = run(message("email", party(Some("山田花子"), None, None), Some(tokyo)), &ctx);
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::New);
    let decisions = run(
        message(
            "wechat",
            party(Some("王伟 先生"), None, None),
            Some(("北京市 朝阳区 建国路 88号", "100020", "北京", "中国")),
        ),
        &ctx,
    );
    assert_eq!(
        last_link(&decisions).0.customer,
        CustomerRef::Existing(31),
        "{decisions:#?}"
    );
}

#[test]
fn buyer_ids_and_handles_link() {
    let mut stored = message(
        "amazon",
        Party {
            buyer_id: Some("A1B2C3D4E5F6G7".into()),
            ..Party::default()
        },
        None,
    );
    stored.marketplace = Some("Amazon".into());
    let ctx = MemoryContext::new().with_customer(40, &recorded(stored)).with_customer(
        41,
        &recorded(message(
            "instagram",
            Party {
                handle: Some("@Carla.Rossi".into()),
                ..Party::default()
            },
            None,
        )),
    );
    let mut m = message(
        "amazon",
        Party {
            buyer_id: Some("A1B2C3D4E5F6G7".into()),
            ..Party::default()
        },
        None,
    );
    m.marketplace = Some("amazon".into());
    assert_eq!(last_link(&run(m, &ctx)).0.customer, CustomerRef::Existing(40));
    let m = message(
        "instagram",
        Party {
            handle: Some("carla.rossi".into()),
            ..Party::default()
        },
        None,
    );
    assert_eq!(last_link(&run(m, &ctx)).0.customer, CustomerRef::Existing(41));
    // The same id on another marketplace is someone else.
    let m = message(
        "ebay",
        Party {
            buyer_id: Some("A1B2C3D4E5F6G7".into()),
            ..Party::default()
        },
        None,
    );
    assert_eq!(last_link(&run(m, &ctx)).0.customer, CustomerRef::New);
}

#[test]
fn kinds_left_out_of_strong_do_not_link() {
    let ctx = MemoryContext::new().with_customer(
        4,
        &recorded(message("sms", party(None, None, Some("+49 170 1234567")), None)),
    );
    let config = Config {
        strong: vec![StrongKind::Email],
        ..Config::default()
    };
    let decisions = run_with(
        &config,
        message("sms", party(None, None, Some("0170 1234567")), None),
        &ctx,
    );
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::New);
}

#[test]
fn unreadable_identifiers_are_noted_not_fatal() {
    let ctx = MemoryContext::new().with_customer(
        7,
        &recorded(message("email", party(None, Some("anna@example.de"), None), None)),
    );
    let decisions = run(
        message(
            "email",
            party(Some("Anna"), Some("anna@example.de"), Some("call me maybe")),
            None,
        ),
        &ctx,
    );
    let (link, decision) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::Existing(7));
    let phone = evidence(decision, "phone");
    assert!(
        phone[0]
            .detail
            .starts_with("ignored: phone \"call me maybe\" is not valid"),
        "{phone:?}"
    );
    let logs = ctx.logs.lock().unwrap();
    assert!(
        logs.iter()
            .any(|(level, line)| *level == LogLevel::Warn && line.contains("call me maybe")),
        "{logs:?}"
    );
}

#[test]
fn wrong_events_and_configs_are_typed_errors() {
    let ctx = MemoryContext::new();
    let mut e = event(Message::new("chat", "c", 0));
    e.message = None;
    e.kind = "timer.fired".into();
    let err = Identify::decide(&e, &Config::default(), &ctx).unwrap_err();
    assert!(
        matches!(&err, Error::Permanent(m) if m.contains("kind `timer.fired` has neither")),
        "{err}"
    );
    // An order event whose payload is not an order says what is wrong with it.
    e.kind = ORDER_PLACED.into();
    e.payload = serde_json::json!({ "number": "#1001", "channel": "shopify", "placed_at": "2026-11-20T10:00:00Z", "colour": "red" });
    let err = Identify::decide(&e, &Config::default(), &ctx).unwrap_err();
    assert!(
        matches!(&err, Error::Permanent(m) if m.contains("not an order") && m.contains("unknown field `colour`")),
        "{err}"
    );
    let bad = Config {
        default_region: "Mars".into(),
        fuzzy: FuzzyConfig {
            enabled: true,
            min_score: -1.0,
            ..FuzzyConfig::default()
        },
        ..Config::default()
    };
    let err = Identify::decide(&event(Message::new("chat", "c", 0)), &bad, &ctx).unwrap_err();
    assert!(
        matches!(&err, Error::BadConfig(m) if m.contains("default_region") && m.contains("min_score")),
        "{err}"
    );
}

#[test]
fn customers_split_apart_are_not_merged_again() {
    let marie_sms = recorded(message("sms", party(None, None, Some("+33 6 12 34 56 78")), None));
    let marie_mail = recorded(message(
        "email",
        party(None, Some("marie.lefevre@orange.fr"), None),
        None,
    ));
    let bridging = || {
        message(
            "email",
            party(
                Some("Marie Lefèvre"),
                Some("Marie.Lefevre@orange.fr"),
                Some("0033 6-12-34-56-78"),
            ),
            None,
        )
    };
    // Counter-case: without the split, the same message merges them.
    let ctx = MemoryContext::new()
        .with_customer(5, &marie_sms)
        .with_customer(3, &marie_mail);
    assert_eq!(run(bridging(), &ctx).len(), 2);

    let ctx = ctx.with_kept_apart(3, 5);
    let decisions = run(bridging(), &ctx);
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
    let (link, decision) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::Existing(3));
    // The phone stays customer 5's: recording it for 3 would join them through the back door.
    assert!(
        !link.identities.iter().any(|i| i.kind == IdentityKind::Phone),
        "{:?}",
        link.identities
    );
    let apart = evidence(decision, "kept-apart");
    assert!(
        apart[0].detail.contains("customer 5 was split from customer 3"),
        "{apart:?}"
    );
}

#[test]
fn a_split_is_honoured_after_later_merges() {
    // 5 was split from 3; 7 was later merged into 5. The store answers kept-apart as the
    // customers they live in now, so 5 lists 3 and the message with 3's email and 7's handle
    // must not merge 5 (through 7) into 3.
    let mut insta = party(Some("田中 由紀"), None, None);
    insta.handle = Some("@yuki_tanaka".into());
    let mut ctx = MemoryContext::new()
        .with_customer(
            3,
            &recorded(message("email", party(None, Some("yuki@example.jp"), None), None)),
        )
        .with_customer(
            5,
            &recorded(message("sms", party(None, None, Some("+81 90-1234-5678")), None)),
        )
        .with_customer(7, &recorded(message("instagram", insta, None)))
        .with_kept_apart(3, 5);
    ctx.customers.get_mut(&7).unwrap().merged_into = Some(5);
    let mut m = message(
        "instagram",
        party(Some("田中 由紀"), Some("yuki@example.jp"), None),
        None,
    );
    m.from.handle = Some("@yuki_tanaka".into());
    let decisions = run(m, &ctx);
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
    assert_eq!(last_link(&decisions).0.customer, CustomerRef::Existing(3));
}

#[test]
fn weak_evidence_does_not_choose_between_customers_split_apart() {
    let hans = |email: &str| {
        recorded(message(
            "email",
            party(Some("Hans Müller"), Some(email), None),
            Some(BERLIN),
        ))
    };
    let ctx = MemoryContext::new()
        .with_customer(1, &hans("hans@example.de"))
        .with_customer(2, &hans("hans.mueller@example.com"));
    let anonymous = || message("amazon", party(Some("Hans Müller"), None, None), Some(BERLIN));
    // Counter-case: not split, the name and address link to the older one.
    assert_eq!(last_link(&run(anonymous(), &ctx)).0.customer, CustomerRef::Existing(1));

    let ctx = ctx.with_kept_apart(1, 2);
    let decisions = run(anonymous(), &ctx);
    let (link, decision) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::New, "{decision:#?}");
    assert!(decision.reason.contains("split by hand"), "{}", decision.reason);
    assert!(!evidence(decision, "kept-apart").is_empty());
}

fn order_event(order: serde_json::Value) -> Event {
    Event {
        id: 7,
        kind: ORDER_PLACED.into(),
        at: 1_794_000_000_000,
        message: None,
        customer: None,
        ticket: None,
        payload: order,
    }
}

#[test]
fn an_order_ties_its_buyer_s_identifiers_to_one_customer() {
    // A shop order: email, phone, name and shipping address of one buyer, and the order number.
    let order = serde_json::json!({
        "number": "#1001",
        "channel": "shopify",
        "placed_at": "2026-11-20T10:00:00Z",
        "buyer": { "name": "Anna Müller", "email": "Anna.Mueller@example.de", "phone": "0151 23456789" },
        "shipping": { "line1": "Hauptstraße 12", "postcode": "10115", "city": "Berlin", "country": "DE" }
    });
    let decisions = Identify::decide(&order_event(order), &Config::default(), &MemoryContext::new()).expect("decide");
    let (link, _) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::New);
    let kinds: BTreeSet<(IdentityKind, &str)> = link.identities.iter().map(|i| (i.kind, i.value.as_str())).collect();
    for expected in [
        (IdentityKind::Email, "anna.mueller@example.de"),
        (IdentityKind::Phone, "+4915123456789"),
        (IdentityKind::Order, "1001"),
        (IdentityKind::Name, "anna muller"),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} missing from {kinds:?}");
    }
    assert!(
        link.identities
            .iter()
            .any(|i| i.kind == IdentityKind::Address && !i.value.starts_with(BLOCKING_PREFIX))
    );

    // The order is known: an Instagram message that only names it links to that customer,
    // and an Amazon message with the same name and address links by score.
    let ctx = MemoryContext::new().with_customer(3, &link.identities);
    let mut dm = message(
        "instagram",
        Party {
            handle: Some("@anna.m".into()),
            ..Party::default()
        },
        None,
    );
    dm.body = "Wo bleibt meine Bestellung #1001?".into();
    let decisions = run(dm, &ctx);
    let (link, decision) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::Existing(3), "{decision:#?}");
    let amazon = message(
        "amazon",
        Party {
            name: Some("Anna Mueller".into()),
            buyer_id: Some("A1B2C3D4E5F6G7".into()),
            ..Party::default()
        },
        Some(("Hauptstr. 12", "10115", "Berlin", "DE")),
    );
    let decisions = run(amazon, &ctx);
    let (link, decision) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::Existing(3), "{decision:#?}");
    assert!(
        evidence(decision, "name")[0].detail.starts_with("exact:"),
        "{decision:#?}"
    );
}

#[test]
fn an_sms_naming_a_known_order_reads_its_number_where_the_buyer_of_the_order_lives() {
    // Yuki's shop order: a Tokyo address and her mobile in international form.
    let order = serde_json::json!({
        "number": "#10482",
        "channel": "shopify",
        "placed_at": "2026-11-15T03:00:00Z",
        "buyer": { "name": "田中 由紀", "email": "yuki.tanaka@example.jp", "phone": "+81 90-1234-5678" },
        "shipping": { "line1": "世田谷区三軒茶屋2-11-5", "postcode": "154-0024", "city": "東京都", "country": "JP" }
    });
    let decisions = Identify::decide(&order_event(order), &Config::default(), &MemoryContext::new()).expect("decide");
    let ctx = MemoryContext::new().with_customer(4, &last_link(&decisions).0.identities);
    // An SMS with the national number and the order in the text: Japanese, not German (the
    // workflow's region), so it is her number and the order links without a conflict.
    let mut sms = message("sms", party(None, None, Some("090-1234-5678")), None);
    sms.body = "注文#10482の配送先を変更したいです。".into();
    let decisions = run(sms, &ctx);
    let (link, decision) = last_link(&decisions);
    assert_eq!(link.customer, CustomerRef::Existing(4), "{decision:#?}");
    assert!(
        link.identities
            .contains(&Identity::new(IdentityKind::Phone, "+819012345678")),
        "{:?}",
        link.identities
    );
}
