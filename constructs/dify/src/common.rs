//! Small building blocks the Dify constructs share: security groups and generated secrets.

use cfn_core::refs::{KmsKeyArn, VpcId};
use cfn_core::{Handle, ResourceRef, Scope, Value, dynamic, fns};
use cfn_resources::ec2::{self, SecurityGroupHandle};
use cfn_resources::logs::{self, LogGroupHandle};
use cfn_resources::secretsmanager::{self, SecretHandle};
use serde_json::json;

/// Inputs of [`closed_security_group`].
#[derive(Debug, Clone, Copy)]
pub struct SecurityGroupProps<'a> {
    /// The group's description (immutable: changing it replaces the group).
    pub description: &'a str,
    /// The VPC the group belongs to.
    pub vpc_id: &'a Value<VpcId>,
}

/// A security group with no egress at all until [`egress`] rules open exactly what its members
/// call. CloudFormation adds allow-all egress when none is given, so this names one rule that
/// matches nothing, as the AWS CDK does.
pub fn closed_security_group(
    scope: &mut Scope<'_>,
    id: &str,
    props: SecurityGroupProps<'_>,
) -> SecurityGroupHandle {
    let SecurityGroupProps {
        description,
        vpc_id,
    } = props;
    scope.add(
        id,
        ec2::SecurityGroup::builder()
            .group_description(description)
            .build()
            .vpc_id(vpc_id.clone())
            .security_group_egress(vec![
                ec2::security_group::Egress::builder()
                    .ip_protocol("icmp")
                    .build()
                    .cidr_ip("255.255.255.255/32")
                    .from_port(252)
                    .to_port(86)
                    .description("Disallow all traffic"),
            ]),
    )
}

/// A TCP path between the members of two security groups. Named fields, because `from` and
/// `to` have one type and a swap would open the wrong direction.
#[derive(Debug, Clone, Copy)]
pub struct Path<'a> {
    /// Whose members open the connections.
    pub from: &'a SecurityGroupHandle,
    /// Whose members accept them.
    pub to: &'a SecurityGroupHandle,
    /// The destination port.
    pub port: u16,
    /// The rules' description.
    pub description: &'a str,
}

/// Opens `path.port` on `path.to` to members of `path.from` (the ingress half of a path), as a
/// separate ingress resource so two groups can reference each other without a dependency
/// cycle. Returns the rule, for whatever must not start before the path is open.
pub fn allow(scope: &mut Scope<'_>, id: &str, path: Path<'_>) -> ResourceRef {
    let rule = scope.add(
        id,
        ec2::SecurityGroupIngress::builder()
            .ip_protocol("tcp")
            .build()
            .group_id(path.to.group_id())
            .source_security_group_id(path.from.group_id())
            .from_port(i64::from(path.port))
            .to_port(i64::from(path.port))
            .description(path.description),
    );
    rule.resource_ref().clone()
}

/// Opens `path` both ways round: the ingress rule on `path.to` (named `id`) and the egress
/// rule on `path.from` (named `<id>Egress`), since every group is created closed both ways.
/// Returns both rules, for whatever must wait for the path.
pub fn link(scope: &mut Scope<'_>, id: &str, path: Path<'_>) -> Vec<ResourceRef> {
    vec![
        allow(scope, id, path),
        egress(
            scope,
            &format!("{id}Egress"),
            Egress {
                group: path.from,
                to: Destination::Group(path.to),
                port: path.port,
                description: path.description,
            },
        ),
    ]
}

/// The port a service's members listen on.
#[derive(Debug, Clone, Copy)]
pub struct ServicePort<'a> {
    /// The service's security group.
    pub group: &'a SecurityGroupHandle,
    /// The port.
    pub port: u16,
}

