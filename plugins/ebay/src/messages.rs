//! Buyers' messages through eBay's Commerce Message API, polled, and replies through it.
//!
//! **Polling.** Every read names its conversation type (`FROM_MEMBERS`: buyers and other
//! members; eBay's own notices are `FROM_EBAY` and not read). A poll lists the conversations
//! active since the cursor's time (`GET /conversation?conversation_type=FROM_MEMBERS&start_time=…`,
//! page by page with `limit` and `offset`), then reads each conversation's messages
//! (`GET /conversation/{id}?conversation_type=FROM_MEMBERS`, paged alike) and keeps those
//! written at or after that time that it has not seen.
//!
//! **The cursor** is the creation time of the newest message seen and the ids of the messages
//! of exactly that time: `{"since": "2026-11-20T10:00:00Z", "seen": ["m-7"]}`. The next poll
//! asks from that time again (a message eBay records in the same millisecond later is not
//! skipped) and leaves out the ids seen (none is repeated). The engine stores it with the
//! messages in one transaction, so a restart goes on from there.
//!
//! **Replies** go to the conversation the buyer wrote in (`POST /send_message` with its
//! `conversationId`); without one, to the buyer's latest conversation with the seller, or a
//! new conversation with the buyer (`otherPartyUsername`). eBay takes no idempotency key: a
//! reply whose answer was lost is not sent again by itself.

use crate::api::{self, Token};
use crate::config::{Config, encode_path};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use weft_sdk::{Attachment, Delivery, Error, Host, HttpRequest, Item, Message, Outbound, Party, Polled};

/// The conversation type every read names.
pub const FROM_MEMBERS: &str = "FROM_MEMBERS";
/// How far back the very first poll reads, without `since` in the cursor.
const FIRST_POLL_DAYS: i64 = 30;
/// The most pages one listing reads in one poll: eBay caps a page at 50, so 2,000 conversations
/// or messages; the rest comes with the next poll.
const MAX_PAGES: u32 = 40;

/// Where a poll starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The creation time of the newest message seen.
    pub since: jiff::Timestamp,
    /// The ids of the messages created at exactly `since`, already taken.
    pub seen: BTreeSet<String>,
}

/// A [`Cursor`] as it is stored: the time in RFC 3339.
#[derive(Serialize, Deserialize)]
struct CursorText {
    since: String,
    #[serde(default)]
    seen: BTreeSet<String>,
}

impl Cursor {
    /// The cursor a poll was given, or where a first poll starts.
    pub fn read(cursor: Option<&str>, now: jiff::Timestamp) -> Result<Cursor, Error> {
        let Some(text) = cursor else {
            return Ok(Cursor {
                since: now - jiff::SignedDuration::from_hours(24 * FIRST_POLL_DAYS),
                seen: BTreeSet::new(),
            });
        };
        let bad = |e: &dyn std::fmt::Display| {
            Error::permanent(format!("ebay: the poll cursor {text:?} is not this channel's: {e}"))
        };
        let stored: CursorText = serde_json::from_str(text).map_err(|e| bad(&e))?;
        Ok(Cursor {
            since: stored.since.parse().map_err(|e| bad(&e))?,
            seen: stored.seen,
        })
    }

