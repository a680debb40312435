//! The router step: classifies a ticket's message and turns intent, language, urgency,
//! priority and route into decisions.

use crate::combine::{Classification, ask_embeddings, combine, encoder_cannot_change};
use crate::config::Config;
use crate::lang::{Method, UNKNOWN};
use crate::model::Model;
use crate::priority;
use crate::routing::{Routing, TRIAGE, Ticket};
use crate::semantic::Prototypes;
use crate::urgency::{self, Signal};
use weft_sdk::prelude::*;

/// The step.
pub struct Router;

impl Step for Router {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "decides what a ticket is about, its language, its priority and which team and agent take it";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        let routing = Routing::compile(config).err().unwrap_or_default();
        let prototypes = Prototypes::new(&config.examples).err().unwrap_or_default();
        routing.iter().chain(&prototypes).map(|p| p.config_problem()).collect()
    }

    fn decide(event: &Event, config: &Config, ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
        let compiled = compiled(config)?;
        let model = Model::shipped()
            .map_err(|e| Error::permanent(format!("the router's built-in model cannot be read: {e}")))?;
        let semantic = Semantic {
            prototypes: &compiled.prototypes,
            languages: &config.embedding_languages,
            below: config.embeddings_below as f32,
            min_confidence: config.min_confidence as f32,
            host: ctx,
        };
        let earlier = match (event.kind.as_str(), event.ticket, &event.message) {
            ("message.received", Some(ticket), Some(message)) => earlier_category(ctx, ticket, message),
            _ => None,
        };
        Ok(decide_with(
            event,
            &compiled.routing,
            model,
            Some(&semantic),
            earlier.as_deref(),
        ))
    }
}

/// The category of the ticket when this message follows up on it: the ticket has a category
/// other than triage and a message before this one. `None` for a ticket's first message (or
/// one only triage has seen so far).
fn earlier_category(ctx: &dyn Context, ticket: u64, message: &Message) -> Option<String> {
    let category = ctx.ticket(ticket)?.category.filter(|c| c != TRIAGE)?;
    ctx.ticket_messages(ticket, 2)
        .iter()
        .any(|m| m.id != message.id)
        .then_some(category)
}

/// A configuration compiled: the routing and the prototypes (whose vectors are kept once
/// computed).
struct Compiled {
    routing: Routing,
    prototypes: Prototypes,
}

/// The compiled form of `config`, kept between calls while the configuration stays the same:
/// the runtime keeps warm instances, so a step pays for compiling its configuration and
/// embedding its prototypes once, not on every message.
fn compiled(config: &Config) -> Result<std::sync::Arc<Compiled>, Error> {
    static LAST: std::sync::Mutex<Option<(Config, std::sync::Arc<Compiled>)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((seen, compiled)) = last.as_ref()
        && seen == config
    {
        return Ok(compiled.clone());
    }
    let compiled = match (Routing::compile(config), Prototypes::new(&config.examples)) {
        (Ok(routing), Ok(prototypes)) => std::sync::Arc::new(Compiled { routing, prototypes }),
        (routing, prototypes) => {
            let mut problems = routing.err().unwrap_or_default();
            problems.extend(prototypes.err().unwrap_or_default());
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(Error::bad_config(problems.join("; ")));
        }
    };
    *last = Some((config.clone(), compiled.clone()));
    Ok(compiled)
}

/// What the semantic classifier needs: the prototypes, the languages it is trusted for, and
/// the host that computes embeddings.
pub struct Semantic<'a> {
    /// The categories' prototype sentences.
    pub prototypes: &'a Prototypes,
    /// ISO 639-1 codes the semantic classifier is asked for.
    pub languages: &'a [String],
    /// It is asked only when the n-gram model's top probability is below this (1: no limit
    /// beyond the next one).
    pub below: f32,
    /// The step's `min_confidence`: the encoder is asked only where an answer of it could change
    /// the category or send the ticket to triage ([`encoder_cannot_change`]).
    pub min_confidence: f32,
    /// Where embeddings come from.
    pub host: &'a dyn Host,
}

