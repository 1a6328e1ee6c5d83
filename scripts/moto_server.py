"""moto_server with CloudFormation's exports registered by change sets.

moto 5.2.5 registers a stack's exports only in CreateStack; a stack created or updated by
ExecuteChangeSet (the only way our engine changes stacks, as the CDK's does) exports nothing,
so an Fn::ImportValue of it fails ("No export named X found") and DeleteStack of it answers
500 (KeyError popping an export it never registered). This launcher wraps
execute_change_set to do what CloudFormation does: imports resolve against the region's
exports, and after the change set the stack's outputs are those of its new template and its
exports replace the ones it had. Everything else is moto as installed.

    python scripts/moto_server.py -H 127.0.0.1 -p PORT
"""
import sys

from moto.cloudformation.models import CloudFormationBackend
from moto.server import main

_execute = CloudFormationBackend.execute_change_set


def _change_set(backend, name):
    return backend.change_sets.get(name) or next(
        (c for c in backend.change_sets.values() if c.change_set_name == name), None
    )


def _execute_and_export(self, change_set_name, stack_name=None):
    change_set = _change_set(self, change_set_name)
    stack = self.stacks.get(change_set.stack_id) if change_set else None
    if stack is not None:
        # A stack made by CreateChangeSet resolves Fn::ImportValue against a dict of its
        # own, always empty: resolve against the region's exports, as CreateStack's do.
        stack.cross_stack_resources = self.exports
        stack.resource_map.cross_stack_resources = self.exports
    _execute(self, change_set_name, stack_name)
    if stack is None:
        return
    # ExecuteChangeSet updates the resources only: build the outputs from the new template
    # and let its exports replace the stack's previous ones.
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
        self.exports.pop(name)
    for export in stack.exports:
        self.exports[export.name] = export


CloudFormationBackend.execute_change_set = _execute_and_export

if __name__ == "__main__":
    sys.exit(main())
