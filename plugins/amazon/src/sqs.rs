//! The SQS queue SP-API notifications arrive in, read through SQS's JSON protocol
//! (`POST /` with `Content-Type: application/x-amz-json-1.0` and `X-Amz-Target:
//! AmazonSQS.<operation>`), each call signed with AWS Signature Version 4 ([`crate::sigv4`]).
//!
//! **A poll** first deletes what the previous poll received (`DeleteMessageBatch`, 10 receipt
//! handles a call), then receives (`ReceiveMessage`, up to 10 messages, long polling for
//! `wait_seconds` on the first receive; further receives, while full batches come, without
//! waiting, up to `batches`), and answers the items with a cursor holding the receipt handles
//! of what it received: `{"delete": ["AQEB…", …]}`.
//!
//! **Delete only what is durably kept.** The engine stores a poll's items and its cursor in one
//! transaction before it polls again, so a message is deleted from the queue only after weft
//! has kept it. A crash before that commit leaves the messages in the queue: they become
//! visible again after the queue's visibility timeout and are received again. The same
//! notification received twice (or delivered twice by SP-API, which delivers at least once)
//! carries the same `NotificationId`, and the store keeps one. A receipt handle that no longer
//! works (the visibility timeout passed before the next poll and the message was received
//! again, under a new handle) is not an error: the message is deleted under its new handle.
//!
//! **Unreadable messages** (not an SP-API notification) are handed to the engine as
//! [`weft_sdk::UNREADABLE`] items, kept as dead letters with their reason, and deleted from
//! the queue like the others: the queue's own redrive policy would lose the reason.
//!
//! **Errors.** SQS answers errors as `{"__type": "com.amazonaws.sqs#QueueDoesNotExist",
//! "message": "…"}`: throttling (`ThrottlingException`, `RequestThrottled`), 5xx and no answer
//! are worth another poll; anything else (a wrong key, a missing queue, a denied action) is
//! permanent, with SQS's own words.

use crate::config::SqsConfig;
use crate::notification;
use crate::sigv4::{self, Credentials, Scope};
use serde::{Deserialize, Serialize};
use weft_sdk::{Error, Host, HttpRequest, HttpResponse, Item, Polled};

/// SQS's largest batch, for receiving and for deleting.
pub const BATCH: usize = 10;

/// The poll cursor: the receipt handles of the messages the last poll received, to delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default)]
    pub delete: Vec<String>,
}

impl Cursor {
    /// The cursor a poll was given.
    pub fn read(cursor: Option<&str>) -> Result<Cursor, Error> {
        match cursor {
            None => Ok(Cursor::default()),
            Some(text) => serde_json::from_str(text)
                .map_err(|e| Error::permanent(format!("amazon: the poll cursor {text:?} is not this channel's: {e}"))),
        }
    }

    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One message as `ReceiveMessage` answers it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Received {
    message_id: String,
    receipt_handle: String,
    #[serde(default)]
    body: String,
}

/// The SQS client of one poll: the queue, the keys and the scope it signs for.
struct Sqs<'a> {
    config: &'a SqsConfig,
    credentials: Credentials,
    host: &'a dyn Host,
}

fn secret(host: &dyn Host, name: &str) -> Result<String, Error> {
    host.secret(name).map_err(|e| Error::bad_config(format!("amazon: {e}")))
}

impl<'a> Sqs<'a> {
    fn new(config: &'a SqsConfig, host: &'a dyn Host) -> Result<Self, Error> {
        let credentials = Credentials {
            access_key_id: secret(host, &config.access_key_id)?,
            secret_access_key: secret(host, &config.secret_access_key)?,
            session_token: match &config.session_token {
                Some(name) => Some(secret(host, name)?),
                None => None,
            },
        };
        Ok(Sqs {
            config,
            credentials,
            host,
        })
    }

    /// Calls SQS's `operation` with `body`; its JSON answer, or what SQS's error means.
    fn call(&self, operation: &str, body: &serde_json::Value) -> Result<serde_json::Value, Error> {
        let mut request = HttpRequest::new("POST", format!("{}/", self.config.endpoint()))
            .with_header("Content-Type", "application/x-amz-json-1.0")
            .with_header("X-Amz-Target", format!("AmazonSQS.{operation}"))
            .with_body(body.to_string());
        let scope = Scope {
            region: &self.config.region,
            service: "sqs",
        };
        sigv4::sign(&mut request, &self.credentials, scope, jiff::Timestamp::now());
        let what = format!("sqs {operation}");
        let response = self
            .host
            .fetch(&request)
            .map_err(|e| Error::retryable(format!("amazon: {what}: no answer: {e}")))?;
        if !response.is_success() {
            return Err(sqs_error(&what, &response));
        }
        serde_json::from_slice(&response.body)
            .map_err(|e| Error::permanent(format!("amazon: {what}: the answer is not SQS's JSON: {e}")))
    }

