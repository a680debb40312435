//! Who takes a ticket: rules first, then the team whose skills and languages fit, then the
//! default team; inside the team, an agent by the configured strategy. Every choice carries its
//! reason and evidence.

use crate::config::{AgentConfig, Config, Problem, Strategy};
use crate::features::normalize;
use crate::intent::Intent;
use weft_sdk::Evidence;

/// The category value for tickets the classifier was not sure about.
pub const TRIAGE: &str = "triage";

/// A checked configuration, ready to route.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// The abstention threshold.
    pub min_confidence: f64,
    teams: Vec<Team>,
    strategy: Strategy,
    rules: Vec<Rule>,
    default_team: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Team {
    name: String,
    agents: Vec<Agent>,
    skills: Vec<String>,
    languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Agent {
    name: String,
    languages: Vec<String>,
    skills: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    intent: Option<String>,
    channel: Option<String>,
    language: Option<String>,
    keywords: Vec<String>,
    team: String,
    agent: Option<String>,
}

/// What a ticket is routed on.
#[derive(Debug, Clone, Copy)]
pub struct Ticket<'a> {
    /// The ticket number.
    pub number: u64,
    /// An intent name or [`TRIAGE`].
    pub category: &'a str,
    /// ISO 639-1, when known.
    pub language: Option<&'a str>,
    /// The message's channel.
    pub channel: &'a str,
    /// The marketplace that relayed it, if any.
    pub marketplace: Option<&'a str>,
    /// Subject and body.
    pub text: &'a str,
}

/// Where a ticket goes, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The team.
    pub team: String,
    /// The agent, when the team has one to give.
    pub agent: Option<String>,
    /// One sentence.
    pub reason: String,
    /// The facts behind it.
    pub evidence: Vec<Evidence>,
}

fn check_category(name: &str, at: &[&str], custom: &[&str], problems: &mut Vec<Problem>) {
    if name != TRIAGE && Intent::parse(name).is_none() && !custom.contains(&name) {
        let mut known: Vec<&str> = Intent::ALL.map(Intent::as_str).to_vec();
        known.extend_from_slice(custom);
        problems.push(Problem::at(
            at,
            format!(
                "unknown intent `{name}`, expected one of {}, {TRIAGE}",
                known.join(", ")
            ),
        ));
    }
}

fn lower(list: &[String]) -> Vec<String> {
    list.iter().map(|s| s.trim().to_lowercase()).collect()
}

/// Whether a text has Han, kana or Hangul in it.
fn is_cjk(s: &str) -> bool {
    s.chars().any(weft_sdk::text::is_cjk)
}

