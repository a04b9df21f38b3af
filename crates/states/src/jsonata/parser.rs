//! A Pratt parser from tokens to the expression tree. Syntax outside the supported subset is
//! refused here, naming the construct, so a definition using it fails validation.

use super::JsonataError;
use super::lexer::{Tok, Token, tokenize};
use std::sync::Arc;

/// Nesting deeper than this is refused, so a hostile expression cannot overflow the stack.
pub(crate) const MAX_PARSE_DEPTH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    And,
    Or,
    In,
    Elvis,
    Coalesce,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Regex(regex::Regex),
    /// `$name`; the empty name is `$`, the context value.
    Var(String),
    Name(String),
    Wildcard,
    Descendants,
    Path {
        steps: Vec<Node>,
        keep: bool,
    },
    /// An expression with predicates (`expr[...]`), applied per input item inside a path.
    Filter(Box<Node>, Vec<Node>),
    Neg(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Array(Vec<Node>),
    Range(Box<Node>, Box<Node>),
    Object(Vec<(Node, Node)>),
    Call(Box<Node>, Vec<Node>),
    Lambda {
        params: Vec<String>,
        body: Arc<Node>,
    },
    Cond(Box<Node>, Box<Node>, Option<Box<Node>>),
    Bind(String, Box<Node>),
    Block(Vec<Node>),
    Chain(Box<Node>, Box<Node>),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    len: usize,
}

pub(crate) fn parse(src: &str) -> Result<Node, JsonataError> {
    let mut p = Parser {
        tokens: tokenize(src)?,
        at: 0,
        depth: 0,
        len: src.chars().count(),
    };
    if p.tokens.is_empty() {
        return Err(JsonataError::syntax(
            "S0207",
            "Unexpected end of expression",
            0,
        ));
    }
    let node = p.expression(0)?;
    if let Some(t) = p.peek() {
        return Err(JsonataError::syntax(
            "S0201",
            format!("Syntax error: {}", describe(&t.tok)),
            t.pos,
        ));
    }
    Ok(node)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Num(n) => n.to_string(),
        Tok::Name(n, _) => n.clone(),
        Tok::Var(v) => format!("${v}"),
        Tok::Regex(r, _) => format!("/{r}/"),
        Tok::Op(o) => (*o).to_string(),
    }
}

fn unsupported(what: &str, pos: usize) -> JsonataError {
    JsonataError::syntax(
        "S0299",
        format!("{what} is not supported by this interpreter"),
        pos,
    )
}

