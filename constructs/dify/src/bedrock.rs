//! Bedrock ready: the task roles of api, worker and the plugin daemon may call the Bedrock
//! actions Dify's Bedrock model plugin uses, through the task role's credentials, so nobody
//! pastes access keys into Dify (aws-samples/dify-self-hosted-on-aws#90). The plugin runs
//! inside the plugin daemon's task and inherits its environment, container credentials
//! included (dify-plugin-daemon 0.5.5, `local_runtime`: `cmd.Env = cmd.Environ()`), so boto3's
//! default chain finds the role with no key configured in the provider.

use serde_json::{Value as Json, json};

use cfn_core::{Value, fns};

/// Invocation: `InvokeModel` also authorizes `Converse`, and `InvokeModelWithResponseStream`
/// `ConverseStream` (the Converse API reference: "requires permission to perform the
/// bedrock:InvokeModel action"); IAM has no `bedrock:Converse` action.
pub const INVOKE_ACTIONS: [&str; 2] = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
];

/// Reading models and inference profiles (the plugin's model list and cross-region
/// profiles). The `List` actions take no resource ARN in IAM, so they are granted on `*`;
/// the `Get` ones are scoped like invocation.
pub const READ_ACTIONS: [&str; 2] = ["bedrock:GetFoundationModel", "bedrock:GetInferenceProfile"];

/// The list actions, which IAM authorizes on `*` only.
pub const LIST_ACTIONS: [&str; 2] = [
    "bedrock:ListFoundationModels",
    "bedrock:ListInferenceProfiles",
];

/// Which models the task roles may use.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BedrockSettings {
    /// Foundation-model ARNs the roles may invoke and read. Default: empty, meaning every
    /// foundation model in the stack's region and in [`Self::model_regions`]
    /// (`arn:<partition>:bedrock:<region>::foundation-model/*`).
    pub model_arns: Vec<String>,
    /// Inference-profile ARNs (cross-region or application profiles). Default: empty,
    /// meaning every inference profile of the stack's account and region.
    pub inference_profile_arns: Vec<String>,
    /// Regions a cross-region inference profile routes to besides the stack's own: invoking a
    /// profile needs the foundation model in every destination region. Default: none. Ignored
    /// when [`Self::model_arns`] is set.
    pub model_regions: Vec<String>,
}

impl BedrockSettings {
    /// The task-role statements: invoke and read the scoped models and profiles, list on `*`.
    pub fn statements(&self) -> Vec<Json> {
        let mut resources: Vec<Value<String>> = if self.model_arns.is_empty() {
            std::iter::once(fns::sub(
                "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/*",
            ))
            .chain(self.model_regions.iter().map(|r| {
                fns::sub(format!(
                    "arn:${{AWS::Partition}}:bedrock:{r}::foundation-model/*"
                ))
            }))
            .collect()
        } else {
            self.model_arns.iter().map(Value::from).collect()
        };
        if self.inference_profile_arns.is_empty() {
            resources.push(fns::sub(
                "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/*",
            ));
        } else {
            resources.extend(self.inference_profile_arns.iter().map(Value::from));
        }
        let actions: Vec<&str> = INVOKE_ACTIONS
            .iter()
            .chain(&READ_ACTIONS)
            .copied()
            .collect();
        vec![
            json!({
                "Sid": "BedrockInvoke",
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources
            }),
            json!({
                "Sid": "BedrockList",
                "Effect": "Allow",
                "Action": LIST_ACTIONS,
                "Resource": "*"
            }),
        ]
    }
}

/// Environment variable names that would carry AWS keys into a task: with Bedrock on the task
/// role, none of them belongs anywhere (`AWS_BEARER_TOKEN_BEDROCK` is Bedrock's API key).
pub const ACCESS_KEY_VARIABLES: [&str; 4] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scope_is_the_stacks_region_and_account_not_everything() {
        let s = BedrockSettings::default().statements();
        let text = s[0]["Resource"].to_string();
        assert!(
            text.contains("${AWS::Region}::foundation-model/*"),
            "{text}"
        );
        assert!(
            text.contains("${AWS::AccountId}:inference-profile/*"),
            "{text}"
        );
        let resources = s[0]["Resource"].as_array().cloned().unwrap_or_default();
        assert_eq!(resources.len(), 2);
        assert!(!resources.iter().any(|r| r == "*"));
        assert_eq!(s[1]["Resource"], "*");
    }

    #[test]
    fn configured_arns_replace_the_defaults() {
        let s = BedrockSettings {
            model_arns: vec!["arn:aws:bedrock:us-east-1::foundation-model/a".into()],
            inference_profile_arns: vec![
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.a".into(),
            ],
            model_regions: vec!["us-west-2".into()],
        }
        .statements();
        assert_eq!(
            s[0]["Resource"],
            json!([
                "arn:aws:bedrock:us-east-1::foundation-model/a",
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.a"
            ])
        );
    }

    #[test]
    fn destination_regions_add_their_foundation_models() {
        let s = BedrockSettings {
            model_regions: vec!["us-west-2".into()],
            ..BedrockSettings::default()
        }
        .statements();
        assert!(
            s[0]["Resource"]
                .to_string()
                .contains("bedrock:us-west-2::foundation-model/*")
        );
    }
}
