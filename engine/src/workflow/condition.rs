//! The `if:` expression language, compiled when the workflow loads and evaluated per event.
//!
//! Grammar, loosest binding first:
//! `or := and ("||" and)*`, `and := cmp ("&&" cmp)*`,
//! `cmp := unary (("==" | "!=" | "<" | "<=" | ">" | ">=") unary | "in" "[" literals "]")?`,
//! `unary := "!" unary | primary`, `primary := literal | path | "(" or ")"`.
//! A path is dotted (`message.from.email`) and starts at one of [`ROOTS`]; a missing field
//! reads as null. A bare value is true unless it is null, false, `""` or 0.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use super::diagnostic::did_you_mean;

/// The names a path may start with: the top-level keys of the scope the engine builds.
pub const ROOTS: [&str; 4] = ["event", "message", "customer", "ticket"];

/// A compiled `if:` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    source: String,
    expr: Expr,
}

/// Why a condition did not compile; `offset` counts characters from the start of the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid condition at character {}: {message}", offset + 1)]
pub struct ConditionError {
    /// 0-based character offset into the expression.
    pub offset: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Literal(Value),
    Path(Vec<String>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Value>),
}

impl Condition {
    /// Compiles an expression such as `ticket.opened && message.channel != 'amazon'`.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let tokens = lex(text)?;
        let mut parser = ExprParser {
            tokens,
            next: 0,
            end: text.chars().count(),
        };
        if parser.tokens.is_empty() {
            return Err(ConditionError {
                offset: 0,
                message: "the condition is empty".into(),
            });
        }
        let expr = parser.or()?;
        if let Some(token) = parser.peek() {
            let message = match &token.kind {
                Tok::Ident(word) if word == "and" => "use `&&` instead of `and`".to_owned(),
                Tok::Ident(word) if word == "or" => "use `||` instead of `or`".to_owned(),
                Tok::Cmp(_) => "comparisons cannot be chained, join them with `&&`".to_owned(),
                _ => format!(
                    "unexpected {} after a complete condition, expected `&&`, `||` or the end",
                    token.kind.describe()
                ),
            };
            return Err(ConditionError {
                offset: token.offset,
                message,
            });
        }
        Ok(Condition {
            source: text.to_owned(),
            expr,
        })
    }

    /// The expression as written in the workflow.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the condition reads anything under `root` (one of [`ROOTS`]): the engine leaves
    /// out of the scope what no condition reads (a message turned into JSON for every step
    /// would cost more than the step's own test).
    pub fn uses(&self, root: &str) -> bool {
        fn walk(expr: &Expr, root: &str) -> bool {
            match expr {
                Expr::Literal(_) => false,
                Expr::Path(segments) => segments.first().is_some_and(|s| s == root),
                Expr::Not(inner) | Expr::In(inner, _) => walk(inner, root),
                Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) => walk(a, root) || walk(b, root),
            }
        }
        walk(&self.expr, root)
    }

    /// Evaluates the condition against the scope the engine builds for an event:
    /// `{ "event": {..}, "message": {..} | null, "customer": {..} | null, "ticket": {..} | null }`.
    pub fn eval(&self, scope: &Value) -> bool {
        truthy(&eval(&self.expr, scope))
    }
}

impl fmt::Display for Condition {
    /// Writes the condition in a canonical form: single-quoted strings, explicit grouping.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, &self.expr)
    }
}