/// Classifies a text: the n-gram model always, the semantic classifier too when `semantic` is
/// given, `lang` is one of its languages and its answer could change the outcome (see
/// [`encoder_cannot_change`]; and the n-gram model's top probability is below
/// [`Semantic::below`]).
pub fn classify(text: &str, lang: Option<&str>, model: &Model, semantic: Option<&Semantic<'_>>) -> Classification {
    let ngram = model.predict(text);
    let asked = match semantic {
        None => Err("the semantic classifier is off".to_owned()),
        Some(s) => match lang {
            Some(lang) if s.languages.iter().any(|l| l.eq_ignore_ascii_case(lang)) => {
                let (top, p) = ngram.top();
                let custom = s.prototypes.labels().len() > crate::intent::Intent::ALL.len();
                if let Some(why) = encoder_cannot_change(&ngram, s.min_confidence, custom) {
                    Err(why)
                } else if p >= s.below {
                    Err(format!(
                        "the n-gram model is sure enough ({top} {p:.2}, embeddings_below {:.2})",
                        s.below
                    ))
                } else {
                    ask_embeddings(text, s.prototypes, s.host)
                }
            }
            Some(lang) => Err(format!(
                "embeddings are used for {} only, this text is {lang}",
                s.languages.join(", ")
            )),
            None => Err("the language is unknown".to_owned()),
        },
    };
    combine(ngram, asked)
}

