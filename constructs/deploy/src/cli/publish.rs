//! The deploy step that uploads a stack's file assets before its template is staged.

use super::{CliError, Run};
use crate::assets;
use crate::aws::Aws;
use crate::engine::Identity;
use crate::project::Project;

/// Uploads the stack's file assets to the staging bucket ([`assets::publish`]) and prints one
/// line: `Assets: 1 uploaded (12 KB), 0 already there`. A stack without assets makes no call
/// and prints nothing.
pub(super) async fn publish_assets<P: Project + ?Sized>(
    run: &Run<'_, P>,
    aws: &Aws,
    id: &Identity,
    synth: &cfn_core::Synthesized,
) -> Result<(), CliError> {
    if synth.assets.is_empty() {
        return Ok(());
    }
    let published = run
        .interruptible(async {
            assets::publish(aws, &id.account, &id.region, &synth.assets)
                .await
                .map_err(|e| CliError::deploy("publishing the file assets", e))
        })
        .await?;
    run.console().out(assets::summary(&published));
    Ok(())
}
