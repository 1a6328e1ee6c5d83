//! A queue and a table in a stack of their own, with only the `sqs` and `dynamodb` services
//! of cfn-resources compiled. Prints the services compiled in, then the template.

use cfn_core::{App, Output, Stack};
use cfn_resources::dynamodb::Table;
use cfn_resources::dynamodb::table::AttributeDefinition;
use cfn_resources::sqs::Queue;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut stack = Stack::new("Outside");
    let mut root = stack.root();
    let queue = root.add("Jobs", Queue::new().visibility_timeout(60));
    let table = root.add(
        "Results",
        Table::builder()
            .key_schema(serde_json::json!([{"AttributeName": "id", "KeyType": "HASH"}]))
            .build()
            .attribute_definitions(vec![
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type("S")
                    .build(),
            ])
            .billing_mode("PAY_PER_REQUEST"),
    );
    stack.add_output("QueueUrl", Output::new(queue.queue_url()));
    stack.add_output("TableName", Output::new(table.reference()));
    let mut app = App::new();
    app.add_stack(stack);
    let out = app.synth().map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        lines.join("\n")
    })?;
    println!("services: {}", cfn_resources::SERVICES.join(","));
    println!("{}", serde_json::to_string(&out[0].template)?);
    Ok(())
}
