//! SSO in front of Dify at the load balancer: Dify's own OIDC and SAML sign-in are enterprise
//! features, so the listener authenticates browsers (`authenticate-oidc` with any OIDC IdP, or
//! `authenticate-cognito`) before forwarding the console and web-app routes, while the routes
//! machine clients call keep their own authentication and no authenticate action
//! ([`MACHINE_PATHS`]).

use cfn_core::{Handle as _, ResourceRef, Scope, Value, dynamic};
use cfn_resources::elasticloadbalancingv2::{
    self as elbv2, ListenerHandle, TargetGroupHandle, listener, listener_rule,
};

/// Routes machine clients use, each with its own authentication, which an authenticate
/// action would break (Dify's nginx routes them to api or the plugin daemon,
/// `docker/nginx/conf.d/default.conf.template`): the service API (`/v1`, app API keys), plugin
/// endpoints (`/e/`), webhook and plugin triggers (`/triggers`, api `controllers/trigger`),
/// the MCP server (`/mcp`), signed file URLs (`/files`) and the target health check.
pub const MACHINE_PATHS: [&str; 9] = [
    "/v1",
    "/v1/*",
    "/e",
    "/e/*",
    "/triggers/*",
    "/mcp",
    "/mcp/*",
    "/files/*",
    "/health",
];

/// Request paths that stand for each machine route when checking a pattern against them.
pub const MACHINE_SAMPLES: [&str; 11] = [
    "/v1",
    "/v1/chat-messages",
    "/e",
    "/e/abc/hook",
    "/triggers",
    "/triggers/webhook/abc",
    "/triggers/plugin/abc",
    "/mcp",
    "/mcp/server/abc/mcp",
    "/files/abc/file-preview",
    "/health",
];

/// The api paths behind SSO by default: the console's API and the web apps' API. The web
/// console's own pages are the listener's default route, always behind SSO.
pub const DEFAULT_SSO_PATHS: [&str; 3] = ["/console/api", "/console/api/*", "/api/*"];

/// The first listener-rule priority of the SSO routes; machine routes keep theirs (10-21),
/// below it, so they match first.
pub const SSO_FIRST_PRIORITY: i64 = 30;

/// Who signs users in.
#[derive(Debug, Clone, PartialEq)]
pub enum SsoProvider {
    /// Any OIDC identity provider.
    Oidc {
        /// The issuer (`https://login.example.com`).
        issuer: String,
        /// The authorization endpoint.
        authorization_endpoint: String,
        /// The token endpoint.
        token_endpoint: String,
        /// The user-info endpoint.
        user_info_endpoint: String,
        /// The client ID.
        client_id: String,
        /// The Secrets Manager secret holding the client secret: the template carries only a
        /// `{{resolve:secretsmanager:…}}` reference to it.
        client_secret_arn: String,
        /// The JSON key in the secret holding the client secret. Default `None`: the whole
        /// string.
        client_secret_key: Option<String>,
    },
    /// An Amazon Cognito user pool.
    Cognito {
        /// The user pool ARN.
        user_pool_arn: String,
        /// The app client ID.
        user_pool_client_id: String,
        /// The user pool's domain prefix (or custom domain).
        user_pool_domain: String,
    },
}

/// SSO at the load balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoSettings {
    /// The identity provider.
    pub provider: SsoProvider,
    /// The scopes asked for. Default `openid email profile`.
    pub scope: String,
    /// How long a sign-in lasts, in seconds. Default 28 800 (8 h).
    pub session_timeout_seconds: u32,
    /// The api paths put behind SSO besides the web console (the default route). Default
    /// [`DEFAULT_SSO_PATHS`]; none may match a [`MACHINE_PATHS`] route.
    pub paths: Vec<String>,
}

