//! The built-in functions: their signatures, checked in [`Checker::call`].
//!
//! | function | type |
//! |---|---|
//! | `any(list<T>, x => bool)`, `all(…)` | `bool` |
//! | `count(list<T>)`, `count(list<T>, x => bool)` | `number` |
//! | `filter(list<T>, x => bool)` | `list<T>` |
//! | `map(list<T>, x => U)` | `list<U>` |
//! | `first(list<T>)` | `T` (null when empty) |
//! | `distinct(list<T>)` | `list<T>` |
//! | `len(list<T> \| string)` | `number` |
//! | `lower(string)`, `upper(string)` | `string` |
//! | `now()` | `time` |
//! | `in_cidr(ip, "cidr literal")` | `bool` |
//! | `ip(string)` | `ip` (null when not an address) |
//!
//! List functions treat null as an empty list.

use ipnet::IpNet;

use super::ast::{Arg, Ast};
use super::check::{slot_u32, Checker, Local, Origin, Typed};
use super::eval::{Ir, Quant};
use crate::codes::Code;
use crate::diagnostic::suggestion;
use crate::source::Span;
use crate::types::Type;

/// Every function name, sorted.
pub(crate) const FUNCTIONS: &[&str] = &[
    "all", "any", "count", "distinct", "filter", "first", "in_cidr", "ip", "len", "lower", "map",
    "now", "upper",
];

const ORDINALS: [&str; 3] = ["first", "second", "third"];

fn ordinal(i: usize) -> &'static str {
    ORDINALS.get(i).copied().unwrap_or("next")
}

fn b(ir: Ir) -> Box<Ir> {
    Box::new(ir)
}