impl Routing {
    /// Checks a configuration; every problem is reported, each naming where it is.
    pub fn compile(config: &Config) -> Result<Routing, Vec<Problem>> {
        let mut problems = Vec::new();
        // Categories a workflow defines with its own examples are valid skills and intents too.
        let custom: Vec<&str> = config
            .examples
            .keys()
            .map(String::as_str)
            .filter(|k| Intent::parse(k).is_none())
            .collect();
        if !(0.0..=1.0).contains(&config.min_confidence) {
            problems.push(Problem::at(
                &["min_confidence"],
                format!("{} is not between 0 and 1", config.min_confidence),
            ));
        }
        if !(0.0..=1.0).contains(&config.embeddings_below) {
            problems.push(Problem::at(
                &["embeddings_below"],
                format!("{} is not between 0 and 1", config.embeddings_below),
            ));
        }
        let mut teams = Vec::new();
        for (name, team) in &config.teams {
            if team.agents.is_empty() {
                problems.push(Problem::at(
                    &["teams", name, "agents"],
                    "a team needs at least one agent",
                ));
            }
            for (i, skill) in team.skills.iter().enumerate() {
                check_category(
                    skill,
                    &["teams", name, "skills", &i.to_string()],
                    &custom,
                    &mut problems,
                );
            }
            let agents = team
                .agents
                .iter()
                .enumerate()
                .map(|(i, agent)| match agent {
                    AgentConfig::Name(n) => Agent {
                        name: n.clone(),
                        languages: vec![],
                        skills: vec![],
                    },
                    AgentConfig::Detailed(d) => {
                        for (j, skill) in d.skills.iter().enumerate() {
                            let at = ["teams", name, "agents", &i.to_string(), "skills", &j.to_string()];
                            check_category(skill, &at, &custom, &mut problems);
                        }
                        Agent {
                            name: d.name.clone(),
                            languages: lower(&d.languages),
                            skills: d.skills.clone(),
                        }
                    }
                })
                .collect::<Vec<_>>();
            for (i, agent) in agents.iter().enumerate() {
                if agent.name.trim().is_empty() {
                    let at = ["teams", name, "agents", &i.to_string()];
                    problems.push(Problem::at(&at, "the agent's name is empty"));
                }
            }
            teams.push(Team {
                name: name.clone(),
                agents,
                skills: team.skills.clone(),
                languages: lower(&team.languages),
            });
        }
        let known_teams = || config.teams.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
        let mut rules = Vec::new();
        for (i, rule) in config.rules.iter().enumerate() {
            let index = i.to_string();
            let at = |field: &'static str| -> Vec<&str> {
                let mut path = vec!["rules", &index];
                path.extend((!field.is_empty()).then_some(field));
                path
            };
            if rule.if_intent.is_none()
                && rule.if_channel.is_none()
                && rule.if_language.is_none()
                && rule.if_keyword.is_empty()
            {
                problems.push(Problem::at(
                    &at(""),
                    "a rule needs at least one condition (if_intent, if_channel, if_language, if_keyword)",
                ));
            }
            if let Some(intent) = &rule.if_intent {
                check_category(intent, &at("if_intent"), &custom, &mut problems);
            }
            match teams.iter().find(|t| t.name == rule.team) {
                None => problems.push(Problem::at(
                    &at("team"),
                    format!("unknown team `{}`, expected one of {}", rule.team, known_teams()),
                )),
                Some(team) => {
                    if let Some(agent) = &rule.agent
                        && !team.agents.iter().any(|a| &a.name == agent)
                    {
                        let message = format!("`{agent}` is not an agent of team `{}`", team.name);
                        problems.push(Problem::at(&at("agent"), message));
                    }
                }
            }
            let keywords: Vec<String> = rule.if_keyword.iter().map(|k| normalize(k).trim().to_owned()).collect();
            if let Some(j) = keywords.iter().position(String::is_empty) {
                let mut path = at("if_keyword");
                let j = j.to_string();
                path.push(&j);
                problems.push(Problem::at(&path, "the keyword has no letters or digits"));
            }
            rules.push(Rule {
                intent: rule.if_intent.clone(),
                channel: rule.if_channel.as_ref().map(|c| c.trim().to_lowercase()),
                language: rule.if_language.as_ref().map(|l| l.trim().to_lowercase()),
                keywords,
                team: rule.team.clone(),
                agent: rule.agent.clone(),
            });
        }
        if let Some(default) = &config.default_team
            && !config.teams.contains_key(default)
        {
            problems.push(Problem::at(
                &["default_team"],
                format!("unknown team `{default}`, expected one of {}", known_teams()),
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Routing {
            min_confidence: config.min_confidence,
            teams,
            strategy: config.strategy,
            rules,
            default_team: config.default_team.clone(),
        })
    }

    /// The team and agent for a ticket, or `None` when nothing claims it (no rule, no fitting
    /// team, no default team).
    pub fn route(&self, ticket: &Ticket<'_>) -> Option<Route> {
        let norm = normalize(ticket.text);
        for (i, rule) in self.rules.iter().enumerate() {
            let Some(conditions) = rule.matches(ticket, &norm) else {
                continue;
            };
            let team = self.teams.iter().find(|t| t.name == rule.team)?;
            let mut evidence = vec![Evidence::new(
                "rule",
                format!("rules[{i}]: {}", conditions.join(", ")),
                1.0,
            )];
            let (agent, why) = match &rule.agent {
                Some(agent) => (Some(agent.clone()), format!("rules[{i}] names the agent")),
                None => self.pick_agent(team, ticket),
            };
            evidence.push(Evidence::new("agent", why, 1.0));
            return Some(Route {
                team: team.name.clone(),
                agent,
                reason: format!("rules[{i}] sends it to team {}", team.name),
                evidence,
            });
        }
        // First the teams whose skills and languages both fit; failing that, those whose skills
        // fit whatever language they speak (teams chosen for language alone are not relaxed);
        // then the default team. A team that declares no
        // skills (or no languages) fits any intent (or language), with a lower score; a team
        // that declares neither takes tickets only through rules or as the default team.
        let mut best: Option<(&Team, u32, Vec<String>)> = None;
        for strict_language in [true, false] {
            for team in self
                .teams
                .iter()
                .filter(|t| !t.skills.is_empty() || !t.languages.is_empty())
            {
                let mut score = 0;
                let mut why = Vec::new();
                if !team.skills.is_empty() {
                    if !team.skills.iter().any(|s| s == ticket.category) {
                        continue;
                    }
                    score += 2;
                    why.push(format!("handles {}", ticket.category));
                }
                if !team.languages.is_empty() {
                    if ticket.language.is_some_and(|l| team.languages.iter().any(|t| t == l)) {
                        score += 1;
                        why.push(format!("speaks {}", ticket.language.unwrap_or_default()));
                    } else if strict_language || team.skills.is_empty() {
                        continue;
                    } else {
                        why.push(format!(
                            "no fitting team speaks {}",
                            ticket.language.unwrap_or("the language")
                        ));
                    }
                }
                if best.as_ref().is_none_or(|(_, s, _)| score > *s) {
                    best = Some((team, score, why));
                }
            }
            if best.is_some() {
                break;
            }
        }
        let (team, detail, reason) = match best {
            Some((team, _, why)) => {
                let detail = if why.is_empty() {
                    "takes any ticket".to_owned()
                } else {
                    why.join(", ")
                };
                (team, detail, format!("team {} fits the ticket", team.name))
            }
            None => {
                let name = self.default_team.as_ref()?;
                let team = self.teams.iter().find(|t| &t.name == name)?;
                (
                    team,
                    format!("no team claims {}", ticket.category),
                    format!("default team {name}"),
                )
            }
        };
        let (agent, why) = self.pick_agent(team, ticket);
        Some(Route {
            team: team.name.clone(),
            agent,
            reason,
            evidence: vec![
                Evidence::new("team", format!("{}: {detail}", team.name), 1.0),
                Evidence::new("agent", why, 1.0),
            ],
        })
    }

    fn pick_agent(&self, team: &Team, ticket: &Ticket<'_>) -> (Option<String>, String) {
        let rotate = |agents: &[&Agent]| -> Option<String> {
            let n = agents.len() as u64;
            (n > 0).then(|| agents[(ticket.number % n) as usize].name.clone())
        };
        let all: Vec<&Agent> = team.agents.iter().collect();
        let turn = |n: usize| {
            format!(
                "ticket {} takes turn {} of {n}",
                ticket.number,
                ticket.number % n.max(1) as u64 + 1
            )
        };
        match self.strategy {
            Strategy::RoundRobin => (rotate(&all), format!("round-robin: {}", turn(all.len()))),
            Strategy::LeastLoaded => (
                rotate(&all),
                format!(
                    "least-loaded: agent load is not available to plugins, took turns instead: {}",
                    turn(all.len())
                ),
            ),
            Strategy::SkillLanguage => {
                let fits = |a: &&Agent| {
                    (a.skills.is_empty() || a.skills.iter().any(|s| s == ticket.category))
                        && (a.languages.is_empty()
                            || ticket.language.is_some_and(|l| a.languages.iter().any(|x| x == l)))
                };
                let declared = |a: &&Agent| !a.skills.is_empty() || !a.languages.is_empty();
                let specialists: Vec<&Agent> = all.iter().copied().filter(fits).filter(declared).collect();
                let fitting: Vec<&Agent> = all.iter().copied().filter(fits).collect();
                if !specialists.is_empty() {
                    let why = format!(
                        "skill-language: {} of {} agents declare a fit, {}",
                        specialists.len(),
                        all.len(),
                        turn(specialists.len())
                    );
                    (rotate(&specialists), why)
                } else if !fitting.is_empty() {
                    (
                        rotate(&fitting),
                        format!("skill-language: {} agents fit, {}", fitting.len(), turn(fitting.len())),
                    )
                } else {
                    (
                        rotate(&all),
                        format!("skill-language: no agent fits, {}", turn(all.len())),
                    )
                }
            }
        }
    }
}

impl Rule {
    /// The conditions that held, or `None` when one did not.
    fn matches(&self, ticket: &Ticket<'_>, norm: &str) -> Option<Vec<String>> {
        let mut held = Vec::new();
        if let Some(intent) = &self.intent {
            (intent == ticket.category).then_some(())?;
            held.push(format!("intent is {intent}"));
        }
        if let Some(channel) = &self.channel {
            let on = |c: &str| c.eq_ignore_ascii_case(channel);
            (on(ticket.channel) || ticket.marketplace.is_some_and(on)).then_some(())?;
            held.push(format!("channel is {channel}"));
        }
        if let Some(language) = &self.language {
            (ticket.language == Some(language.as_str())).then_some(())?;
            held.push(format!("language is {language}"));
        }
        if !self.keywords.is_empty() {
            let hit = self.keywords.iter().find(|k| {
                norm.match_indices(k.as_str())
                    .any(|(i, _)| is_cjk(k) || (norm[..i].ends_with(' ') && norm[i + k.len()..].starts_with(' ')))
            })?;
            held.push(format!("text contains `{hit}`"));
        }
        Some(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(json: &str) -> Routing {
        Routing::compile(&serde_json::from_str(json).unwrap()).unwrap()
    }

    fn ticket<'a>(number: u64, category: &'a str, language: Option<&'a str>, text: &'a str) -> Ticket<'a> {
        Ticket {
            number,
            category,
            language,
            channel: "email",
            marketplace: None,
            text,
        }
    }