impl SsoSettings {
    /// Settings with the defaults above for `provider`.
    pub fn new(provider: SsoProvider) -> Self {
        SsoSettings {
            provider,
            scope: "openid email profile".into(),
            session_timeout_seconds: 28_800,
            paths: DEFAULT_SSO_PATHS.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// The first machine request path `pattern` would put behind SSO, if any.
    pub fn machine_path_hit(pattern: &str) -> Option<&'static str> {
        MACHINE_SAMPLES
            .iter()
            .find(|sample| glob(pattern, sample))
            .copied()
    }

    /// The listener-rule actions: authenticate, then forward to `target`.
    pub fn rule_actions(&self, target: &TargetGroupHandle) -> Vec<listener_rule::Action> {
        let auth = listener_rule::Action::builder()
            .type_(self.action_type())
            .build()
            .order(1);
        let auth = match &self.provider {
            SsoProvider::Oidc {
                issuer,
                authorization_endpoint,
                token_endpoint,
                user_info_endpoint,
                client_id,
                ..
            } => auth.authenticate_oidc_config(
                listener_rule::AuthenticateOidcConfig::builder()
                    .authorization_endpoint(authorization_endpoint.as_str())
                    .client_id(client_id.as_str())
                    .issuer(issuer.as_str())
                    .token_endpoint(token_endpoint.as_str())
                    .user_info_endpoint(user_info_endpoint.as_str())
                    .build()
                    .client_secret(self.client_secret())
                    .scope(self.scope.as_str())
                    .session_timeout(i64::from(self.session_timeout_seconds))
                    .on_unauthenticated_request("authenticate"),
            ),
            SsoProvider::Cognito {
                user_pool_arn,
                user_pool_client_id,
                user_pool_domain,
            } => auth.authenticate_cognito_config(
                listener_rule::AuthenticateCognitoConfig::builder()
                    .user_pool_arn(user_pool_arn.as_str())
                    .user_pool_client_id(user_pool_client_id.as_str())
                    .user_pool_domain(user_pool_domain.as_str())
                    .build()
                    .scope(self.scope.as_str())
                    .session_timeout(i64::from(self.session_timeout_seconds))
                    .on_unauthenticated_request("authenticate"),
            ),
        };
        let forward = listener_rule::Action::builder()
            .type_("forward")
            .build()
            .order(2)
            .target_group_arn(target.target_group_arn());
        vec![auth, forward]
    }

    /// The listener's default actions (the web console): authenticate, then forward.
    pub fn listener_actions(&self, target: &TargetGroupHandle) -> Vec<listener::Action> {
        let auth = listener::Action::builder()
            .type_(self.action_type())
            .build()
            .order(1);
        let auth = match &self.provider {
            SsoProvider::Oidc {
                issuer,
                authorization_endpoint,
                token_endpoint,
                user_info_endpoint,
                client_id,
                ..
            } => auth.authenticate_oidc_config(
                listener::AuthenticateOidcConfig::builder()
                    .authorization_endpoint(authorization_endpoint.as_str())
                    .client_id(client_id.as_str())
                    .issuer(issuer.as_str())
                    .token_endpoint(token_endpoint.as_str())
                    .user_info_endpoint(user_info_endpoint.as_str())
                    .build()
                    .client_secret(self.client_secret())
                    .scope(self.scope.as_str())
                    .session_timeout(self.session_timeout_seconds.to_string())
                    .on_unauthenticated_request("authenticate"),
            ),
            SsoProvider::Cognito {
                user_pool_arn,
                user_pool_client_id,
                user_pool_domain,
            } => auth.authenticate_cognito_config(
                listener::AuthenticateCognitoConfig::builder()
                    .user_pool_arn(user_pool_arn.as_str())
                    .user_pool_client_id(user_pool_client_id.as_str())
                    .user_pool_domain(user_pool_domain.as_str())
                    .build()
                    .scope(self.scope.as_str())
                    .session_timeout(self.session_timeout_seconds.to_string())
                    .on_unauthenticated_request("authenticate"),
            ),
        };
        let forward = listener::Action::builder()
            .type_("forward")
            .build()
            .order(2)
            .target_group_arn(target.target_group_arn());
        vec![auth, forward]
    }

    fn action_type(&self) -> &'static str {
        match self.provider {
            SsoProvider::Oidc { .. } => "authenticate-oidc",
            SsoProvider::Cognito { .. } => "authenticate-cognito",
        }
    }