/// The decisions for one event, with an already compiled configuration and a model, and the
/// semantic classifier when there is one. Events that are not `message.received` with a
/// ticket and a message get none.
///
/// `earlier` is the ticket's category when the message follows up on a ticket an earlier
/// message classified. Then the category stays (the ticket's topic is known: "any news?" or
/// "still no answer!" on a refund ticket is about the refund; an agent changes it when the
/// buyer raises something else) and the sentence encoder is not run; the evidence shows what
/// the n-gram model read in the follow-up, and language, urgency, priority and the route are
/// decided from it as for any message.
pub fn decide_with(
    event: &Event,
    routing: &Routing,
    model: &Model,
    semantic: Option<&Semantic<'_>>,
    earlier: Option<&str>,
) -> Vec<Decision> {
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

    let language = language_decision(message, &text, model);
    // An unknown language ([`UNKNOWN`]) is recorded, but routes and classifies as no language.
    let lang_code = language.as_ref().and_then(|d| match &d.command {
        Command::SetField(f) if f.value != UNKNOWN => Some(f.value.clone()),
        _ => None,
    });

    let classification = match earlier {
        Some(earlier) => combine(
            model.predict(&text),
            Err(format!(
                "a follow-up on a ticket already classified as {earlier} (the encoder runs for a ticket's first message)"
            )),
        ),
        None => classify(&text, lang_code.as_deref(), model, semantic),
    };
    let (top, p) = classification.top();
    // A follow-up keeps its ticket's category.
    let kept = earlier;
    let confident = kept.is_some() || f64::from(p) >= routing.min_confidence;
    let category = match kept {
        Some(earlier) => earlier.to_owned(),
        None if confident => top.to_owned(),
        None => TRIAGE.to_owned(),
    };
    let intent = match kept {
        Some(earlier) => crate::intent::Intent::parse(earlier),
        None if confident => classification.intent(),
        None => None,
    };
    let mut classified = match kept {
        Some(earlier) => kept_decision(&classification, earlier),
        None => category_decision(&classification, confident, routing.min_confidence),
    };
    let ngram_top = classification.ngram.top().0;
    if let (None, Some(intent), Some(&(runner_up, _))) = (kept, intent, classification.ngram.ranked.get(1)) {
        let against = if ngram_top == intent { runner_up } else { ngram_top };
        let strongest = model.explain(&text, intent, against, 3);
        classified.evidence.extend(strongest.into_iter().map(|(gram, weight)| {
            Evidence::new(
                "text",
                format!("{gram} favours {intent} over {against}"),
                f64::from(weight),
            )
        }));
    }
    decisions.push(classified);
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
        category: &category,
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

/// A follow-up's category: the ticket's, kept, with what the n-gram model read in the message.
fn kept_decision(c: &Classification, earlier: &str) -> Decision {
    let (top, p) = c.ngram.top();
    let mut evidence = vec![Evidence::new(
        "ticket",
        format!("already classified as {earlier} by an earlier message"),
        1.0,
    )];
    evidence.extend(
        c.ngram
            .ranked
            .iter()
            .take(2)
            .map(|(i, q)| Evidence::new("n-gram", format!("{i} {q:.3}"), f64::from(*q))),
    );
    if let Some(why) = &c.without_embeddings {
        evidence.push(Evidence::new("embeddings", format!("not used: {why}"), 0.0));
    }
    let mut field = SetField::new("category", earlier);
    field.confidence = f64::from(c.ngram.probability(earlier));
    let reading = if top.as_str() == earlier {
        format!("the n-gram model reads the same ({top} {p:.2})")
    } else {
        format!("the n-gram model reads it alone as {top} ({p:.2})")
    };
    Decision::new(
        Command::SetField(field),
        format!("kept {earlier}: the message follows up on a ticket already classified as {earlier}, and {reading}"),
    )
    .with_evidence(evidence)
}

fn category_decision(c: &Classification, confident: bool, min_confidence: f64) -> Decision {
    let (top, p) = c.top();
    let by = c.source.as_str();
    let mut evidence: Vec<Evidence> = c
        .ranked
        .iter()
        .take(3)
        .map(|(i, q)| Evidence::new("intent", format!("{i} {q:.3}"), f64::from(*q)))
        .collect();
    if c.semantic.is_some() {
        evidence.extend(
            c.ngram
                .ranked
                .iter()
                .take(2)
                .map(|(i, q)| Evidence::new("n-gram", format!("{i} {q:.3}"), f64::from(*q))),
        );
    }
    match (&c.semantic, &c.without_embeddings) {
        (Some(s), _) => {
            evidence.extend(
                s.ranked
                    .iter()
                    .take(2)
                    .map(|(l, q)| Evidence::new("embeddings", format!("{l} {q:.3}"), f64::from(*q))),
            );
            evidence.push(Evidence::new(
                "embeddings",
                format!("nearest example: {}", s.nearest.0),
                f64::from(s.nearest.1),
            ));
        }
        (None, Some(why)) => evidence.push(Evidence::new("embeddings", format!("not used: {why}"), 0.0)),
        (None, None) => {}
    }
    let (value, reason) = if confident {
        (
            top,
            format!("classified as {top} with probability {p:.2} (decided by {by})"),
        )
    } else {
        let (second, q) = c.ranked.get(1).map_or(("nothing", 0.0), |(l, q)| (l.as_str(), *q));
        evidence.push(Evidence::new(
            "triage",
            format!("hesitated between {top} {p:.3} and {second} {q:.3}"),
            f64::from(p - q),
        ));
        (
            TRIAGE,
            format!(
                "not sure between {top} ({p:.2}) and {second} ({q:.2}) (by {by}): {top} is below min_confidence {min_confidence}"
            ),
        )
    };
    let mut field = SetField::new("category", value);
    field.confidence = f64::from(p);
    Decision::new(Command::SetField(field), reason).with_evidence(evidence)
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
            whatlang,
        } => format!(
            "trigram profile over {trigrams} trigrams, ahead of {} by {margin:.2} nats per trigram; whatlang says {}",
            runner_up.as_deref().unwrap_or("nothing"),
            whatlang
                .as_ref()
                .map_or_else(|| "nothing".to_owned(), |(l, c)| format!("{l} at {c:.2}")),
        ),
        Method::Whatlang { script, reliable } => format!(
            "whatlang, {script} script, {}",
            if *reliable {
                "reliable"
            } else {
                "above its floor but not reliable"
            }
        ),
        Method::Letters { script, foreign } => format!(
            "letters no language it knows writes{}: {foreign}",
            script.map_or_else(String::new, |s| format!(" in {s:?} script"))
        ),
        Method::Words {
            whatlang,
            hits,
            words,
            runner_up,
        } => format!(
            "whatlang unsure ({whatlang:.2}), but {hits} of the {words} words are frequent words of the language{}",
            runner_up
                .as_ref()
                .map_or_else(String::new, |(l, n)| format!(" ({l}: {n})"))
        ),
        Method::FewWords { guess, hits, words } => {
            format!("reads most like {guess}, but only {hits} of its {words} words are frequent {guess} words")
        }
        Method::Unknown { whatlang, profile } => format!(
            "no guess sure enough: whatlang {}; trigram profiles {}",
            whatlang.as_ref().map_or_else(
                || "nothing".to_owned(),
                |(l, c, r)| format!("{l} at {c:.2}{}", if *r { "" } else { " (not reliable)" })
            ),
            profile.as_ref().map_or_else(
                || "not asked (not Latin script)".to_owned(),
                |(l, m, cov)| format!(
                    "{l}, ahead by {m:.2} nats per trigram, {:.0}% of its trigrams known",
                    cov * 100.0
                )
            ),
        ),
    };
    let reason = if guess.is_known() {
        format!("the text reads as {}", guess.lang)
    } else {
        "the language of the text is unknown".to_owned()
    };
    let mut field = SetField::new("language", &guess.lang);
    field.confidence = guess.confidence;
    Some(
        Decision::new(Command::SetField(field), reason).with_evidence([Evidence::new(
            "text",
            detail,
            guess.confidence,
        )]),
    )
}
