//! Parses and type-checks arbitrary text as an expression in a gamebook's scope, then
//! evaluates whatever compiles against an empty incident. Must never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use riposte_dsl::expr::{compile, Env, ExprSource, Scope};
use riposte_dsl::types::Type;
use riposte_dsl::value::Value;
use riposte_dsl::{model, FileId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let scope = Scope::new().with("incident", Type::Record(model::incident()));
    let src = ExprSource { text, file: FileId(0), offset: 0 };
    if let Ok(expr) = compile(src, &scope, None) {
        let vars = [Value::Null];
        let _ = expr.eval(&Env { vars: &vars, now_ms: 0 });
    }
});