fn infix_power(t: &Tok) -> u8 {
    match t {
        Tok::Op(op) => match *op {
            "." => 75,
            "[" | "(" | "@" | "#" => 80,
            "{" => 70,
            "*" | "/" | "%" | "**" => 60,
            "+" | "-" | "&" => 50,
            "=" | "!=" | "<" | "<=" | ">" | ">=" | "~>" | "^" | "?:" | "??" => 40,
            "?" | ".." | "|" => 20,
            ":=" => 10,
            _ => 0,
        },
        Tok::Name(n, false) => match n.as_str() {
            "and" => 30,
            "or" => 25,
            "in" => 40,
            _ => 0,
        },
        _ => 0,
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn pos(&self) -> usize {
        self.peek().map(|t| t.pos).unwrap_or(self.len)
    }

    fn next(&mut self) -> Result<Token, JsonataError> {
        let t = self.tokens.get(self.at).cloned().ok_or_else(|| {
            JsonataError::syntax("S0207", "Unexpected end of expression", self.len)
        })?;
        self.at += 1;
        Ok(t)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Op(o), .. }) if *o == op)
    }

    fn expect(&mut self, op: &str) -> Result<(), JsonataError> {
        if self.is_op(op) {
            self.at += 1;
            Ok(())
        } else {
            let found = self.peek().map(|t| describe(&t.tok));
            Err(JsonataError::syntax(
                "S0202",
                match found {
                    Some(f) => format!("Expected \"{op}\", got \"{f}\""),
                    None => format!("Expected \"{op}\" before end of expression"),
                },
                self.pos(),
            ))
        }
    }

    fn expression(&mut self, rbp: u8) -> Result<Node, JsonataError> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(JsonataError::syntax(
                "S0299",
                format!("The expression is nested more than {MAX_PARSE_DEPTH} levels deep"),
                self.pos(),
            ));
        }
        let result = self.expression_inner(rbp);
        self.depth -= 1;
        result
    }

    fn expression_inner(&mut self, rbp: u8) -> Result<Node, JsonataError> {
        let t = self.next()?;
        let mut left = self.prefix(t)?;
        while let Some(t) = self.peek() {
            if infix_power(&t.tok) <= rbp {
                break;
            }
            let t = self.next()?;
            left = self.infix(t, left)?;
        }
        Ok(left)
    }

    fn list(
        &mut self,
        close: &str,
        item: &mut dyn FnMut(&mut Parser) -> Result<(), JsonataError>,
    ) -> Result<(), JsonataError> {
        if self.is_op(close) {
            self.at += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            if self.is_op(",") {
                self.at += 1;
                continue;
            }
            return self.expect(close);
        }
    }

    fn prefix(&mut self, t: Token) -> Result<Node, JsonataError> {
        let pos = t.pos;
        Ok(match t.tok {
            Tok::Str(s) => Node::Str(s),
            Tok::Num(n) => Node::Num(n),
            Tok::Regex(pattern, flags) => Node::Regex(compile_regex(&pattern, &flags, pos)?),
            Tok::Var(v) => Node::Var(v),
            Tok::Name(n, quoted) => match (n.as_str(), quoted) {
                ("true", false) => Node::Bool(true),
                ("false", false) => Node::Bool(false),
                ("null", false) => Node::Null,
                ("function" | "λ", false) if self.is_op("(") => self.lambda()?,
                _ => Node::Name(n),
            },
            Tok::Op(op) => match op {
                "-" => self.negative()?,
                "*" => Node::Wildcard,
                "**" => Node::Descendants,
                "(" => self.block()?,
                "[" => self.array()?,
                "{" => Node::Object(self.object_body()?),
                "%" => return Err(unsupported("The parent operator '%'", pos)),
                "|" => return Err(unsupported("The transform operator '|...|...|'", pos)),
                "?" => return Err(unsupported("Partial function application ('?')", pos)),
                other => {
                    return Err(JsonataError::syntax(
                        "S0211",
                        format!("The symbol {other} cannot be used as a unary operator"),
                        pos,
                    ));
                }
            },
        })
    }

    #[inline(never)]
    fn negative(&mut self) -> Result<Node, JsonataError> {
        Ok(match self.expression(70)? {
            Node::Num(n) => Node::Num(-n),
            other => Node::Neg(Box::new(other)),
        })
    }

    #[inline(never)]
    fn block(&mut self) -> Result<Node, JsonataError> {
        let mut items = Vec::new();
        while !self.is_op(")") {
            items.push(self.expression(0)?);
            if !self.is_op(";") {
                break;
            }
            self.at += 1;
        }
        self.expect(")")?;
        Ok(Node::Block(items))
    }

    #[inline(never)]
    fn array(&mut self) -> Result<Node, JsonataError> {
        let mut items = Vec::new();
        self.list("]", &mut |p| {
            let item = p.expression(0)?;
            items.push(item);
            Ok(())
        })?;
        Ok(Node::Array(items))
    }

    #[inline(never)]
    fn object_body(&mut self) -> Result<Vec<(Node, Node)>, JsonataError> {
        let mut pairs = Vec::new();
        self.list("}", &mut |p| {
            let k = p.expression(0)?;
            p.expect(":")?;
            let v = p.expression(0)?;
            pairs.push((k, v));
            Ok(())
        })?;
        Ok(pairs)
    }

    #[inline(never)]
    fn lambda(&mut self) -> Result<Node, JsonataError> {
        self.expect("(")?;
        let mut params = Vec::new();
        self.list(")", &mut |p| {
            let t = p.next()?;
            match t.tok {
                Tok::Var(v) if !v.is_empty() => {
                    params.push(v);
                    Ok(())
                }
                other => Err(JsonataError::syntax(
                    "S0208",
                    format!("Parameter {} of function definition must be a variable name (start with $)", describe(&other)),
                    t.pos,
                )),
            }
        })?;
        if self.is_op("<") {
            return Err(unsupported("A function signature ('<...>')", self.pos()));
        }
        self.expect("{")?;
        let body = if self.is_op("}") {
            Node::Block(Vec::new())
        } else {
            self.expression(0)?
        };
        self.expect("}")?;
        Ok(Node::Lambda {
            params,
            body: Arc::new(body),
        })
    }

    // The arms live in separate functions: unoptimized builds give a frame room for every
    // arm's temporaries, and this frame is on the stack once per nesting level.
    fn infix(&mut self, t: Token, left: Node) -> Result<Node, JsonataError> {
        let pos = t.pos;
        let bp = infix_power(&t.tok);
        let op = match &t.tok {
            Tok::Op(op) => *op,
            Tok::Name(n, _) => match n.as_str() {
                "and" => "and",
                "or" => "or",
                _ => "in",
            },
            _ => return Err(JsonataError::syntax("S0201", "Syntax error", pos)),
        };
        if let Some(b) = binary_op(op) {
            return self.binary(b, left, bp);
        }
        match op {
            "." => self.path_step(left, bp, pos),
            "[" => self.predicate(left),
            "(" => self.call(left),
            "?" => self.conditional(left),
            ":=" => self.bind(left, bp, pos),
            "~>" | ".." => self.pair(op, left, bp),
            "{" => Err(unsupported("Object grouping ('expr{...}')", pos)),
            "^" => Err(unsupported("The order-by operator '^(...)'", pos)),
            "@" => Err(unsupported("The focus operator '@'", pos)),
            "#" => Err(unsupported("The index operator '#'", pos)),
            "|" => Err(unsupported("The transform operator '|...|...|'", pos)),
            "**" => Err(unsupported("The operator '**'", pos)),
            other => Err(JsonataError::syntax(
                "S0201",
                format!("Syntax error: \"{other}\""),
                pos,
            )),
        }
    }

    #[inline(never)]
    fn binary(&mut self, op: BinOp, left: Node, bp: u8) -> Result<Node, JsonataError> {
        let right = self.expression(bp)?;
        Ok(Node::Binary(op, Box::new(left), Box::new(right)))
    }

    #[inline(never)]
    fn pair(&mut self, op: &str, left: Node, bp: u8) -> Result<Node, JsonataError> {
        let right = Box::new(self.expression(bp)?);
        Ok(if op == "~>" {
            Node::Chain(Box::new(left), right)
        } else {
            Node::Range(Box::new(left), right)
        })
    }

    #[inline(never)]
    fn path_step(&mut self, left: Node, bp: u8, pos: usize) -> Result<Node, JsonataError> {
        let right = self.expression(bp)?;
        if matches!(right, Node::Object(_)) {
            return Err(unsupported("Object grouping in a path ('a.{...}')", pos));
        }
        let (mut steps, keep) = match left {
            Node::Path { steps, keep } => (steps, keep),
            other => (vec![other], false),
        };
        Ok(match right {
            Node::Path {
                steps: more,
                keep: k,
            } => {
                steps.extend(more);
                Node::Path {
                    steps,
                    keep: keep || k,
                }
            }
            other => {
                steps.push(other);
                Node::Path { steps, keep }
            }
        })
    }

    #[inline(never)]
    fn predicate(&mut self, left: Node) -> Result<Node, JsonataError> {
        if self.is_op("]") {
            self.at += 1;
            return Ok(match left {
                Node::Path { steps, .. } => Node::Path { steps, keep: true },
                other => Node::Path {
                    steps: vec![other],
                    keep: true,
                },
            });
        }
        let pred = self.expression(0)?;
        self.expect("]")?;
        // Inside a path the predicate belongs to the last step.
        Ok(match left {
            Node::Path { mut steps, keep } => {
                let last = steps.pop().unwrap_or(Node::Block(Vec::new()));
                steps.push(add_predicate(last, pred));
                Node::Path { steps, keep }
            }
            other => add_predicate(other, pred),
        })
    }

    #[inline(never)]
    fn call(&mut self, left: Node) -> Result<Node, JsonataError> {
        let mut args = Vec::new();
        self.list(")", &mut |p| {
            if p.is_op("?") {
                return Err(unsupported("Partial function application ('?')", p.pos()));
            }
            let a = p.expression(0)?;
            args.push(a);
            Ok(())
        })?;
        Ok(Node::Call(Box::new(left), args))
    }

    #[inline(never)]
    fn conditional(&mut self, left: Node) -> Result<Node, JsonataError> {
        let then = self.expression(0)?;
        let otherwise = if self.is_op(":") {
            self.at += 1;
            Some(Box::new(self.expression(0)?))
        } else {
            None
        };
        Ok(Node::Cond(Box::new(left), Box::new(then), otherwise))
    }

    #[inline(never)]
    fn bind(&mut self, left: Node, bp: u8, pos: usize) -> Result<Node, JsonataError> {
        let Node::Var(name) = left else {
            return Err(JsonataError::syntax(
                "S0212",
                "The left side of := must be a variable name (start with $)",
                pos,
            ));
        };
        let right = self.expression(bp - 1)?;
        Ok(Node::Bind(name, Box::new(right)))
    }
}