    /// Deletes these messages; receipt handles that no longer work are left (see the module
    /// docs), any other failure is an error.
    fn delete(&self, handles: &[String]) -> Result<(), Error> {
        for chunk in handles.chunks(BATCH) {
            let entries: Vec<serde_json::Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| serde_json::json!({"Id": i.to_string(), "ReceiptHandle": handle}))
                .collect();
            let answer = self.call(
                "DeleteMessageBatch",
                &serde_json::json!({"QueueUrl": self.config.queue_url, "Entries": entries}),
            )?;
            let failed = answer["Failed"].as_array().cloned().unwrap_or_default();
            let problems: Vec<String> = failed
                .iter()
                .filter(|f| f["Code"].as_str() != Some("ReceiptHandleIsInvalid"))
                .map(|f| {
                    format!(
                        "entry {}: {} ({})",
                        f["Id"].as_str().unwrap_or("?"),
                        f["Code"].as_str().unwrap_or("?"),
                        f["Message"].as_str().unwrap_or("")
                    )
                })
                .collect();
            if !problems.is_empty() {
                // Kept messages not deleted are received again and dropped as duplicates;
                // another poll tries again.
                return Err(Error::retryable(format!(
                    "amazon: sqs DeleteMessageBatch: {}",
                    problems.join("; ")
                )));
            }
        }
        Ok(())
    }

    /// Up to [`BATCH`] messages, waiting up to `wait` seconds for the first.
    fn receive(&self, wait: u32) -> Result<Vec<Received>, Error> {
        let answer = self.call(
            "ReceiveMessage",
            &serde_json::json!({
                "QueueUrl": self.config.queue_url,
                "MaxNumberOfMessages": BATCH,
                "WaitTimeSeconds": wait,
                "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
            }),
        )?;
        match answer.get("Messages") {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(messages) => serde_json::from_value(messages.clone()).map_err(|e| {
                Error::permanent(format!(
                    "amazon: sqs ReceiveMessage: the messages are not SQS's format: {e}"
                ))
            }),
        }
    }
}

/// Deletes what the last poll kept, then receives what is new.
pub fn poll(cursor: Option<&str>, config: &SqsConfig, host: &dyn Host) -> Result<Polled, Error> {
    let start = Cursor::read(cursor)?;
    let sqs = Sqs::new(config, host)?;
    sqs.delete(&start.delete)?;
    let mut items = Vec::new();
    let mut next = Cursor::default();
    for round in 0..config.batches {
        let wait = if round == 0 { config.wait_seconds } else { 0 };
        let received = sqs.receive(wait)?;
        let full = received.len() >= BATCH;
        for message in received {
            next.delete.push(message.receipt_handle.clone());
            match notification::parse(message.body.as_bytes()) {
                Ok(found) => items.extend(found),
                Err(error) => items.push(Item::unreadable(
                    &format!("sqs message {}", message.message_id),
                    error.message(),
                    message.body.as_bytes(),
                    Some("application/json"),
                )),
            }
        }
        if !full {
            break;
        }
    }
    let cursor = (cursor.is_none() || next != start).then(|| next.text());
    Ok(Polled { items, cursor })
}