/// Where an egress rule may go.
#[derive(Debug, Clone)]
pub enum Destination<'a> {
    /// Members of a security group.
    Group(&'a SecurityGroupHandle),
    /// An IPv4 range (`0.0.0.0/0` for the internet through the NAT).
    Cidr(&'a str),
    /// Members of a security group the stack does not own, by ID (a VPC's own endpoints).
    GroupId(&'a str),
    /// A managed prefix list (`pl-…`: S3 through its gateway endpoint).
    PrefixList(&'a str),
}

/// Inputs of [`egress`].
#[derive(Debug, Clone)]
pub struct Egress<'a> {
    /// Whose members open the connections.
    pub group: &'a SecurityGroupHandle,
    /// Where they go.
    pub to: Destination<'a>,
    /// The destination port.
    pub port: u16,
    /// The rule's description.
    pub description: &'a str,
}

/// Lets members of `group` open TCP connections to `to` on `port` (a separate egress
/// resource; the group itself is created closed, see [`closed_security_group`]).
pub fn egress(scope: &mut Scope<'_>, id: &str, props: Egress<'_>) -> ResourceRef {
    let Egress {
        group,
        to,
        port,
        description,
    } = props;
    let mut rule = ec2::SecurityGroupEgress::builder()
        .group_id(group.group_id())
        .ip_protocol("tcp")
        .build()
        .from_port(i64::from(port))
        .to_port(i64::from(port))
        .description(description);
    rule = match to {
        Destination::Group(g) => rule.destination_security_group_id(g.group_id()),
        Destination::Cidr(c) => rule.cidr_ip(c),
        Destination::GroupId(id) => rule.destination_security_group_id(id),
        Destination::PrefixList(pl) => rule.destination_prefix_list_id(pl),
    };
    scope.add(id, rule).resource_ref().clone()
}

/// Inputs of [`log_group`].
#[derive(Debug, Clone, Copy)]
pub struct LogGroupProps<'a> {
    /// A fixed name; `None`: a name CloudFormation generates.
    pub name: Option<&'a str>,
    /// Days the logs are kept (one of CloudWatch Logs' allowed values).
    pub retention_days: u32,
    /// The customer key the logs are encrypted with; `None`: CloudWatch Logs' own encryption.
    pub kms_key: Option<&'a Value<KmsKeyArn>>,
}

/// A log group with a retention, the customer key when there is one, and a fixed name when
/// given one (operators type it: `aws logs tail /dify/prd/api`).
pub fn log_group(scope: &mut Scope<'_>, id: &str, props: LogGroupProps<'_>) -> LogGroupHandle {
    let LogGroupProps {
        name,
        retention_days,
        kms_key,
    } = props;
    let mut group = logs::LogGroup::new().retention_in_days(i64::from(retention_days));
    if let Some(n) = name {
        group = group.log_group_name(n);
    }
    if let Some(k) = kms_key {
        group = group.kms_key_id(k.clone());
    }
    scope.add(id, group)
}

/// A secret whose value CloudFormation generates in Secrets Manager: it never appears in the
/// template, a parameter or a task's environment. Tasks get it through ECS `secrets`;
/// resources through a dynamic reference resolved at deploy time.
#[derive(Debug, Clone)]
pub struct GeneratedSecret {
    /// The secret.
    pub handle: SecretHandle,
    /// The JSON key holding the generated value, for secrets with a JSON template.
    pub key: Option<&'static str>,
}

/// Inputs of [`GeneratedSecret::random`].
#[derive(Debug, Clone, Copy)]
pub struct RandomProps<'a> {
    /// The secret's description.
    pub description: &'a str,
    /// Characters in the generated value.
    pub length: i64,
    /// The customer key the secret is encrypted with; `None`: the AWS managed key.
    pub kms_key: Option<&'a Value<KmsKeyArn>>,
}

/// Inputs of [`GeneratedSecret::credentials`].
#[derive(Debug, Clone, Copy)]
pub struct CredentialsProps<'a> {
    /// The secret's description.
    pub description: &'a str,
    /// The user name stored beside the generated password.
    pub username: &'a str,
    /// A rotation stamp: changing it changes the secret's template, so CloudFormation
    /// generates a new password. 0 (the usual value) leaves no stamp in the template.
    pub generation: u32,
    /// The customer key the secret is encrypted with; `None`: the AWS managed key.
    pub kms_key: Option<&'a Value<KmsKeyArn>>,
}

impl GeneratedSecret {
    /// A random alphanumeric value of `length` characters (alphanumeric so it embeds safely in
    /// URLs such as the Celery broker's).
    pub fn random(scope: &mut Scope<'_>, id: &str, props: RandomProps<'_>) -> GeneratedSecret {
        let RandomProps {
            description,
            length,
            kms_key,
        } = props;
        let generator = secretsmanager::secret::GenerateSecretString::new()
            .password_length(length)
            .exclude_punctuation(true)
            .include_space(false);
        Self::add(scope, id, description, generator, kms_key, None)
    }

    /// A `{"username": …, "password": …}` credential with a generated password.
    pub fn credentials(
        scope: &mut Scope<'_>,
        id: &str,
        props: CredentialsProps<'_>,
    ) -> GeneratedSecret {
        let CredentialsProps {
            description,
            username,
            generation,
            kms_key,
        } = props;
        let template = if generation == 0 {
            json!({ "username": username })
        } else {
            json!({ "username": username, "generation": generation })
        };
        let generator = secretsmanager::secret::GenerateSecretString::new()
            .secret_string_template(template.to_string())
            .generate_string_key("password")
            .password_length(32)
            .exclude_punctuation(true)
            .include_space(false);
        Self::add(scope, id, description, generator, kms_key, Some("password"))
    }

    fn add(
        scope: &mut Scope<'_>,
        id: &str,
        description: &str,
        generator: secretsmanager::secret::GenerateSecretString,
        kms_key: Option<&Value<KmsKeyArn>>,
        key: Option<&'static str>,
    ) -> GeneratedSecret {
        let mut secret = secretsmanager::Secret::new()
            .description(description)
            .generate_secret_string(generator);
        if let Some(k) = kms_key {
            secret = secret.kms_key_id(k.clone());
        }
        GeneratedSecret {
            handle: scope.add(id, secret),
            key,
        }
    }

    /// The secret's ARN.
    pub fn arn(&self) -> Value<String> {
        self.handle.reference()
    }

    /// The ECS `valueFrom` for the generated value (`<arn>:<key>::` for JSON secrets).
    pub fn value_from(&self) -> Value<String> {
        self.value_from_key(self.key)
    }

    /// The ECS `valueFrom` for one JSON key of the secret, or the whole string.
    pub fn value_from_key(&self, key: Option<&str>) -> Value<String> {
        match key {
            Some(k) => fns::join("", [self.arn(), format!(":{k}::").into()]),
            None => self.arn(),
        }
    }

    /// A dynamic reference to the generated value, for resource properties.
    pub fn resolve(&self) -> Value<String> {
        dynamic::secrets_manager(self.arn(), self.key)
    }

    /// A dynamic reference to one JSON key.
    pub fn resolve_key(&self, key: &str) -> Value<String> {
        dynamic::secrets_manager(self.arn(), Some(key))
    }
}