    /// The client secret as a dynamic reference, resolved by CloudFormation at deploy time.
    fn client_secret(&self) -> Value<String> {
        match &self.provider {
            SsoProvider::Oidc {
                client_secret_arn,
                client_secret_key,
                ..
            } => dynamic::secrets_manager(client_secret_arn.as_str(), client_secret_key.as_deref()),
            SsoProvider::Cognito { .. } => Value::from(""),
        }
    }
}

/// The routes with SSO on: machine routes forwarded without authentication at the priorities
/// the routes have without SSO (10, 20, 21), then the SSO paths (five per rule, the most a
/// rule takes) authenticated from [`SSO_FIRST_PRIORITY`] on. Returns the rules.
pub(crate) fn routes(
    s: &mut Scope<'_>,
    sso: &SsoSettings,
    listener: &ListenerHandle,
    api: &TargetGroupHandle,
    plugin_daemon: &TargetGroupHandle,
) -> Vec<ResourceRef> {
    let api_machine: Vec<&str> = MACHINE_PATHS
        .iter()
        .filter(|p| !p.starts_with("/e"))
        .copied()
        .collect();
    let plugin: Vec<&str> = MACHINE_PATHS
        .iter()
        .filter(|p| p.starts_with("/e"))
        .copied()
        .collect();
    let forward = |t: &TargetGroupHandle| {
        vec![
            listener_rule::Action::builder()
                .type_("forward")
                .build()
                .target_group_arn(t.target_group_arn()),
        ]
    };
    let mut rules = vec![
        rule(
            s,
            "PluginDaemonRoute",
            listener,
            10,
            &plugin,
            forward(plugin_daemon),
        ),
        rule(s, "ApiRoute", listener, 20, &api_machine[..5], forward(api)),
        rule(
            s,
            "ApiRoute2",
            listener,
            21,
            &api_machine[5..],
            forward(api),
        ),
    ];
    let paths: Vec<&str> = sso.paths.iter().map(String::as_str).collect();
    for (i, chunk) in paths.chunks(5).enumerate() {
        let n = i64::try_from(i).unwrap_or(0);
        rules.push(rule(
            s,
            &format!("SsoApiRoute{i}"),
            listener,
            SSO_FIRST_PRIORITY + n,
            chunk,
            sso.rule_actions(api),
        ));
    }
    rules
}

fn rule(
    s: &mut Scope<'_>,
    id: &str,
    listener: &ListenerHandle,
    priority: i64,
    paths: &[&str],
    actions: Vec<listener_rule::Action>,
) -> ResourceRef {
    let paths: Vec<Value<String>> = paths.iter().map(|p| Value::<String>::from(*p)).collect();
    s.add(
        id,
        elbv2::ListenerRule::builder()
            .actions(actions)
            .conditions(vec![
                listener_rule::RuleCondition::new()
                    .field("path-pattern")
                    .path_pattern_config(listener_rule::PathPatternConfig::new().values(paths)),
            ])
            .priority(priority)
            .build()
            .listener_arn(listener.listener_arn()),
    )
    .resource_ref()
    .clone()
}

/// An ALB path pattern (`*` any run of characters, `?` one) against a request path.
pub fn glob(pattern: &str, path: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), path.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_an_alb_path_pattern() {
        assert!(glob("/v1/*", "/v1/chat-messages"));
        assert!(!glob("/v1/*", "/v1"));
        assert!(glob("/*", "/e"));
        assert!(glob("/console/api/*", "/console/api/apps"));
        assert!(!glob("/api/*", "/console/api/apps"));
        assert!(glob("/m?p", "/mcp"));
    }

    #[test]
    fn default_sso_paths_spare_machine_routes_but_catch_alls_do_not() {
        for p in DEFAULT_SSO_PATHS.iter().filter(|p| p.starts_with("/api")) {
            assert_eq!(SsoSettings::machine_path_hit(p), None, "{p}");
        }
        assert_eq!(SsoSettings::machine_path_hit("/*"), Some("/v1"));
        assert_eq!(
            SsoSettings::machine_path_hit("/triggers/*"),
            Some("/triggers/webhook/abc")
        );
        assert_eq!(SsoSettings::machine_path_hit("/console/api/*"), None);
    }
}