impl Checker<'_> {
    pub(crate) fn call(&mut self, name: &str, name_span: Span, args: &[Arg], span: Span) -> Typed {
        let Some((min, max)) = arity(name) else {
            return self.unknown_function(name, name_span, args);
        };
        if args.len() < min || args.len() > max {
            return self.wrong_arity(name, args, min, max, span);
        }
        match (name, args) {
            ("any", [list, f]) => self.quant(Quant::Any, name, list, f),
            ("all", [list, f]) => self.quant(Quant::All, name, list, f),
            ("filter", [list, f]) => self.quant(Quant::Filter, name, list, f),
            ("map", [list, f]) => self.quant(Quant::Map, name, list, f),
            ("count", [list, f]) => self.quant(Quant::Count, name, list, f),
            ("count" | "first" | "distinct", [list]) => self.list_fn(name, list),
            ("len", [arg]) => self.len(arg),
            ("lower" | "upper" | "ip", [arg]) => self.string_fn(name, arg),
            ("now", []) => Typed::new(Ir::Now, Type::Time),
            ("in_cidr", [ip, net]) => self.in_cidr(ip, net),
            _ => Typed::error(),
        }
    }

    fn unknown_function(&mut self, name: &str, name_span: Span, args: &[Arg]) -> Typed {
        let help = suggestion(name, FUNCTIONS.iter().copied());
        self.error(
            Code::UnknownName,
            name_span,
            format!("unknown function `{name}`"),
        )
        .help = Some(help);
        self.check_loosely(args);
        Typed::error()
    }

    fn wrong_arity(
        &mut self,
        name: &str,
        args: &[Arg],
        min: usize,
        max: usize,
        span: Span,
    ) -> Typed {
        let expected = match (min, max) {
            (0, 0) => "no arguments".to_string(),
            (1, 1) => "1 argument".to_string(),
            (a, b) if a == b => format!("{a} arguments"),
            (a, b) => format!("{a} or {b} arguments"),
        };
        let msg = format!("`{name}` takes {expected}, found {}", args.len());
        self.mismatch(span, msg, Some(signature(name).to_string()));
        self.check_loosely(args);
        Typed::error()
    }

    /// `count(list)`, `first(list)`, `distinct(list)`.
    fn list_fn(&mut self, name: &str, arg: &Arg) -> Typed {
        let (list, elem) = self.list_arg(arg, name);
        let origin = list.origin;
        let list = b(list.ir);
        match name {
            "count" => Typed::new(Ir::Count(list), Type::Number),
            // The items (and so the first) are values of the field the list came from.
            "first" => Typed::new(Ir::First(list), elem).with_origin(origin),
            _ => Typed::new(Ir::Distinct(list), Type::list(elem)).with_origin(origin),
        }
    }

    fn len(&mut self, arg: &Arg) -> Typed {
        let t = self.value_arg(arg, "len");
        self.finish_len(t, arg)
    }

    fn finish_len(&mut self, t: Typed, arg: &Arg) -> Typed {
        if !matches!(t.ty, Type::List(_) | Type::String | Type::Any | Type::Null) {
            let msg = format!("`len` needs a list or a string, found `{}`", t.ty);
            self.mismatch(arg.span(), msg, None);
        }
        Typed::new(Ir::Len(b(t.ir)), Type::Number)
    }

    /// `lower(s)`, `upper(s)`, `ip(s)`.
    fn string_fn(&mut self, name: &str, arg: &Arg) -> Typed {
        let t = self.string_arg(arg, name, 0);
        let a = b(t.ir);
        match name {
            "lower" => Typed::new(Ir::Lower(a), Type::String),
            "upper" => Typed::new(Ir::Upper(a), Type::String),
            _ => Typed::new(Ir::ParseIp(a), Type::Ip),
        }
    }

    /// Checks the arguments of a call that is already wrong, for errors inside them.
    fn check_loosely(&mut self, args: &[Arg]) {
        for arg in args {
            match arg {
                Arg::Value(a) => {
                    let _ = self.check(a);
                }
                Arg::Lambda { param, body, .. } => {
                    self.with_local(param, Type::Any, None, |ck| ck.check(body));
                }
            }
        }
    }

    fn with_local<T>(
        &mut self,
        name: &str,
        ty: Type,
        origin: Option<Origin>,
        f: impl FnOnce(&mut Self) -> T,
    ) -> (usize, T) {
        let slot = self.locals.len();
        self.locals.push(Local {
            name: name.to_string(),
            ty,
            origin,
        });
        let out = f(self);
        self.locals.truncate(slot);
        (slot, out)
    }

    fn value_arg(&mut self, arg: &Arg, fname: &str) -> Typed {
        match arg {
            Arg::Value(a) => self.check(a),
            Arg::Lambda { span, .. } => self.unexpected_lambda(*span, fname),
        }
    }

    fn unexpected_lambda(&mut self, span: Span, fname: &str) -> Typed {
        let msg = format!("`{fname}` does not take a function here");
        self.mismatch(span, msg, Some(signature(fname).to_string()));
        Typed::error()
    }

    fn string_arg(&mut self, arg: &Arg, fname: &str, position: usize) -> Typed {
        let t = self.value_arg(arg, fname);
        self.expect_string_arg(t, arg, fname, position)
    }

    fn expect_string_arg(&mut self, t: Typed, arg: &Arg, fname: &str, position: usize) -> Typed {
        if !t.ty.fits(&Type::String) {
            let msg = format!(
                "the {} argument of `{fname}` must be a `string`, found `{}`",
                ordinal(position),
                t.ty
            );
            self.mismatch(arg.span(), msg, None);
        }
        t
    }

    /// A list argument and its element type.
    fn list_arg(&mut self, arg: &Arg, fname: &str) -> (Typed, Type) {
        let t = self.value_arg(arg, fname);
        self.expect_list_arg(t, arg, fname)
    }

    fn expect_list_arg(&mut self, t: Typed, arg: &Arg, fname: &str) -> (Typed, Type) {
        let elem = match &t.ty {
            Type::List(e) => (**e).clone(),
            Type::Any | Type::Null => Type::Any,
            other => {
                let msg = format!("`{fname}` needs a list, found `{other}`");
                self.mismatch(arg.span(), msg, Some(signature(fname).to_string()));
                Type::Any
            }
        };
        (t, elem)
    }

    fn quant(&mut self, kind: Quant, fname: &str, list: &Arg, f: &Arg) -> Typed {
        let (list, elem) = self.list_arg(list, fname);
        let (param, body_ast) = match f {
            Arg::Lambda { param, body, .. } => (param, body),
            Arg::Value(a) => return self.not_a_lambda(kind, fname, a),
        };
        // The parameter is an item of the list: values of the field its items came from.
        let origin = list.origin.clone();
        let (slot, body) = self.with_local(param, elem.clone(), origin, |ck| ck.check(body_ast));
        self.finish_quant(kind, fname, list, elem, slot, body, body_ast)
    }

    fn not_a_lambda(&mut self, kind: Quant, fname: &str, a: &Ast) -> Typed {
        let _ = self.check(a);
        let example = if kind == Quant::Map {
            "x => x.name"
        } else {
            "x => x.verdict == 'malicious'"
        };
        let msg =
            format!("the second argument of `{fname}` must be a function, such as `{example}`");
        self.mismatch(a.span, msg, Some(signature(fname).to_string()));
        Typed::error()
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_quant(
        &mut self,
        kind: Quant,
        fname: &str,
        list: Typed,
        elem: Type,
        slot: usize,
        body: Typed,
        body_ast: &Ast,
    ) -> Typed {
        if kind != Quant::Map && !body.ty.fits(&Type::Bool) {
            let msg = format!(
                "the function given to `{fname}` must return `bool`, found `{}`",
                body.ty
            );
            self.mismatch(body_ast.span, msg, None);
        }
        let ty = match kind {
            Quant::Any | Quant::All => Type::Bool,
            Quant::Count => Type::Number,
            Quant::Filter => Type::list(elem),
            Quant::Map => Type::list(body.ty.clone()),
        };
        // `map(alerts, a => a.status)` holds values of `alert.status`; a filtered list, values
        // of the field the list came from: literals compared with them are checked.
        let origin = match kind {
            Quant::Map => body.origin,
            Quant::Filter => list.origin,
            _ => None,
        };
        Typed::new(
            Ir::Quant {
                kind,
                list: b(list.ir),
                slot: slot_u32(slot),
                body: b(body.ir),
            },
            ty,
        )
        .with_origin(origin)
    }

    fn in_cidr(&mut self, ip: &Arg, net: &Arg) -> Typed {
        let t = self.value_arg(ip, "in_cidr");
        self.finish_in_cidr(t, ip, net)
    }

    fn finish_in_cidr(&mut self, t: Typed, ip: &Arg, net: &Arg) -> Typed {
        match &t.ty {
            Type::Ip | Type::Any | Type::Null => {}
            Type::String => self.mismatch(
                ip.span(),
                "the first argument of `in_cidr` must be an `ip`, found `string`",
                Some("convert text with `ip(…)`, as in `in_cidr(ip(x), '10.0.0.0/8')`".into()),
            ),
            other => {
                let msg =
                    format!("the first argument of `in_cidr` must be an `ip`, found `{other}`");
                self.mismatch(ip.span(), msg, None);
            }
        }
        let lit = match net {
            Arg::Value(a) => a.as_str_lit().map(|s| (a, s)),
            Arg::Lambda { .. } => None,
        };
        let Some((lit_ast, text)) = lit else {
            if let Arg::Value(a) = net {
                let _ = self.check(a);
            }
            self.mismatch(
                net.span(),
                "the network of `in_cidr` must be a string literal",
                Some("write the network in quotes, as in `in_cidr(ip, '10.0.0.0/8')`".into()),
            );
            return Typed::error();
        };
        match parse_cidr(text) {
            Some(net) => Typed::new(Ir::InCidr(b(t.ir), net), Type::Bool),
            None => {
                self.error(
                    Code::InvalidCidr,
                    lit_ast.span,
                    format!("`{text}` is not a valid CIDR network"),
                )
                .help = Some(
                    "write an address and a prefix length, as in `10.0.0.0/8` or `2001:db8::/32`"
                        .into(),
                );
                Typed::error()
            }
        }
    }
}

