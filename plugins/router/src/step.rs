//! The router step: classifies a ticket's message and turns intent, language, urgency,
//! priority and route into decisions.

use crate::config::Config;
use crate::intent::Intent;
use crate::lang::Method;
use crate::model::{Model, Prediction};
use crate::priority;
use crate::routing::{Routing, TRIAGE, Ticket};
use crate::urgency::{self, Signal};
use weft_sdk::prelude::*;

/// The step.
pub struct Router;

impl Step for Router {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "decides what a ticket is about, its language, its priority and which team and agent take it";

    fn decide(event: &Event, config: &Config, _ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
        let routing = Routing::compile(config).map_err(|problems| Error::bad_config(problems.join("; ")))?;
        let model = Model::shipped()
            .map_err(|e| Error::permanent(format!("the router's built-in model cannot be read: {e}")))?;
        Ok(decide_with(event, &routing, model))
    }
}

/// The decisions for one event, with an already compiled configuration and a model. Events
/// that are not `message.received` with a ticket and a message get none.
pub fn decide_with(event: &Event, routing: &Routing, model: &Model) -> Vec<Decision> {
    let (Some(ticket), Some(message)) = (event.ticket, &event.message) else {
        return Vec::new();
    };
    if event.kind != "message.received" {
        return Vec::new();
    }
    let text = match &message.subject {
        Some(subject) if !subject.trim().is_empty() => format!("{subject}\n{}", message.body),
        _ => message.body.clone(),
    };
    let mut decisions = Vec::new();

    let prediction = model.predict(&text);
    let (top, p) = prediction.top();
    let intent = (f64::from(p) >= routing.min_confidence).then_some(top);
    let category = intent.map_or(TRIAGE, Intent::as_str);
    let mut classified = category_decision(&prediction, intent, routing.min_confidence);
    if let (Some(intent), Some(&(runner_up, _))) = (intent, prediction.ranked.get(1)) {
        let strongest = model.explain(&text, intent, runner_up, 3);
        classified.evidence.extend(strongest.into_iter().map(|(gram, weight)| {
            Evidence::new(
                "text",
                format!("{gram} favours {intent} over {runner_up}"),
                f64::from(weight),
            )
        }));
    }
    decisions.push(classified);

    let language = language_decision(message, &text, model);
    let lang_code = language.as_ref().and_then(|d| match &d.command {
        Command::SetField(f) => Some(f.value.clone()),
        _ => None,
    });
    decisions.extend(language);

    let found = urgency::detect(&text);
    for signal in [Signal::Anger, Signal::Deadline, Signal::Repetition, Signal::Legal] {
        let cues: Vec<Evidence> = found
            .iter()
            .filter(|f| f.signal == signal)
            .map(|f| Evidence::new("urgency", format!("{}: {}", signal.as_str(), f.cue), 1.0))
            .collect();
        if !cues.is_empty() {
            decisions.push(
                Decision::new(
                    Command::SetField(SetField::new("tag", format!("urgency:{}", signal.as_str()))),
                    format!(
                        "the message shows {} ({} cue{})",
                        signal.as_str(),
                        cues.len(),
                        if cues.len() == 1 { "" } else { "s" }
                    ),
                )
                .with_evidence(cues),
            );
        }
    }

    let sla_due = event.payload.get("sla_due").and_then(serde_json::Value::as_i64);
    let assessment = priority::assess(intent, &found, event.at, sla_due);
    decisions.push(
        Decision::new(
            Command::SetField(SetField::new("priority", assessment.priority.as_str())),
            format!("priority {} from intent and urgency", assessment.priority.as_str()),
        )
        .with_evidence(assessment.steps.into_iter().map(|s| Evidence::new("priority", s, 1.0))),
    );

    let route = routing.route(&Ticket {
        number: ticket,
        category,
        language: lang_code.as_deref(),
        channel: &message.channel,
        marketplace: message.marketplace.as_deref(),
        text: &text,
    });
    if let Some(route) = route {
        decisions.push(
            Decision::new(
                Command::Assign(Assign {
                    ticket: TicketRef::Current,
                    agent: route.agent,
                    team: Some(route.team),
                }),
                route.reason,
            )
            .with_evidence(route.evidence),
        );
    }
    decisions
}

fn category_decision(prediction: &Prediction, intent: Option<Intent>, min_confidence: f64) -> Decision {
    let (top, p) = prediction.top();
    let candidates = prediction
        .ranked
        .iter()
        .take(3)
        .map(|(i, q)| Evidence::new("intent", format!("{i} {q:.3}"), f64::from(*q)));
    let (value, reason) = match intent {
        Some(intent) => (
            intent.as_str(),
            format!("classified as {intent} with probability {p:.2}"),
        ),
        None => (
            TRIAGE,
            format!("not sure: best guess {top} at {p:.2} is below min_confidence {min_confidence}"),
        ),
    };
    let mut field = SetField::new("category", value);
    field.confidence = f64::from(p);
    Decision::new(Command::SetField(field), reason).with_evidence(candidates)
}

fn language_decision(message: &Message, text: &str, model: &Model) -> Option<Decision> {
    if let Some(tag) = message.lang.as_deref().filter(|l| !l.trim().is_empty()) {
        let code = tag.split(['-', '_']).next().unwrap_or(tag).trim().to_ascii_lowercase();
        return Some(
            Decision::new(
                Command::SetField(SetField::new("language", &code)),
                format!("the {} channel says {tag}", message.channel),
            )
            .with_evidence([Evidence::new("message.lang", tag, 1.0)]),
        );
    }
    let guess = model.lang.detect(text)?;
    let detail = match &guess.method {
        Method::Script(script) => format!("written in {script}"),
        Method::Profile {
            runner_up,
            margin,
            trigrams,
        } => format!(
            "trigram profile over {trigrams} trigrams, ahead of {} by {margin:.2} nats per trigram",
            runner_up.as_deref().unwrap_or("nothing")
        ),
    };
    let mut field = SetField::new("language", &guess.lang);
    field.confidence = guess.confidence;
    Some(
        Decision::new(Command::SetField(field), format!("the text reads as {}", guess.lang))
            .with_evidence([Evidence::new("text", detail, guess.confidence)]),
    )
}
