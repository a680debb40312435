//! `weft train identity`: learns the identity step's weights from the store's own messages
//! (unsupervised: [`weft_plugin_identity::train`]), stores them with the data (`models`, name
//! `identity`), where the step reads them from its next unit of work on, and then links the
//! customers already stored again under the learned weights.
//!
//! Linking again only merges, never splits: two customers (each with everything merged into
//! it) whose names and addresses reach `--min-score` under the learned weights are merged
//! into the older, unless an email, phone, buyer id or handle of one contradicts the other's,
//! or they were split apart by hand. Each merge is in the decision log with the comparison's
//! weights as evidence (`weft explain customer N`), and `weft customer split` undoes it. A
//! customer is compared with those sharing one of its blocking keys, as the step compares a
//! message.

use crate::store::Store;
use crate::store::apply::Origin;
use anyhow::Context as _;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use weft_plugin_identity::decide::{Extracted, conflicting};
use weft_plugin_identity::model::{MODEL_NAME, Model, Table};
use weft_plugin_identity::normalize::address::PostalAddress;
use weft_plugin_identity::normalize::name::Name;
use weft_plugin_identity::score::WeakProfile;
use weft_plugin_identity::train::{Record, TrainOptions, train};
use weft_plugin_identity::{Config, Settings};
use weft_sdk::{Command, Decision, Direction, Evidence, Identity, IdentityKind, MergeCustomers, Message};

/// Blocks with more customers than this are not compared pair by pair.
const MAX_BLOCK: usize = 400;

/// What `weft train identity` did.
#[derive(Debug)]
pub struct Outcome {
    pub version: u64,
    pub model: Model,
    /// Merges made by linking again: (into, from, probability).
    pub merges: Vec<(u64, u64, f64)>,
}

/// A merge to make: into, from, probability, evidence, and the pair of customers that linked.
type Merge = (u64, u64, f64, Vec<Evidence>, (u64, u64));

