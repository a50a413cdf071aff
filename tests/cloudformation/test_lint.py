"""cfn-lint, AWS's own linter, has nothing to say about any template (errors or warnings)."""

from cfnlint.api import lint_file

from tests.cloudformation.conftest import CFN


def test_cfn_lint_reports_nothing():
    findings = [
        f"{path.relative_to(CFN)}:{m.linenumber} {m.rule.id} {m.message}"
        for path in sorted(CFN.rglob("*.yaml"))
        for m in lint_file(path)
    ]
    assert findings == []