/// A network (`10.0.0.0/8`) or a single address (`10.0.0.1`, a /32 or /128). The address is
/// read as `ip()` reads one, so `010.0.0.0/8` (octal to some tools, decimal to others) is
/// refused rather than guessed, and so are spaces and a prefix with leading zeros.
fn parse_cidr(text: &str) -> Option<IpNet> {
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    let addr: std::net::IpAddr = addr.parse().ok()?;
    match prefix {
        None => Some(IpNet::from(addr)),
        Some(p) => {
            let canonical = p.bytes().all(|b| b.is_ascii_digit())
                && !p.is_empty()
                && (p == "0" || !p.starts_with('0'));
            let len: u8 = p.parse().ok().filter(|_| canonical)?;
            IpNet::new(addr, len).ok()
        }
    }
}

fn arity(name: &str) -> Option<(usize, usize)> {
    Some(match name {
        "any" | "all" | "filter" | "map" | "in_cidr" => (2, 2),
        "count" => (1, 2),
        "first" | "distinct" | "len" | "lower" | "upper" | "ip" => (1, 1),
        "now" => (0, 0),
        _ => return None,
    })
}

fn signature(name: &str) -> &'static str {
    match name {
        "any" => "usage: `any(list, x => condition)`",
        "all" => "usage: `all(list, x => condition)`",
        "filter" => "usage: `filter(list, x => condition)`",
        "map" => "usage: `map(list, x => value)`",
        "count" => "usage: `count(list)` or `count(list, x => condition)`",
        "first" => "usage: `first(list)`",
        "distinct" => "usage: `distinct(list)`",
        "len" => "usage: `len(list)` or `len(text)`",
        "lower" => "usage: `lower(text)`",
        "upper" => "usage: `upper(text)`",
        "ip" => "usage: `ip(text)`",
        "now" => "usage: `now()`",
        "in_cidr" => "usage: `in_cidr(ip, '10.0.0.0/8')`",
        _ => "",
    }
}