fn write_literal(f: &mut fmt::Formatter<'_>, value: &Value) -> fmt::Result {
    match value {
        Value::String(s) => {
            f.write_str("'")?;
            for c in s.chars() {
                if c == '\'' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("'")
        }
        other => write!(f, "{other}"),
    }
}

fn write_expr(f: &mut fmt::Formatter<'_>, expr: &Expr) -> fmt::Result {
    let grouped = |f: &mut fmt::Formatter<'_>, e: &Expr, parent_is_and: bool| match e {
        Expr::Or(..) if parent_is_and => {
            f.write_str("(")?;
            write_expr(f, e)?;
            f.write_str(")")
        }
        _ => write_expr(f, e),
    };
    match expr {
        Expr::Literal(value) => write_literal(f, value),
        Expr::Path(segments) => f.write_str(&segments.join(".")),
        Expr::Not(inner) => match **inner {
            Expr::Literal(_) | Expr::Path(_) | Expr::Not(_) => {
                f.write_str("!")?;
                write_expr(f, inner)
            }
            _ => {
                f.write_str("!(")?;
                write_expr(f, inner)?;
                f.write_str(")")
            }
        },
        Expr::And(a, b) => {
            grouped(f, a, true)?;
            f.write_str(" && ")?;
            grouped(f, b, true)
        }
        Expr::Or(a, b) => {
            grouped(f, a, false)?;
            f.write_str(" || ")?;
            grouped(f, b, false)
        }
        Expr::Cmp(op, a, b) => {
            write_operand(f, a)?;
            write!(f, " {} ", op.symbol())?;
            write_operand(f, b)
        }
        Expr::In(a, list) => {
            write_operand(f, a)?;
            f.write_str(" in [")?;
            for (i, value) in list.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_literal(f, value)?;
            }
            f.write_str("]")
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, expr: &Expr) -> fmt::Result {
    match expr {
        Expr::Literal(_) | Expr::Path(_) | Expr::Not(_) => write_expr(f, expr),
        _ => {
            f.write_str("(")?;
            write_expr(f, expr)?;
            f.write_str(")")
        }
    }
}

/// A value is true unless it is null, false, the empty string or zero.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn eval<'a>(expr: &'a Expr, scope: &'a Value) -> Cow<'a, Value> {
    match expr {
        Expr::Literal(value) => Cow::Borrowed(value),
        Expr::Path(segments) => {
            let mut current = scope;
            for segment in segments {
                match current.get(segment) {
                    Some(next) => current = next,
                    None => return Cow::Owned(Value::Null),
                }
            }
            Cow::Borrowed(current)
        }
        Expr::Not(inner) => Cow::Owned(Value::Bool(!truthy(&eval(inner, scope)))),
        Expr::And(a, b) => Cow::Owned(Value::Bool(truthy(&eval(a, scope)) && truthy(&eval(b, scope)))),
        Expr::Or(a, b) => Cow::Owned(Value::Bool(truthy(&eval(a, scope)) || truthy(&eval(b, scope)))),
        Expr::Cmp(op, a, b) => Cow::Owned(Value::Bool(compare(*op, &eval(a, scope), &eval(b, scope)))),
        Expr::In(a, list) => {
            let left = eval(a, scope);
            Cow::Owned(Value::Bool(list.iter().any(|item| equal(&left, item))))
        }
    }
}