/// Reads the records training learns from: every inbound message's name and address.
fn records(messages: &[String]) -> anyhow::Result<Vec<Record>> {
    let settings = Settings::from_config(&Config::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = Vec::new();
    for (i, data) in messages.iter().enumerate() {
        let message: Message =
            serde_json::from_str(data).with_context(|| format!("stored message {} is not a message", i + 1))?;
        if message.direction != Direction::Inbound {
            continue;
        }
        let extracted = Extracted::from_message(&message, &settings);
        if extracted.name.is_none() && extracted.address.is_none() {
            continue;
        }
        out.push(Record {
            keys: extracted.blocking_keys().into_iter().map(|k| k.value).collect(),
            profile: WeakProfile {
                names: extracted.name.into_iter().collect(),
                addresses: extracted.address.into_iter().collect(),
            },
        });
    }
    Ok(out)
}

/// Learns, stores and links again (unless `relink` is false).
pub async fn run(store: &Store, min_score: f64, relink: bool) -> anyhow::Result<Outcome> {
    let messages = store.messages_data().await?;
    let records = records(&messages)?;
    let model = train(&records, &TrainOptions::default());
    let body = serde_json::to_string(&model.to_file())?;
    let version = store.save_model(MODEL_NAME, &body).await?;
    let merges = if relink {
        link_again(store, &model, min_score, version).await?
    } else {
        Vec::new()
    };
    Ok(Outcome { version, model, merges })
}

/// One customer as linking again sees it: it and everything merged into it.
#[derive(Default)]
struct Root {
    profile: WeakProfile,
    personal: Vec<Identity>,
    keys: Vec<String>,
    kept_apart: BTreeSet<u64>,
}

async fn link_again(
    store: &Store,
    model: &Model,
    min_score: f64,
    version: u64,
) -> anyhow::Result<Vec<(u64, u64, f64)>> {
    let customers = store.export_customers().await?;
    let mut merged_into: BTreeMap<u64, u64> = BTreeMap::new();
    for c in &customers {
        if let (Some(id), Some(into)) = (c["customer"].as_u64(), c["merged_into"].as_u64()) {
            merged_into.insert(id, into);
        }
    }
    let root_of = |mut id: u64| {
        for _ in 0..64 {
            match merged_into.get(&id) {
                Some(&next) => id = next,
                None => break,
            }
        }
        id
    };
    let mut roots: BTreeMap<u64, Root> = BTreeMap::new();
    for c in &customers {
        let Some(id) = c["customer"].as_u64() else { continue };
        let root = roots.entry(root_of(id)).or_default();
        for apart in c["kept_apart"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
        {
            root.kept_apart.insert(root_of(apart));
        }
        for identity in c["identities"].as_array().into_iter().flatten() {
            let (Some(kind), Some(value)) = (identity["kind"].as_str(), identity["value"].as_str()) else {
                continue;
            };
            let Some(kind) = IdentityKind::parse(kind) else {
                continue;
            };
            if value.starts_with(weft_sdk::BLOCKING_KEY_PREFIX) {
                root.keys.push(value.to_owned());
                continue;
            }
            match kind {
                IdentityKind::Name => root.profile.names.extend(Name::from_key(value)),
                IdentityKind::Address => root.profile.addresses.extend(PostalAddress::from_key(value)),
                IdentityKind::Order => {}
                _ => root.personal.push(Identity::new(kind, value)),
            }
        }
    }
    let settings = Settings::from_config(&Config::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_model(Arc::new(model.clone()));
    let mut blocks: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (id, root) in &roots {
        for key in &root.keys {
            blocks.entry(key.as_str()).or_default().push(*id);
        }
    }
    // Pairs that link, best first, then joined group by group so that no group ends up with
    // a conflict or a split by hand inside it.
    let mut links: Vec<(f64, u64, u64, Vec<Evidence>)> = Vec::new();
    let mut compared: BTreeSet<(u64, u64)> = BTreeSet::new();
    for members in blocks.values().filter(|m| m.len() <= MAX_BLOCK) {
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                let pair = (a.min(b), a.max(b));
                if a == b || !compared.insert(pair) {
                    continue;
                }
                let (x, y) = (&roots[&pair.0], &roots[&pair.1]);
                let score = settings.score(&y.profile, &x.profile);
                if score.links(min_score) {
                    links.push((score.probability, pair.0, pair.1, score.evidence));
                }
            }
        }
    }
    links.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut group: BTreeMap<u64, u64> = roots.keys().map(|&id| (id, id)).collect();
    fn find(group: &mut BTreeMap<u64, u64>, mut x: u64) -> u64 {
        while group[&x] != x {
            let next = group[&group[&x]];
            group.insert(x, next);
            x = next;
        }
        x
    }
    let mut members: BTreeMap<u64, Vec<u64>> = roots.keys().map(|&id| (id, vec![id])).collect();
    let mut merges: Vec<Merge> = Vec::new();
    for (probability, a, b, evidence) in links {
        let (ga, gb) = (find(&mut group, a), find(&mut group, b));
        if ga == gb {
            continue;
        }
        let (left, right) = (&members[&ga], &members[&gb]);
        let apart = left.iter().any(|x| {
            right
                .iter()
                .any(|y| roots[x].kept_apart.contains(y) || roots[y].kept_apart.contains(x))
        });
        let personal = |ids: &[u64]| {
            ids.iter()
                .flat_map(|x| roots[x].personal.iter().cloned())
                .collect::<Vec<_>>()
        };
        let (mine, theirs) = (personal(left), personal(right));
        if apart || !conflicting(&mine, &theirs).is_empty() {
            continue;
        }
        let (into, from) = (ga.min(gb), ga.max(gb));
        let moved = members.remove(&from).unwrap_or_default();
        members.entry(into).or_default().extend(moved);
        group.insert(from, into);
        merges.push((into, from, probability, evidence, (a, b)));
    }
    // Merges of one group go into its oldest customer.
    let mut unit = store.unit().await?;
    let origin = Origin {
        event: None,
        workflow: "weft train identity",
        workflow_version: None,
        step: "identity",
        plugin: concat!("weft@", env!("CARGO_PKG_VERSION")),
    };
    let mut done = Vec::new();
    for (into, from, probability, evidence, (a, b)) in merges {
        let reason = format!(
            "the names and addresses of customers {a} and {b} match with probability {probability:.3} under the weights learned from this store's messages (identity model version {version}, threshold {min_score}): customer {from} merged into customer {into}"
        );
        unit.merge_customers(into, &[from], None, &reason).await?;
        let decision = Decision::new(
            Command::MergeCustomers(MergeCustomers { into, from: vec![from] }),
            reason,
        )
        .with_evidence(
            std::iter::once(Evidence::new(
                "prior",
                format!(
                    "before comparing: one customer in {:.0} (learned)",
                    1.0 / settings.prior.probability(0.0)
                ),
                settings.prior.log2_odds(),
            ))
            .chain(evidence),
        );
        unit.record_decision(origin, &decision, Some(from as i64), None).await?;
        done.push((into, from, probability));
    }
    unit.commit().await?;
    Ok(done)
}

/// The learned weights as a table for people.
pub fn describe(outcome: &Outcome) -> String {
    let model = &outcome.model;
    let mut out = String::new();
    if let Some(learned) = &model.learned {
        let _ = writeln!(
            out,
            "identity model version {}: learned from {} messages with a name or address; {} candidate pairs (sharing a blocking key), {} random pairs; EM: {:.4} of candidate pairs are one person ({} iterations); {} people",
            outcome.version,
            learned.records,
            learned.candidate_pairs,
            learned.random_pairs,
            learned.match_share,
            learned.iterations,
            learned.people
        );
        for session in &learned.sessions {
            let _ = writeln!(
                out,
                "  m by EM over pairs sharing a {}: {} pairs, {:.4} one person ({} iterations){}",
                session.rule,
                session.pairs,
                session.match_share,
                session.iterations,
                if session.used {
                    ""
                } else {
                    "; no two groups to tell apart, not used"
                }
            );
        }
        if !learned.m_learned {
            let _ = writeln!(out, "  m: the hand-set priors (no session was used)");
        }
    }
    if let Some(prior) = model.prior {
        let _ = writeln!(
            out,
            "prior: a message and one given customer are one person with probability {:.2e} ({:+.2} bits)",
            prior.probability(0.0),
            prior.log2_odds()
        );
    }
    let _ = writeln!(
        out,
        "\n{:<26} {:<30} {:>10} {:>10} {:>8}",
        "table", "level", "m", "u", "weight"
    );
    for table in Table::ALL {
        for (i, level) in table.defaults().iter().enumerate() {
            let w = model.weights(table, i);
            let _ = writeln!(
                out,
                "{:<26} {:<30} {:>10.4} {:>10.6} {:>+8.2}",
                table.key(),
                level.label,
                w.m,
                w.u,
                w.weight()
            );
        }
    }
    let common = model.names.common(2);
    if !common.is_empty() {
        let shown: Vec<String> = common
            .iter()
            .take(8)
            .map(|(w, c)| format!("{w} ×{c} ({:+.2})", model.names.adjustment(w)))
            .collect();
        let _ = writeln!(
            out,
            "\nname words: {} counted; most common (bits an exact agreement adds): {}",
            model.names.total(),
            shown.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\nlinked again under the learned weights: {} merges{}",
        outcome.merges.len(),
        if outcome.merges.is_empty() {
            String::new()
        } else {
            "; undo one with `weft customer split`".into()
        }
    );
    out
}