fn binary_op(op: &str) -> Option<BinOp> {
    Some(match op {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Mod,
        "=" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "&" => BinOp::Concat,
        "and" => BinOp::And,
        "or" => BinOp::Or,
        "in" => BinOp::In,
        "?:" => BinOp::Elvis,
        "??" => BinOp::Coalesce,
        _ => return None,
    })
}

fn add_predicate(node: Node, pred: Node) -> Node {
    match node {
        Node::Filter(inner, mut preds) => {
            preds.push(pred);
            Node::Filter(inner, preds)
        }
        other => Node::Filter(Box::new(other), vec![pred]),
    }
}

/// JavaScript regex flags: `i` and `m` map onto the regex crate, `g` is implied by the functions.
fn compile_regex(pattern: &str, flags: &str, pos: usize) -> Result<regex::Regex, JsonataError> {
    let mut prefix = String::new();
    for f in flags.chars() {
        match f {
            'i' => prefix.push('i'),
            'm' => prefix.push('m'),
            's' => prefix.push('s'),
            'g' => {}
            other => {
                return Err(JsonataError::syntax(
                    "S0303",
                    format!("Unsupported regular expression flag '{other}'"),
                    pos,
                ));
            }
        }
    }
    let full = if prefix.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{prefix}){pattern}")
    };
    regex::RegexBuilder::new(&full)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            JsonataError::syntax(
                "S0303",
                format!(
                    "Invalid or unsupported regular expression /{pattern}/: {}",
                    e.to_string().lines().last().unwrap_or_default()
                ),
                pos,
            )
        })
}
