//! The CDK's "deadly embrace", caught before any change set: an update that removes an export
//! another stack still imports fails in CloudFormation after minutes, half-way through an
//! update, and rolls back. Comparing the exports of the deployed and the new template, and
//! asking CloudFormation who imports the ones that go, says so in a second.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::aws::Aws;
use crate::error::DeployError;

/// The export names a template declares: literal names, and `Fn::Sub` strings whose only
/// variable is `${AWS::StackName}` (resolved with `stack`). Others cannot be known before
/// deploy and are left out.
pub fn export_names(template: &Json, stack: &str) -> BTreeSet<String> {
    let Some(outputs) = template.get("Outputs").and_then(Json::as_object) else {
        return BTreeSet::new();
    };
    outputs
        .values()
        .filter_map(|o| o.get("Export")?.get("Name"))
        .filter_map(|n| match n {
            Json::String(s) => Some(s.clone()),
            Json::Object(o) => {
                let sub = o.get("Fn::Sub")?.as_str()?;
                let resolved = sub.replace("${AWS::StackName}", stack);
                (!resolved.contains("${")).then_some(resolved)
            }
            _ => None,
        })
        .collect()
}

/// The exports `deployed` has and `new` drops.
pub fn removed_exports(deployed: &Json, new: &Json, stack: &str) -> Vec<String> {
    let now = export_names(new, stack);
    export_names(deployed, stack)
        .into_iter()
        .filter(|e| !now.contains(e))
        .collect()
}

/// The stacks importing `export`; empty when none does (CloudFormation answers that with a
/// ValidationError "… is not imported by any stack").
pub async fn importers(aws: &Aws, export: &str) -> Result<Vec<String>, DeployError> {
    let mut stacks = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..50 {
        let token = next.clone();
        let out = aws
            .call("cloudformation", "ListImports", || {
                aws.cfn
                    .list_imports()
                    .export_name(export)
                    .set_next_token(token.clone())
                    .send()
            })
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) if e.message.contains("is not imported by any stack") => return Ok(stacks),
            Err(e) => return Err(e.into()),
        };
        stacks.extend(out.imports().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(stacks)
}

/// The first of `exports` (of stack `stack`) another stack imports, with its importers; and,
/// for each export whose importers could not be read (an endpoint without `ListImports`), why.
pub async fn first_in_use(
    aws: &Aws,
    stack: &str,
    exports: impl IntoIterator<Item = String>,
) -> (Option<(String, Vec<String>)>, Vec<(String, DeployError)>) {
    let mut unknown = Vec::new();
    for export in exports {
        match importers(aws, &export).await {
            Ok(found) => {
                let others: Vec<String> = found.into_iter().filter(|s| s != stack).collect();
                if !others.is_empty() {
                    return (Some((export, others)), unknown);
                }
            }
            Err(e) => unknown.push((export, e)),
        }
    }
    (None, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removed_exports_resolve_the_stack_name_and_skip_unknowable_names() {
        let deployed = json!({"Outputs": {
            "A": {"Value": "x", "Export": {"Name": "Net:ExportsOutputRefVpc"}},
            "B": {"Value": "x", "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-Subnets"}}},
            "C": {"Value": "x", "Export": {"Name": {"Fn::Sub": "${Env}-x"}}},
            "D": {"Value": "x"},
        }});
        let new = json!({"Outputs": {
            "A": {"Value": "x", "Export": {"Name": "Net:ExportsOutputRefVpc"}},
        }});
        assert_eq!(removed_exports(&deployed, &new, "Net"), vec!["Net-Subnets"]);
        assert!(removed_exports(&new, &deployed, "Net").is_empty());
    }
}