    /// The cursor as it is stored.
    pub fn text(&self) -> String {
        let stored = CursorText {
            since: self.since.to_string(),
            seen: self.seen.clone(),
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Whether a message of this id and time is new to the cursor.
    fn is_new(&self, id: &str, at: jiff::Timestamp) -> bool {
        at > self.since || (at == self.since && !self.seen.contains(id))
    }

    /// The cursor after taking a message of this id and time.
    fn take(&mut self, id: &str, at: jiff::Timestamp) {
        if at > self.since {
            self.since = at;
            self.seen.clear();
        }
        if at == self.since {
            self.seen.insert(id.to_owned());
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Conversations {
    #[serde(default)]
    conversations: Vec<Conversation>,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    total: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Conversation {
    conversation_id: String,
    #[serde(default)]
    conversation_title: Option<String>,
    #[serde(default)]
    reference_id: Option<String>,
    #[serde(default)]
    reference_type: Option<String>,
    #[serde(default)]
    latest_message: Option<MessageDetail>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConversationMessages {
    #[serde(default)]
    messages: Vec<MessageDetail>,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    total: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageDetail {
    message_id: String,
    #[serde(default)]
    message_body: String,
    created_date: String,
    #[serde(default)]
    sender_username: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    message_media: Vec<MessageMedia>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageMedia {
    #[serde(default)]
    media_name: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
}

impl MessageDetail {
    /// When it was written.
    fn at(&self) -> Result<jiff::Timestamp, Error> {
        self.created_date.parse().map_err(|e| {
            Error::permanent(format!(
                "ebay: message {}: `createdDate` {:?} is not an ISO 8601 time: {e}",
                self.message_id, self.created_date
            ))
        })
    }
}

/// One page of a listing: whether another follows, by eBay's `next` or its `total`.
fn more(next: &Option<String>, total: Option<u64>, read: u64, page_len: usize) -> bool {
    if page_len == 0 {
        return false;
    }
    match total {
        Some(total) => read < total,
        None => next.is_some(),
    }
}

/// A `GET` of the Message API as JSON of type `T`.
fn get<T: serde::de::DeserializeOwned>(config: &Config, host: &dyn Host, url: String, what: &str) -> Result<T, Error> {
    let request = HttpRequest::new("GET", url).with_header("Accept", "application/json");
    let response = api::call(Token::User, config, host, &request, what)?;
    if !response.is_success() {
        return Err(api::api_error(what, &response));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| Error::permanent(format!("ebay: {what}: the answer is not the Message API's format: {e}")))
}

/// What is new since `cursor`: the buyers' messages, and the next cursor.
pub fn poll(cursor: Option<&str>, config: &Config, host: &dyn Host) -> Result<Polled, Error> {
    let start = Cursor::read(cursor, jiff::Timestamp::now())?;
    let limit = config.page_size;
    let mut conversations = Vec::new();
    let mut offset = 0u64;
    for _ in 0..MAX_PAGES {
        let url = format!(
            "{}/conversation?conversation_type={FROM_MEMBERS}&start_time={}&limit={limit}&offset={offset}",
            config.message_api(),
            encode_path(&start.since.to_string()),
        );
        let page: Conversations = get(config, host, url, "listing conversations")?;
        let len = page.conversations.len();
        offset += len as u64;
        conversations.extend(page.conversations);
        if !more(&page.next, page.total, offset, len) {
            break;
        }
    }
    let mut next = start.clone();
    let mut found: Vec<(jiff::Timestamp, Message)> = Vec::new();
    for conversation in &conversations {
        if let Some(latest) = &conversation.latest_message
            && !start.is_new(&latest.message_id, latest.at()?)
        {
            continue;
        }
        for detail in conversation_messages(config, host, &conversation.conversation_id)? {
            let at = detail.at()?;
            if !start.is_new(&detail.message_id, at) {
                continue;
            }
            next.take(&detail.message_id, at);
            let from_seller = detail
                .sender_username
                .as_deref()
                .is_some_and(|sender| sender.eq_ignore_ascii_case(config.seller.trim()));
            if !from_seller {
                found.push((at, message(conversation, &detail, at)));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    Ok(Polled {
        items: found.into_iter().map(|(_, m)| Item::Message(m)).collect(),
        cursor: (cursor.is_none() || next != start).then(|| next.text()),
    })
}

/// Every message of a conversation, page by page.
fn conversation_messages(config: &Config, host: &dyn Host, id: &str) -> Result<Vec<MessageDetail>, Error> {
    let limit = config.page_size;
    let mut messages = Vec::new();
    let mut offset = 0u64;
    let what = format!("reading conversation {id}");
    for _ in 0..MAX_PAGES {
        let url = format!(
            "{}/conversation/{}?conversation_type={FROM_MEMBERS}&limit={limit}&offset={offset}",
            config.message_api(),
            encode_path(id)
        );
        let page: ConversationMessages = get(config, host, url, &what)?;
        let len = page.messages.len();
        offset += len as u64;
        messages.extend(page.messages);
        if !more(&page.next, page.total, offset, len) {
            break;
        }
    }
    Ok(messages)
}

/// A buyer's message as weft keeps it: the conversation as its thread, the sender's eBay user
/// name as their buyer id, an order number found in it, the listing it is about in the subject
/// when the message has none.
fn message(conversation: &Conversation, detail: &MessageDetail, at: jiff::Timestamp) -> Message {
    let mut message = Message::new("ebay", &detail.message_id, at.as_millisecond());
    message.thread = Some(conversation.conversation_id.clone());
    message.from = Party {
        buyer_id: detail.sender_username.clone(),
        ..Party::default()
    };
    let listing = match (&conversation.reference_type, &conversation.reference_id) {
        (Some(kind), Some(id)) if kind.eq_ignore_ascii_case("LISTING") => Some(format!("eBay item {id}")),
        _ => None,
    };
    message.subject = detail
        .subject
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| conversation.conversation_title.clone())
        .or(listing);
    message.body = detail.message_body.clone();
    message.order = weft_sdk::order::find_order(&message.body)
        .or_else(|| message.subject.as_deref().and_then(weft_sdk::order::find_order));
    message.marketplace = Some("ebay".into());
    message.attachments = detail
        .message_media
        .iter()
        .map(|media| Attachment {
            filename: media.media_name.clone(),
            content_type: media_content_type(media.media_type.as_deref()),
            size: 0,
        })
        .collect();
    message
}

/// eBay's media types (`IMAGE`, `PDF`, `DOC`, `TXT`) as MIME types.
fn media_content_type(kind: Option<&str>) -> String {
    match kind.map(str::to_ascii_uppercase).as_deref() {
        Some("IMAGE") => "image/*",
        Some("PDF") => "application/pdf",
        Some("DOC") => "application/msword",
        Some("TXT") => "text/plain",
        _ => "application/octet-stream",
    }
    .to_owned()
}

/// Sends a reply through `POST /send_message`.
pub fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
    let buyer = outbound.to.trim();
    let conversation = match outbound.thread.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(thread) => Some(thread.to_owned()),
        None if buyer.is_empty() => {
            return Err(Error::permanent(
                "ebay: the reply names neither a conversation nor a buyer's user name",
            ));
        }
        None => latest_conversation(config, host, buyer)?,
    };
    let mut body = serde_json::json!({ "messageText": outbound.body });
    match &conversation {
        Some(id) => body["conversationId"] = id.clone().into(),
        None => body["otherPartyUsername"] = buyer.into(),
    }
    let what = match &conversation {
        Some(id) => format!("sending the reply to conversation {id}"),
        None => format!("sending the reply to {buyer}"),
    };
    let request = HttpRequest::new("POST", format!("{}/send_message", config.message_api())).with_json(&body);
    let response = api::call(Token::User, config, host, &request, &what).map_err(|error| match error {
        // No answer: eBay may have taken it, and it takes no idempotency key.
        Error::Retryable(reason) => Error::permanent(format!(
            "{reason}; the reply may have gone out, so it is not sent again by itself: check the conversation on eBay, then `weft outbox retry {}`",
            outbound.key
        )),
        other => other,
    })?;
    if !response.is_success() {
        return Err(api::api_error(&what, &response));
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sent {
        #[serde(default)]
        message_id: Option<String>,
    }
    let sent: Sent = serde_json::from_slice(&response.body).unwrap_or(Sent { message_id: None });
    Ok(Delivery {
        external_id: sent.message_id,
    })
}

/// The buyer's latest conversation with the seller, if any.
fn latest_conversation(config: &Config, host: &dyn Host, buyer: &str) -> Result<Option<String>, Error> {
    let url = format!(
        "{}/conversation?conversation_type={FROM_MEMBERS}&other_party_username={}&limit=1&offset=0",
        config.message_api(),
        encode_path(buyer)
    );
    let page: Conversations = get(config, host, url, &format!("finding the conversation with {buyer}"))?;
    Ok(page.conversations.into_iter().next().map(|c| c.conversation_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::HttpResponse;
    use weft_sdk::testing::TestHost;

    const API: &str = "https://api.ebay.com/commerce/message/v1";

    fn config() -> Config {
        weft_sdk::testing::channel_config::<crate::Ebay>(serde_json::json!({
            "client_id": "id", "client_secret": "secret", "refresh_token": "refresh",
            "verification_token": "vt", "endpoint": "https://weft.example.com/hooks/ebay", "seller": "Mein-Laden",
            "page_size": 2,
        }))
        .unwrap()
    }

    fn host() -> TestHost {
        TestHost::new()
            .with_secret("id", "client")
            .with_secret("secret", "cert")
            .with_secret("refresh", "r")
            .respond(
                "POST",
                "https://api.ebay.com/identity/v1/oauth2/token",
                HttpResponse::new(200).with_json(&serde_json::json!({"access_token": "user", "expires_in": 7200})),
            )
    }

    fn detail(id: &str, at: &str, sender: &str, body: &str) -> serde_json::Value {
        serde_json::json!({"messageId": id, "createdDate": at, "senderUsername": sender, "recipientUsername": "Mein-Laden", "messageBody": body, "readStatus": false})
    }

    #[test]
    fn a_poll_pages_through_and_its_cursor_neither_skips_nor_repeats() {
        let since = "2026-11-20T00:00:00Z";
        let cursor = Cursor {
            since: since.parse().unwrap(),
            seen: BTreeSet::new(),
        };
        let list = |offset: u32| {
            format!(
                "{API}/conversation?conversation_type=FROM_MEMBERS&start_time=2026-11-20T00%3A00%3A00Z&limit=2&offset={offset}"
            )
        };
        let m1 = detail(
            "m-1",
            "2026-11-20T09:00:00.000Z",
            "anna_de",
            "Wo bleibt Bestellung 12-34567-89012?",
        );
        let m2 = detail("m-2", "2026-11-20T10:00:00.000Z", "Mein-Laden", "Ist unterwegs.");
        let m3 = detail("m-3", "2026-11-21T08:00:00.000Z", "taro_jp", "注文はいつ届きますか？");
        let host = host()
            .respond("GET", &list(0), HttpResponse::new(200).with_json(&serde_json::json!({
                "conversations": [
                    {"conversationId": "c-1", "conversationTitle": "Wanderschuhe", "referenceId": "110553", "referenceType": "LISTING", "latestMessage": m2},
                    {"conversationId": "c-2", "latestMessage": m3}],
                "limit": 2, "offset": 0, "total": 3, "next": list(2)})))
            .respond("GET", &list(2), HttpResponse::new(200).with_json(&serde_json::json!({
                "conversations": [{"conversationId": "c-3", "latestMessage": detail("m-0", "2026-11-19T08:00:00.000Z", "old", "alt")}],
                "limit": 2, "offset": 2, "total": 3})))
            .respond("GET", &format!("{API}/conversation/c-1?conversation_type=FROM_MEMBERS&limit=2&offset=0"),
                HttpResponse::new(200).with_json(&serde_json::json!({"messages": [m1, m2], "total": 2})))
            .respond("GET", &format!("{API}/conversation/c-2?conversation_type=FROM_MEMBERS&limit=2&offset=0"),
                HttpResponse::new(200).with_json(&serde_json::json!({"messages": [m3], "total": 1})));
        let polled = poll(Some(&cursor.text()), &config(), &host).unwrap();
        let ids: Vec<(&str, Option<&str>, Option<&str>)> = polled
            .items
            .iter()
            .map(|item| match item {
                Item::Message(m) => (m.id.as_str(), m.from.buyer_id.as_deref(), m.order.as_deref()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            ids,
            [
                ("m-1", Some("anna_de"), Some("12-34567-89012")),
                ("m-3", Some("taro_jp"), None)
            ]
        );
        let Item::Message(first) = &polled.items[0] else {
            unreachable!()
        };
        assert_eq!(first.thread.as_deref(), Some("c-1"));
        assert_eq!(first.subject.as_deref(), Some("Wanderschuhe"));
        let next = Cursor::read(polled.cursor.as_deref(), jiff::Timestamp::now()).unwrap();
        assert_eq!(next.since, "2026-11-21T08:00:00Z".parse::<jiff::Timestamp>().unwrap());
        assert_eq!(next.seen, BTreeSet::from(["m-3".to_owned()]));
        let asked: Vec<String> = host
            .requests()
            .iter()
            .filter(|r| r.method == "GET")
            .map(|r| r.url.clone())
            .collect();
        assert!(
            asked.iter().all(|url| url.contains("conversation_type=FROM_MEMBERS")),
            "{asked:?}"
        );
        assert!(
            !asked.iter().any(|url| url.contains("/conversation/c-3")),
            "c-3 has nothing new: {asked:?}"
        );
    }

    #[test]
    fn a_cursor_takes_messages_of_the_same_time_once() {
        let at: jiff::Timestamp = "2026-11-21T08:00:00Z".parse().unwrap();
        let mut cursor = Cursor {
            since: at,
            seen: BTreeSet::from(["m-3".to_owned()]),
        };
        assert!(!cursor.is_new("m-3", at));
        assert!(cursor.is_new("m-4", at), "same millisecond, another message");
        assert!(!cursor.is_new("m-0", at - jiff::SignedDuration::from_secs(1)));
        cursor.take("m-4", at);
        assert_eq!(cursor.seen.len(), 2);
        cursor.take("m-5", at + jiff::SignedDuration::from_secs(1));
        assert_eq!(cursor.seen, BTreeSet::from(["m-5".to_owned()]));
        assert!(
            Cursor::read(Some("kein cursor"), at)
                .unwrap_err()
                .message()
                .contains("poll cursor")
        );
    }

    #[test]
    fn a_reply_goes_to_its_conversation_or_finds_one() {
        let host = host()
            .respond(
                "POST",
                &format!("{API}/send_message"),
                HttpResponse::new(200).with_json(&serde_json::json!({"messageId": "m-9", "messageBody": "x"})),
            )
            .respond(
                "GET",
                &format!(
                    "{API}/conversation?conversation_type=FROM_MEMBERS&other_party_username=anna_de&limit=1&offset=0"
                ),
                HttpResponse::new(200)
                    .with_json(&serde_json::json!({"conversations": [{"conversationId": "c-1"}], "total": 1})),
            );
        let config = config();
        let reply = Outbound {
            key: "reply:1:v2".into(),
            to: "anna_de".into(),
            thread: Some("c-1".into()),
            body: "Ihr Paket ist unterwegs — 配達中".into(),
            ..Outbound::default()
        };
        assert_eq!(
            deliver(&reply, &config, &host).unwrap().external_id.as_deref(),
            Some("m-9")
        );
        let unthreaded = Outbound { thread: None, ..reply };
        deliver(&unthreaded, &config, &host).unwrap();
        let sent: Vec<serde_json::Value> = host
            .requests()
            .iter()
            .filter(|r| r.url.ends_with("/send_message"))
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        assert_eq!(
            sent[0],
            serde_json::json!({"conversationId": "c-1", "messageText": "Ihr Paket ist unterwegs — 配達中"})
        );
        assert_eq!(sent[1], sent[0], "found the buyer's conversation");
    }

    #[test]
    fn a_lost_answer_is_not_sent_again_by_itself() {
        let host = host();
        let reply = Outbound {
            key: "reply:1:v2".into(),
            to: "anna_de".into(),
            thread: Some("c-1".into()),
            body: "Hallo".into(),
            ..Outbound::default()
        };
        let error = deliver(&reply, &config(), &host).unwrap_err();
        assert!(
            matches!(&error, Error::Permanent(m) if m.contains("weft outbox retry reply:1:v2")),
            "{error:?}"
        );
    }
}
