//! The registry of diagnostic codes.
//!
//! Architecture Invariant: a code, once published, keeps its meaning forever. Retired codes stay
//! in this table, marked retired; new checks take the next free number. Tools and CI configs
//! match on these strings.

use std::fmt;

macro_rules! codes {
    ($( $variant:ident = $code:literal, $sev:ident, $summary:literal; )*) => {
        /// A stable diagnostic code such as `RP0101`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $variant, )* }

        impl Code {
            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable string, e.g. `RP0101`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// The severity a diagnostic of this code has.
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }

            /// One line saying what the check is about.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }
        }
    };
}

/// How bad a diagnostic is: errors fail `riposte check`, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

codes! {
    // 00xx: reading the file.
    YamlSyntax = "RP0001", Error, "the file is not valid YAML";
    NotUtf8 = "RP0002", Error, "the file is not UTF-8 text";
    EmptyFile = "RP0003", Error, "the file holds no document";
    FileTooLarge = "RP0004", Error, "the file exceeds the size limit";
    YamlBudget = "RP0005", Error, "the YAML exceeds a resource budget (nesting, aliases, nodes)";
    TabIndent = "RP0006", Error, "a tab is used for indentation";
    MultipleDocuments = "RP0007", Error, "the file holds more than one YAML document";
    // 01xx: document structure.
    UnknownKey = "RP0101", Error, "a mapping has a key the document format does not define";
    DuplicateKey = "RP0102", Error, "a mapping defines the same key twice";
    MissingKey = "RP0103", Error, "a required key is missing";
    WrongYamlType = "RP0104", Error, "a value has the wrong YAML type";
    UnknownKind = "RP0105", Error, "the document's `kind` is not `gamebook` or `sop`";
    InvalidValue = "RP0106", Error, "a value is outside the allowed set or format";
    ConflictingKeys = "RP0107", Error, "keys that exclude each other are used together";
    // 02xx: expressions.
    ExprSyntax = "RP0201", Error, "an expression does not parse";
    UnknownName = "RP0202", Error, "an expression names an unknown variable, field or function";
    TypeMismatch = "RP0203", Error, "an expression's types do not fit";
    InvalidRegex = "RP0204", Error, "a `matches` pattern is not a valid regular expression";
    InvalidCidr = "RP0205", Error, "a CIDR literal is not a valid network";
    ExprTooComplex = "RP0206", Error, "an expression exceeds the nesting or size limit";
    InvalidTemplate = "RP0207", Error, "a `{{ }}` template in a string is malformed";
    // 03xx: steps and graph.
    DuplicateStepId = "RP0301", Error, "two steps share an id";
    UnknownStep = "RP0302", Error, "a step reference names no step";
    UnknownGamebook = "RP0303", Error, "a gamebook reference names no gamebook of the library";
    UnknownInput = "RP0304", Error, "an input is unknown to the gamebook";
    MissingInput = "RP0305", Error, "a required gamebook input is not given";
    DependencyCycle = "RP0306", Error, "step dependencies form a cycle";
    UnreachableStep = "RP0307", Warning, "a step can never run";
    GamebookRecursion = "RP0308", Error, "gamebooks call each other in a cycle";
    DuplicateName = "RP0309", Error, "two documents of the library share a name";
    SelfDependency = "RP0310", Error, "a step depends on itself";
    DuplicateDependency = "RP0311", Warning, "a step lists the same dependency twice";
    CallsTooDeep = "RP0312", Error, "gamebook calls nest too deep";
    UnreadInput = "RP0313", Warning, "a gamebook input is never read";
    // 04xx: actions, params, approvals, policy.
    UnknownAction = "RP0401", Error, "an action id is not in the catalog";
    WrongTargetKind = "RP0402", Error, "an action targets the wrong kind of entity";
    MissingParam = "RP0403", Error, "a required action parameter is missing";
    UnknownParam = "RP0404", Error, "an action parameter is unknown";
    ParamType = "RP0405", Error, "an action parameter has the wrong type or value";
    ApprovalWithoutTimeoutOutcome = "RP0406", Error, "an approval gate does not say what happens on timeout";
    UnapprovedHighImpact = "RP0407", Warning, "a high-impact action can run without approval in an autonomous SOP";
    DelegatedOnly = "RP0408", Warning, "an action needs a signed-in (delegated) session";
    UnknownRole = "RP0409", Error, "a role name is unknown";
    InvalidClassification = "RP0410", Error, "a classification reason does not belong to its verdict";
    TimeoutApprovesHighImpact = "RP0411", Warning, "an approval gate lets a high-impact action run when it times out";
    SopConditionNeverHolds = "RP0412", Warning, "a condition of an SOP never holds";
    // 05xx: the library against a workspaces file (`riposte check --workspaces`).
    UnknownWorkspace = "RP0501", Warning, "an SOP applies to a workspace the workspaces file does not define";
    UnknownWorkspaceTag = "RP0502", Warning, "an SOP applies to a workspace tag no workspace has";
    SopRunsNowhere = "RP0503", Warning, "no workspace runs an SOP";
    InvalidWorkspaces = "RP0504", Error, "the workspaces file is invalid";
    UnknownAgentSop = "RP0505", Error, "an agent runs a SOP the library does not have";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "code {s} is used twice");
            assert_eq!(s.len(), 6);
            assert!(s.starts_with("RP") && s[2..].chars().all(|c| c.is_ascii_digit()));
        }
    }
}
