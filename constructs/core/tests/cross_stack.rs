//! References between the stacks of an app become exports and imports, and order the stacks.

use cfn_core::{App, Output, Stack, fns};
use serde_json::json;

/// Network exports a VPC; Data uses its Ref and an attribute; App uses Data's bucket in a Sub.
fn three_stacks() -> App {
    let mut app = App::new();
    let mut net = Stack::new("Net");
    let vpc = net.root().add_raw(
        "Vpc",
        "AWS::EC2::VPC",
        None,
        json!({"CidrBlock": "10.0.0.0/16"}),
    );
    let mut data = Stack::new("Data");
    let bucket = data.root().add_raw(
        "Bucket",
        "AWS::S3::Bucket",
        None,
        json!({"Tags": [{"Key": "vpc", "Value": vpc.reference::<String>().to_json()}]}),
    );
    data.root().add_raw(
        "Sg",
        "AWS::EC2::SecurityGroup",
        None,
        json!({
            "GroupDescription": "db",
            "VpcId": vpc.reference::<String>().to_json(),
            "Tags": [{"Key": "cidr", "Value": vpc.get_att::<String>("CidrBlock").to_json()}],
        }),
    );
    let mut site = Stack::new("Site");
    site.add_output(
        "Url",
        Output::new(fns::sub(format!(
            "https://${{{}.DomainName}}/${{AWS::Region}}",
            bucket.logical_id()
        ))),
    );
    // Added consumer first: synth still returns producers first.
    app.add_stack(site);
    app.add_stack(data);
    app.add_stack(net);
    app
}

#[test]
fn a_reference_to_another_stack_becomes_an_export_and_an_import() {
    let out = three_stacks().synth().expect("valid");
    let names: Vec<&str> = out.iter().map(|s| s.stack_name.as_str()).collect();
    assert_eq!(names, ["Net", "Data", "Site"], "producers before consumers");
    let (net, data, site) = (&out[0], &out[1], &out[2]);
    assert_eq!(
        net.template["Outputs"]["ExportsOutputRefVpc"],
        json!({"Value": {"Ref": "Vpc"}, "Export": {"Name": "Net:ExportsOutputRefVpc"}})
    );
    assert_eq!(
        net.template["Outputs"]["ExportsOutputFnGetAttVpcCidrBlock"]["Export"]["Name"],
        "Net:ExportsOutputFnGetAttVpcCidrBlock"
    );
    let sg = &data.template["Resources"]["Sg"]["Properties"];
    assert_eq!(
        sg["VpcId"],
        json!({"Fn::ImportValue": "Net:ExportsOutputRefVpc"})
    );
    assert_eq!(
        sg["Tags"][0]["Value"],
        json!({"Fn::ImportValue": "Net:ExportsOutputFnGetAttVpcCidrBlock"})
    );
    assert_eq!(data.dependencies, ["Net"]);
    assert_eq!(
        site.template["Outputs"]["Url"]["Value"],
        json!({"Fn::Sub": ["https://${Bucket.DomainName}/${AWS::Region}", {
            "Bucket.DomainName": {"Fn::ImportValue": "Data:ExportsOutputFnGetAttBucketDomainName"}
        }]})
    );
    assert_eq!(site.dependencies, ["Data"]);
    assert!(net.dependencies.is_empty());
    assert!(!net.body.contains("ImportValue"));
}

#[test]
fn synthesis_is_byte_identical_run_to_run() {
    let a = three_stacks().synth().expect("valid");
    let b = three_stacks().synth().expect("valid");
    let bodies = |v: &[cfn_core::Synthesized]| v.iter().map(|s| s.body.clone()).collect::<Vec<_>>();
    assert_eq!(bodies(&a), bodies(&b));
}

#[test]
fn stacks_that_import_from_each_other_are_an_error() {
    let mut app = App::new();
    let mut a = Stack::new("A");
    let qa = a
        .root()
        .add_raw("QueueA", "AWS::SQS::Queue", None, json!({}));
    let mut b = Stack::new("B");
    let qb = b.root().add_raw(
        "QueueB",
        "AWS::SQS::Queue",
        None,
        json!({"RedrivePolicy": {"deadLetterTargetArn": qa.get_att::<String>("Arn").to_json(), "maxReceiveCount": 3}}),
    );
    a.add_output("Other", Output::new(qb.reference::<String>()));
    app.add_stack(a);
    app.add_stack(b);
    let errs = app.synth().expect_err("cycle");
    let text: String = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        text.contains("imports, through other stacks, from itself"),
        "{text}"
    );
}

#[test]
fn an_id_defined_in_two_other_stacks_is_ambiguous() {
    let mut app = App::new();
    let mut a = Stack::new("A");
    let q = a
        .root()
        .add_raw("Queue", "AWS::SQS::Queue", None, json!({}));
    let mut b = Stack::new("B");
    b.root()
        .add_raw("Queue", "AWS::SQS::Queue", None, json!({}));
    let mut c = Stack::new("C");
    c.add_output("Q", Output::new(q.reference::<String>()));
    app.add_stack(a);
    app.add_stack(b);
    app.add_stack(c);
    let errs = app.synth().expect_err("ambiguous");
    let text: String = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        text.contains("defined in several other stacks (A, B)"),
        "{text}"
    );
}

#[test]
fn a_local_resource_of_the_same_id_wins_and_a_foreign_depends_on_becomes_stack_order() {
    let mut app = App::new();
    let mut a = Stack::new("A");
    a.root()
        .add_raw("Queue", "AWS::SQS::Queue", None, json!({}));
    let table = a
        .root()
        .add_raw("Table", "AWS::SQS::Queue", None, json!({}));
    let mut b = Stack::new("B");
    let own = b
        .root()
        .add_raw("Queue", "AWS::SQS::Queue", None, json!({}));
    let topic = b
        .root()
        .add_raw("Topic", "AWS::SNS::Topic", None, json!({}));
    b.resource(&topic).depends_on(&table);
    b.add_output("Q", Output::new(own.reference::<String>()));
    app.add_stack(a);
    app.add_stack(b);
    let out = app.synth().expect("valid");
    let b = &out[1];
    assert_eq!(b.template["Outputs"]["Q"]["Value"], json!({"Ref": "Queue"}));
    assert!(b.template["Resources"]["Topic"].get("DependsOn").is_none());
    assert_eq!(
        b.dependencies,
        ["A"],
        "the dependency moved to the stack order"
    );
    assert!(
        !b.body.contains("ImportValue"),
        "a DependsOn imports nothing"
    );
}