/// What an SQS error answer means: throttling and 5xx are worth another try, any other is not.
fn sqs_error(what: &str, response: &HttpResponse) -> Error {
    #[derive(Deserialize)]
    struct SqsError {
        #[serde(rename = "__type", default)]
        kind: Option<String>,
        #[serde(default, alias = "Message")]
        message: Option<String>,
    }
    let parsed: Option<SqsError> = serde_json::from_slice(&response.body).ok();
    let code = parsed
        .as_ref()
        .and_then(|e| e.kind.as_deref())
        .map(|kind| kind.rsplit('#').next().unwrap_or(kind).to_owned());
    let mut message = format!("amazon: {what}: HTTP {}", response.status);
    if let Some(code) = &code {
        message.push_str(&format!(": {code}"));
    }
    match parsed.as_ref().and_then(|e| e.message.as_deref()) {
        Some(text) => message.push_str(&format!(": {text}")),
        None if code.is_none() => {
            let text = response.text();
            let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !text.is_empty() {
                message.push_str(": ");
                message.extend(text.chars().take(300));
            }
        }
        None => {}
    }
    let throttled = matches!(
        code.as_deref(),
        Some("ThrottlingException" | "RequestThrottled" | "RequestThrottledException")
    );
    if throttled || response.status == 429 || response.status >= 500 {
        return match response.retry_after() {
            Some(after) => Error::retry_later(after, message),
            None => Error::Retryable(message),
        };
    }
    Error::Permanent(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::testing::TestHost;

    const ENDPOINT: &str = "https://sqs.eu-west-1.amazonaws.com/";
    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api";

    fn config() -> SqsConfig {
        serde_json::from_value(serde_json::json!({"queue_url": QUEUE, "region": "eu-west-1",
            "access_key_id": "aws_id", "secret_access_key": "aws_secret", "wait_seconds": 20, "batches": 2}))
        .unwrap()
    }

    fn host() -> TestHost {
        TestHost::new()
            .with_secret("aws_id", "AKIDEXAMPLE")
            .with_secret("aws_secret", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    }

    fn message(id: usize, body: &str) -> serde_json::Value {
        serde_json::json!({"MessageId": format!("m-{id}"), "ReceiptHandle": format!("rh-{id}"),
                           "MD5OfBody": "", "Body": body})
    }

    #[test]
    fn a_poll_deletes_what_was_kept_then_receives() {
        let order = crate::notification::tests::ORDER_CHANGE_PASCAL;
        let full: Vec<serde_json::Value> = (0..10).map(|i| message(i, order)).collect();
        let host = host()
            .respond("POST", ENDPOINT, HttpResponse::new(200).with_json(&serde_json::json!({
                "Successful": [{"Id": "0"}], "Failed": [{"Id": "1", "SenderFault": true, "Code": "ReceiptHandleIsInvalid", "Message": "expired"}]})))
            .respond("POST", ENDPOINT, HttpResponse::new(200).with_json(&serde_json::json!({"Messages": full})))
            .respond("POST", ENDPOINT, HttpResponse::new(200).with_json(&serde_json::json!({
                "Messages": [message(10, "kein JSON")]})));
        let cursor = Cursor {
            delete: vec!["old-1".into(), "old-2".into()],
        };
        let polled = poll(Some(&cursor.text()), &config(), &host).unwrap();
        assert_eq!(polled.items.len(), 11);
        assert!(matches!(polled.items[0], Item::Order { .. }));
        let (source, reason, body, _) = polled.items[10].as_unreadable().unwrap();
        assert_eq!((source, body), ("sqs message m-10", "kein JSON"));
        assert!(reason.contains("not JSON"), "{reason}");
        let next = Cursor::read(polled.cursor.as_deref()).unwrap();
        assert_eq!(next.delete.len(), 11);
        let requests = host.requests();
        let targets: Vec<&str> = requests.iter().map(|r| r.header("x-amz-target").unwrap()).collect();
        assert_eq!(
            targets,
            [
                "AmazonSQS.DeleteMessageBatch",
                "AmazonSQS.ReceiveMessage",
                "AmazonSQS.ReceiveMessage"
            ]
        );
        let bodies: Vec<serde_json::Value> = requests
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        assert_eq!(
            bodies[0]["Entries"][1],
            serde_json::json!({"Id": "1", "ReceiptHandle": "old-2"})
        );
        assert_eq!(
            (
                bodies[1]["WaitTimeSeconds"].as_u64(),
                bodies[2]["WaitTimeSeconds"].as_u64()
            ),
            (Some(20), Some(0))
        );
        for request in &requests {
            assert_eq!(request.header("content-type"), Some("application/x-amz-json-1.0"));
            assert!(
                request
                    .header("authorization")
                    .unwrap()
                    .starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            );
        }
    }

    #[test]
    fn an_empty_queue_keeps_the_cursor_and_errors_are_sqss() {
        let host = host().respond(
            "POST",
            ENDPOINT,
            HttpResponse::new(200).with_json(&serde_json::json!({})),
        );
        let empty = Cursor::default().text();
        let polled = poll(Some(&empty), &config(), &host).unwrap();
        assert_eq!(polled, Polled::default(), "nothing to delete, nothing new");
        let cases = [
            (
                HttpResponse::new(400)
                    .with_header("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender")
                    .with_json(&serde_json::json!({"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "The specified queue does not exist."})),
                Error::permanent("amazon: sqs ReceiveMessage: HTTP 400: QueueDoesNotExist: The specified queue does not exist."),
            ),
            (
                HttpResponse::new(400).with_json(&serde_json::json!({"__type": "com.amazonaws.sqs#ThrottlingException", "message": "Rate exceeded"})),
                Error::retryable("amazon: sqs ReceiveMessage: HTTP 400: ThrottlingException: Rate exceeded"),
            ),
            (
                HttpResponse::new(503).with_body("Service Unavailable"),
                Error::retryable("amazon: sqs ReceiveMessage: HTTP 503: Service Unavailable"),
            ),
        ];
        for (response, expected) in cases {
            assert_eq!(sqs_error("sqs ReceiveMessage", &response), expected);
        }
    }
}