    const TEAMS: &str = r#""teams": {
        "de": {"agents": ["jens", "uta"], "languages": ["de"]},
        "refunds": {"agents": ["ana", {"name": "mei", "languages": ["zh", "ja"], "skills": ["refund"]}], "skills": ["refund"]},
        "vip": {"agents": ["kim"]}
    }"#;

    #[test]
    fn first_matching_rule_wins_and_keywords_match_whole_words_or_cjk() {
        let r = routing(&format!(
            r#"{{ {TEAMS}, "rules": [
                {{"if_keyword": ["律师", "chargeback"], "team": "vip"}},
                {{"if_intent": "refund", "if_language": "de", "team": "de", "agent": "uta"}}
            ] }}"#
        ));
        let route = r.route(&ticket(1, "refund", Some("zh"), "我要找律师")).unwrap();
        assert_eq!((route.team.as_str(), route.agent.as_deref()), ("vip", Some("kim")));
        let route = r
            .route(&ticket(1, "refund", Some("de"), "Geld zurück, sonst Chargeback!"))
            .unwrap();
        assert_eq!(route.team, "vip");
        let route = r
            .route(&ticket(1, "refund", Some("de"), "chargebacks are a thing"))
            .unwrap();
        assert_eq!(
            (route.team.as_str(), route.agent.as_deref()),
            ("de", Some("uta")),
            "{route:?}"
        );
    }

    #[test]
    fn skills_beat_languages_and_agents_are_chosen_by_fit() {
        let r = routing(&format!(r#"{{ {TEAMS} }}"#));
        // refunds (skill, 2) beats de (language, 1).
        let route = r.route(&ticket(4, "refund", Some("de"), "")).unwrap();
        assert_eq!(route.team, "refunds");
        assert_eq!(
            route.agent.as_deref(),
            Some("ana"),
            "ticket 4 of the two agents fitting German"
        );
        // mei declares zh and refund: she takes Chinese refunds whatever the ticket number.
        for n in 0..4 {
            assert_eq!(
                r.route(&ticket(n, "refund", Some("zh"), "")).unwrap().agent.as_deref(),
                Some("mei")
            );
        }
        // A German question goes to the German team; a French one finds no team and no default.
        assert_eq!(
            r.route(&ticket(5, "product-question", Some("de"), "")).unwrap().team,
            "de"
        );
        assert_eq!(r.route(&ticket(5, "product-question", Some("fr"), "")), None);
    }

    #[test]
    fn round_robin_takes_turns_by_ticket_number() {
        let r = routing(&format!(
            r#"{{ {TEAMS}, "strategy": "round-robin", "default_team": "de" }}"#
        ));
        let agents: Vec<_> = (10..14)
            .map(|n| r.route(&ticket(n, "other", Some("fr"), "")).unwrap().agent.unwrap())
            .collect();
        assert_eq!(agents, ["jens", "uta", "jens", "uta"]);
    }
}