/// JSON equality, except that numbers compare by value (`1 == 1.0`).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Orders numbers with numbers and strings with strings; any other pair is not ordered, so
/// every ordering comparison on it is false.
fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering;
    match op {
        CmpOp::Eq => return equal(a, b),
        CmpOp::Ne => return !equal(a, b),
        _ => {}
    }
    let ordering = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().zip(y.as_f64()).and_then(|(x, y)| x.partial_cmp(&y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match (op, ordering) {
        (_, None) => false,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        (CmpOp::Eq | CmpOp::Ne, Some(_)) => unreachable!("handled above"),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Dot,
    Str(String),
    Num(serde_json::Number),
    Cmp(CmpOp),
    Not,
    And,
    Or,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(word) => format!("`{word}`"),
            Tok::Dot => "`.`".into(),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Num(n) => format!("number {n}"),
            Tok::Cmp(op) => format!("`{}`", op.symbol()),
            Tok::Not => "`!`".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    offset: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, ConditionError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let err = |offset: usize, message: String| Err(ConditionError { offset, message });
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let next = chars.get(i + 1).copied();
        let kind = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push(Token {
                    kind: Tok::Ident(chars[start..i].iter().collect()),
                    offset: start,
                });
                continue;
            }
            '0'..='9' | '-' => {
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let literal: String = chars[start..i].iter().collect();
                let number = literal
                    .parse::<i64>()
                    .ok()
                    .map(serde_json::Number::from)
                    .or_else(|| literal.parse::<f64>().ok().and_then(serde_json::Number::from_f64));
                match number {
                    Some(n) if !literal.ends_with('.') => {
                        tokens.push(Token {
                            kind: Tok::Num(n),
                            offset: start,
                        });
                        continue;
                    }
                    _ => return err(start, format!("`{literal}` is not a number")),
                }
            }
            '\'' | '"' => {
                let quote = c;
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return err(start, format!("string starting here is not closed with {quote}"));
                        }
                        Some('\\') => match chars.get(i + 1) {
                            Some(&escaped @ ('\\' | '\'' | '"')) => {
                                value.push(escaped);
                                i += 2;
                            }
                            _ => {
                                return err(i, "unknown escape, only \\\\, \\' and \\\" are accepted".into());
                            }
                        },
                        Some(&q) if q == quote => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            value.push(other);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token {
                    kind: Tok::Str(value),
                    offset: start,
                });
                continue;
            }
            '.' => Tok::Dot,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            '=' if next == Some('=') => Tok::Cmp(CmpOp::Eq),
            '=' => return err(start, "`=` does not compare, use `==`".into()),
            '!' if next == Some('=') => Tok::Cmp(CmpOp::Ne),
            '!' => Tok::Not,
            '<' if next == Some('=') => Tok::Cmp(CmpOp::Le),
            '<' => Tok::Cmp(CmpOp::Lt),
            '>' if next == Some('=') => Tok::Cmp(CmpOp::Ge),
            '>' => Tok::Cmp(CmpOp::Gt),
            '&' if next == Some('&') => Tok::And,
            '&' => return err(start, "use `&&` for and".into()),
            '|' if next == Some('|') => Tok::Or,
            '|' => return err(start, "use `||` for or".into()),
            other => {
                return err(
                    start,
                    format!("unexpected character `{other}`; strings need quotes, like 'text'"),
                );
            }
        };
        i += match kind {
            Tok::Cmp(CmpOp::Eq | CmpOp::Ne | CmpOp::Le | CmpOp::Ge) | Tok::And | Tok::Or => 2,
            _ => 1,
        };
        tokens.push(Token { kind, offset: start });
    }
    Ok(tokens)
}

struct ExprParser {
    tokens: Vec<Token>,
    next: usize,
    /// Character count of the whole text: where "end of condition" errors point.
    end: usize,
}

const EXPECTED_VALUE: &str =
    "expected a value: a path like ticket.opened, a 'string', a number, true, false, null, `!` or `(`";

