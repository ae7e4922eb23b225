"""Runs Debian's bandit 1.6.2 with string checks working on Python >= 3.8.

bandit 1.6.2 dispatches its string plugins (B608 SQL, B105-B107 passwords, B104, B108) on the
AST class name ``Str``. Since Python 3.8 ``ast.parse`` yields ``ast.Constant`` instead, so those
plugins never run. Later bandit releases add a ``visit_Constant`` that routes str/bytes constants
to the old handlers; this launcher adds the same method at run time. No installed file changes.
"""
import sys

from bandit.core import node_visitor


def _visit_constant(self, node):
    value = getattr(node, "value", None)
    if isinstance(value, str):
        self.visit_Str(node)
    elif isinstance(value, bytes):
        self.visit_Bytes(node)
    else:
        self.update_scores(self.tester.run_tests(self.context, "Constant"))


if not hasattr(node_visitor.BanditNodeVisitor, "visit_Constant"):
    node_visitor.BanditNodeVisitor.visit_Constant = _visit_constant

from bandit.cli.main import main  # noqa: E402  (must follow the patch)

if __name__ == "__main__":
    sys.argv[0] = "bandit"
    sys.exit(main())
