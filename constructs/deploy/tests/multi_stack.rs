//! An environment of several stacks with references between them, against the simulator:
//! `deploy --all` in dependency order (independent stacks side by side), one stack by name,
//! a failure stopping what depends on it, and `destroy --all` consumers first.

mod support;

use cfn_core::{App, Output, Stack};
use cfn_deploy::cli::Exit;
use cfn_deploy::project::{Environment, Project, ProjectError, SynthErrors, SynthOutput};
use serde_json::json;
use support::sim::{REGION, Sim, event, stack_event};
use support::{Opts, run};

/// Net (a VPC) ← Data (a security group in it) and Site (an output naming the VPC).
struct ThreeStacks;

impl Project for ThreeStacks {
    fn name(&self) -> &str {
        "three"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn environments(&self) -> Result<Vec<Environment>, ProjectError> {
        Ok(vec![
            Environment::new("dev").stack_name("Site").region(REGION),
        ])
    }
    fn synth(&self, _env: &Environment) -> Result<SynthOutput, ProjectError> {
        let mut app = App::new();
        let mut net = Stack::new("Net");
        let vpc = net.root().add_raw(
            "Vpc",
            "AWS::EC2::VPC",
            None,
            json!({"CidrBlock": "10.0.0.0/16"}),
        );
        let mut data = Stack::new("Data");
        data.root().add_raw(
            "Sg",
            "AWS::EC2::SecurityGroup",
            None,
            json!({"GroupDescription": "db", "VpcId": vpc.reference::<String>().to_json()}),
        );
        let mut site = Stack::new("Site");
        site.root()
            .add_raw("Bucket", "AWS::S3::Bucket", None, json!({}));
        site.add_output("Vpc", Output::new(vpc.reference::<String>()));
        app.add_stack(site);
        app.add_stack(data);
        app.add_stack(net);
        Ok(app.synth().map_err(SynthErrors::from)?.into())
    }
}

fn opts(sim: &Sim) -> Opts {
    Opts::at(&sim.url()).region(REGION)
}

/// The stacks in the order their change sets were executed.
fn executed(sim: &Sim) -> Vec<String> {
    sim.requests("ExecuteChangeSet")
        .iter()
        .map(|r| r.params["StackName"].clone())
        .collect()
}

#[test]
fn deploy_without_a_stack_or_all_names_the_stacks_and_changes_nothing() {
    let sim = Sim::start();
    let r = run(&ThreeStacks, &["deploy", "dev", "--yes"], &opts(&sim));
    assert_eq!(r.exit, Exit::Usage, "{}", r.all());
    r.assert_printed("environment 'dev' has 3 stacks (Net, Site, Data): name one or pass --all");
    assert!(sim.actions().is_empty(), "{:?}", sim.actions());
}

#[test]
fn deploy_all_deploys_producers_first_and_independent_stacks_together() {
    let sim = Sim::start();
    let r = run(
        &ThreeStacks,
        &["deploy", "dev", "--all", "--yes"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Deploying 3 stacks of dev: Net → Site → Data (4 at a time)");
    let order = executed(&sim);
    assert_eq!(order.len(), 3, "{order:?}");
    assert_eq!(order[0], "Net", "the producer first: {order:?}");
    for s in ["Net", "Data", "Site"] {
        assert_eq!(sim.status(s).as_deref(), Some("CREATE_COMPLETE"), "{s}");
    }
    // Site and Data import from Net only: one wave, both started before either settles.
    let at = |needle: &str| r.out.find(needle).unwrap_or(usize::MAX);
    assert!(at("Deploying Data (dev)") < at("✓ Site:"), "{}", r.out);
    assert!(at("Deploying Site (dev)") < at("✓ Data:"), "{}", r.out);
    assert!(at("✓ Net:") < at("Deploying Site (dev)"), "{}", r.out);
    // One at a time with --concurrency 1.
    let sim = Sim::start();
    let one = run(
        &ThreeStacks,
        &["deploy", "dev", "--all", "--yes", "--concurrency", "1"],
        &opts(&sim),
    );
    assert_eq!(one.exit, Exit::Ok, "{}", one.all());
    let at1 = |needle: &str| one.out.find(needle).unwrap_or(usize::MAX);
    assert!(at1("✓ Site:") < at1("Deploying Data (dev)"), "{}", one.out);
    r.assert_printed("Summary:");
    r.assert_printed("  Net                      ✓ deployed (or up to date)");
    r.assert_printed("  Site                     ✓ deployed (or up to date)");
    let data_template = sim
        .requests("CreateChangeSet")
        .into_iter()
        .find(|q| q.params["StackName"] == "Data")
        .map(|q| q.params["TemplateBody"].clone())
        .unwrap_or_default();
    assert!(
        data_template.contains(r#""Fn::ImportValue": "Net:ExportsOutputRefVpc""#),
        "{data_template}"
    );
}

#[test]
fn a_failed_producer_stops_the_stacks_that_import_from_it() {
    let sim = Sim::start();
    sim.script(vec![
        vec![stack_event("CREATE_IN_PROGRESS").reason("User Initiated")],
        vec![event("Vpc", "AWS::EC2::VPC", "CREATE_FAILED").reason("quota exceeded")],
        vec![stack_event("ROLLBACK_COMPLETE")],
    ]);
    let r = run(
        &ThreeStacks,
        &["deploy", "dev", "--all", "--yes"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Failed, "{}", r.all());
    assert_eq!(executed(&sim), ["Net"]);
    r.assert_printed("  Data                     - not deployed: an earlier stack did not deploy");
    r.assert_printed("  Site                     - not deployed: an earlier stack did not deploy");
    r.assert_printed("deploy of Net failed");
}

#[test]
fn one_stack_by_name_deploys_only_that_stack() {
    let sim = Sim::start();
    let r = run(
        &ThreeStacks,
        &["deploy", "dev", "Net", "--yes"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    assert_eq!(executed(&sim), ["Net"]);
    let r = run(
        &ThreeStacks,
        &["deploy", "dev", "Nope", "--yes"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Usage);
    r.assert_printed("environment 'dev' has no stack 'Nope'; its stacks: Net, Site, Data");
}

#[test]
fn destroy_all_removes_consumers_before_producers() {
    let sim = Sim::start();
    let r = run(
        &ThreeStacks,
        &["deploy", "dev", "--all", "--yes"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let r = run(
        &ThreeStacks,
        &["destroy", "dev", "--all", "--force"],
        &opts(&sim),
    );
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    let deleted: Vec<String> = sim
        .requests("DeleteStack")
        .iter()
        .map(|q| q.params["StackName"].clone())
        .collect();
    let pos = |n: &str| deleted.iter().position(|d| d.contains(n));
    assert!(
        pos("Net") > pos("Data") && pos("Net") > pos("Site"),
        "{deleted:?}"
    );
    for s in ["Net", "Data", "Site"] {
        assert!(!sim.exists(s), "{s} is gone");
    }
}

#[test]
fn diff_covers_every_stack_and_synth_writes_each_template() {
    let sim = Sim::start();
    let r = run(&ThreeStacks, &["diff", "dev"], &opts(&sim));
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    for s in ["Net", "Data", "Site"] {
        r.assert_printed(&format!("{s} (dev) is not deployed"));
    }
    let dir = std::env::temp_dir().join(format!("multi-synth-{}", std::process::id()));
    let out = dir.to_string_lossy().into_owned();
    let r = run(&ThreeStacks, &["synth", "--out", &out], &Opts::offline());
    assert_eq!(r.exit, Exit::Ok, "{}", r.all());
    r.assert_printed("Wrote 3 templates");
    for s in ["Net", "Data", "Site"] {
        assert!(dir.join(format!("{s}.template.json")).exists(), "{s}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