impl ExprParser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn eat(&mut self, kind: &Tok) -> bool {
        if self.peek().is_some_and(|t| &t.kind == kind) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn error_here(&self, expected: &str) -> ConditionError {
        match self.peek() {
            Some(token) => ConditionError {
                offset: token.offset,
                message: format!("{expected}, found {}", token.kind.describe()),
            },
            None => ConditionError {
                offset: self.end,
                message: format!("{expected}, found the end of the condition"),
            },
        }
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.and()?;
        while self.eat(&Tok::Or) {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut left = self.cmp()?;
        while self.eat(&Tok::And) {
            let right = self.cmp()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn cmp(&mut self) -> Result<Expr, ConditionError> {
        let left = self.unary()?;
        match self.peek().map(|t| t.kind.clone()) {
            Some(Tok::Cmp(op)) => {
                self.next += 1;
                let right = self.unary()?;
                Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
            }
            Some(Tok::Ident(word)) if word == "in" => {
                self.next += 1;
                let list = self.list()?;
                Ok(Expr::In(Box::new(left), list))
            }
            _ => Ok(left),
        }
    }

    fn list(&mut self) -> Result<Vec<Value>, ConditionError> {
        if !self.eat(&Tok::LBracket) {
            return Err(self.error_here("expected `[` after `in`, like in ['de', 'fr']"));
        }
        let mut items = Vec::new();
        if self.eat(&Tok::RBracket) {
            return Ok(items);
        }
        loop {
            match self.peek().and_then(|t| literal(&t.kind)) {
                Some(value) => {
                    self.next += 1;
                    items.push(value);
                }
                None => {
                    return Err(self.error_here("expected a 'string', a number, true, false or null in the list"));
                }
            }
            if self.eat(&Tok::RBracket) {
                return Ok(items);
            }
            if !self.eat(&Tok::Comma) {
                return Err(self.error_here("expected `,` or `]`"));
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        if self.eat(&Tok::Not) {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ConditionError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.error_here(EXPECTED_VALUE));
        };
        if let Some(value) = literal(&token.kind) {
            self.next += 1;
            return Ok(Expr::Literal(value));
        }
        match token.kind {
            Tok::LParen => {
                self.next += 1;
                let inner = self.or()?;
                if !self.eat(&Tok::RParen) {
                    return Err(self.error_here(&format!(
                        "expected `)` to close the `(` at character {}",
                        token.offset + 1
                    )));
                }
                Ok(inner)
            }
            Tok::Ident(root) => {
                self.next += 1;
                if root == "not" {
                    return Err(ConditionError {
                        offset: token.offset,
                        message: "use `!` instead of `not`".into(),
                    });
                }
                if !ROOTS.contains(&root.as_str()) {
                    let hint = did_you_mean(&root, ROOTS.iter().copied())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    return Err(ConditionError {
                        offset: token.offset,
                        message: format!("unknown name `{root}`{hint}, expected one of: {}", ROOTS.join(", ")),
                    });
                }
                let mut segments = vec![root];
                while self.eat(&Tok::Dot) {
                    match self.bump() {
                        Some(Token {
                            kind: Tok::Ident(field),
                            ..
                        }) => segments.push(field),
                        _ => {
                            self.next -= 1;
                            return Err(self.error_here("expected a field name after `.`"));
                        }
                    }
                }
                Ok(Expr::Path(segments))
            }
            _ => Err(self.error_here(EXPECTED_VALUE)),
        }
    }
}

fn literal(kind: &Tok) -> Option<Value> {
    match kind {
        Tok::Str(s) => Some(Value::String(s.clone())),
        Tok::Num(n) => Some(Value::Number(n.clone())),
        Tok::Ident(word) => match word.as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            "null" => Some(Value::Null),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Value {
        json!({
            "event": { "kind": "message.received", "id": "ev-1" },
            "message": {
                "channel": "amazon", "id": "m-1", "lang": "de", "order": "302-1234567-7654321",
                "subject": "Rückerstattung für Bestellung", "body": "注文が届きません",
                "marketplace": "amazon.de", "from": { "email": "kunde@example.de", "name": "Jürgen" }
            },
            "customer": { "id": "c-1", "new": false },
            "ticket": {
                "number": 42, "opened": true, "status": "open", "category": "refund",
                "priority": 2, "language": "de", "assignee": null
            }
        })
    }

    #[test]
    fn evaluates() {
        let table = [
            ("ticket.opened", true),
            ("!ticket.opened", false),
            ("ticket.assignee", false),
            ("ticket.missing.deeper", false),
            ("customer.new", false),
            ("!customer.new", true),
            ("message.channel == 'amazon'", true),
            ("message.channel != \"amazon\"", false),
            ("ticket.opened && message.channel != 'amazon'", false),
            ("ticket.opened || message.channel != 'amazon'", true),
            ("ticket.number > 40 && ticket.number <= 42", true),
            ("ticket.number >= 43", false),
            ("ticket.number == 42.0", true),
            ("ticket.priority < 3", true),
            ("message.lang in ['de', 'fr', 'es']", true),
            ("message.lang in ['ja', 'zh']", false),
            ("message.lang in []", false),
            ("ticket.assignee == null", true),
            ("message.from.email == 'kunde@example.de'", true),
            ("message.from.name == 'Jürgen'", true),
            ("message.body == '注文が届きません'", true),
            ("message.subject > 'A'", true),
            ("ticket.number < 'x'", false),
            ("!(ticket.opened && customer.new)", true),
            ("(ticket.opened || customer.new) && message.lang == 'de'", true),
            ("ticket.opened || customer.new && false", true),
            ("event.kind == 'message.received'", true),
            ("ticket.priority == -1", false),
            ("true", true),
            ("0", false),
            ("''", false),
        ];
        let scope = scope();
        for (text, expected) in table {
            let condition = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(condition.eval(&scope), expected, "{text}");
        }
    }

    #[test]
    fn null_roots_are_false() {
        let scope = json!({ "event": { "kind": "timer.fired" }, "message": null, "customer": null, "ticket": null });
        for text in ["ticket.opened", "message.channel == 'amazon'", "customer.new"] {
            assert!(!Condition::parse(text).unwrap().eval(&scope), "{text}");
        }
        assert!(Condition::parse("ticket == null").unwrap().eval(&scope));
    }

    /// The roots a condition reads, which are all the engine puts in its scope.
    #[test]
    fn names_the_roots_it_reads() {
        let table = [
            ("event.kind == 'message.received'", "event"),
            ("!ticket.opened", "ticket"),
            (
                "message.channel in ['amazon', 'ebay'] && customer.new",
                "customer message",
            ),
            ("ticket.status == 'solved' || event.kind != 'x'", "event ticket"),
            ("'message' == 'ticket'", ""),
        ];
        for (text, expected) in table {
            let condition = Condition::parse(text).unwrap();
            let used: Vec<&str> = ROOTS.into_iter().filter(|r| condition.uses(r)).collect();
            let mut expected: Vec<&str> = expected.split_whitespace().collect();
            expected.sort_by_key(|r| ROOTS.iter().position(|x| x == r));
            assert_eq!(used, expected, "{text}");
        }
    }

    #[test]
    fn rejects_with_position() {
        let table = [
            (
                "tiket.opened",
                0,
                "unknown name `tiket` (did you mean `ticket`?), expected one of: event, message, customer, ticket",
            ),
            (
                "ticket.opened && ",
                17,
                "expected a value: a path like ticket.opened, a 'string', a number, true, false, null, `!` or `(`, found the end of the condition",
            ),
            ("message.channel = 'amazon'", 16, "`=` does not compare, use `==`"),
            (
                "message.channel == 'amazon",
                19,
                "string starting here is not closed with '",
            ),
            ("ticket.opened & customer.new", 14, "use `&&` for and"),
            ("ticket.opened and customer.new", 14, "use `&&` instead of `and`"),
            ("not ticket.opened", 0, "use `!` instead of `not`"),
            (
                "(ticket.opened || customer.new",
                30,
                "expected `)` to close the `(` at character 1, found the end of the condition",
            ),
            (
                "message.lang in 'de'",
                16,
                "expected `[` after `in`, like in ['de', 'fr'], found string 'de'",
            ),
            (
                "message.lang in ['de' 'fr']",
                22,
                "expected `,` or `]`, found string 'fr'",
            ),
            (
                "message.lang in [message.x]",
                17,
                "expected a 'string', a number, true, false or null in the list, found `message`",
            ),
            (
                "ticket.",
                7,
                "expected a field name after `.`, found the end of the condition",
            ),
            (
                "ticket.number == 1 == 2",
                19,
                "comparisons cannot be chained, join them with `&&`",
            ),
            (
                "message.channel == amazon",
                19,
                "unknown name `amazon`, expected one of: event, message, customer, ticket",
            ),
            ("", 0, "the condition is empty"),
            (
                "ticket.category == ´refund´",
                19,
                "unexpected character `´`; strings need quotes, like 'text'",
            ),
            ("ticket.number > 1.", 16, "`1.` is not a number"),
        ];
        for (text, offset, message) in table {
            let error = Condition::parse(text).unwrap_err();
            assert_eq!((error.offset, error.message.as_str()), (offset, message), "{text}");
        }
    }

    #[test]
    fn displays_canonically() {
        let table = [
            (
                "ticket.opened&&message.channel!=\"amazon\"",
                "ticket.opened && message.channel != 'amazon'",
            ),
            ("(a_or_b_is_not_a_root_so_use) ", ""),
            (
                "!(ticket.opened||customer.new)&&(ticket.priority<3||customer.new)",
                "!(ticket.opened || customer.new) && (ticket.priority < 3 || customer.new)",
            ),
            ("message.lang in [\"de\",'it''s'] ", ""),
            ("message.subject == 'it\\'s'", "message.subject == 'it\\'s'"),
        ];
        for (text, expected) in table {
            match Condition::parse(text) {
                Ok(condition) => {
                    assert_eq!(condition.to_string(), expected, "{text}");
                    let again = Condition::parse(&condition.to_string()).unwrap();
                    assert_eq!(again.expr, condition.expr, "{text}");
                }
                Err(_) => assert_eq!(expected, "", "{text}"),
            }
        }
    }
}
